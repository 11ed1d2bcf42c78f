"""Chapter 1's exercise check accepts the exact parameter count and names the typical mistakes."""
import pytest
import torch

from gptlib import exercises
from gptlib.exercises import ExerciseError
from gptlib.model import GPT, GPTConfig


def gpt_params(V, T, L, d):
    embeddings = V * d + T * d                      # tokens and positions; the head is tied
    attention = d * 3 * d + 3 * d + d * d + d       # c_attn and c_proj, with biases
    mlp = d * 4 * d + 4 * d + 4 * d * d + d
    norms = 2 * (2 * d)                             # two LayerNorms, gain and bias
    return embeddings + L * (attention + mlp + norms) + 2 * d


def gpt_params_by_building(V, T, L, d):             # a second correct answer: build it
    if V * d > 2_000_000:
        return gpt_params(V, T, L, d)
    cfg = GPTConfig(vocab_size=V, block_size=T, n_layer=L, n_head=1, n_embd=d, bias=True)
    return GPT(cfg).num_params()


def test_check_is_registered():
    assert "ch01-ex2" in exercises.known_checks()


@pytest.mark.parametrize("fn", [gpt_params, gpt_params_by_building,
                                lambda *a: torch.tensor(gpt_params(*a))])
def test_accepts_solutions(fn):
    assert "correct" in exercises.check("ch01-ex2", fn)


@pytest.mark.parametrize("fn, words", [
    (lambda V, T, L, d: 12 * L * d * d + (V + T) * d, "approximation 12Ld"),
    (lambda V, T, L, d: gpt_params(V, T, L, d) + V * d, "tied"),
    (lambda V, T, L, d: gpt_params(V, T, L, d) - T * d, "position embedding"),
    (lambda V, T, L, d: gpt_params(V, T, L, d) - (2 * L + 1) * d, "gain but no bias"),
    (lambda V, T, L, d: gpt_params(V, T, L, d) - L * (d * d + d), "output projection"),
    (lambda V, T, L, d: gpt_params(V, T, L, d) - L * 9 * d, "biases of the Linear"),
    (lambda V, T, L, d: gpt_params(V, T, L, d) + 1, "differs from the reference"),
    (lambda V, T, L, d: None, "returned None"),
    (lambda V, T, L, d: {"total": 1}, "one number"),
])
def test_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch01-ex2", fn)


def test_attempt_never_raises(capsys):
    def todo(V, T, L, d):
        raise NotImplementedError
    assert exercises.attempt("ch01-ex2", todo) is False
    assert "your turn" in capsys.readouterr().out
