"""Chapter 7's exercise checks accept the reference solutions and name the typical mistakes."""
import pytest

from gptlib import exercises
from gptlib.exercises import ExerciseError
from gptlib.model import GPTConfig, count_params


# ------------------------------------------------------------ ex1: GPT-2's parameter count
def params_ok(n_layer, n_embd, vocab_size, block_size):
    L, C = n_layer, n_embd
    return L * (12 * C**2 + 13 * C) + vocab_size * C + block_size * C + 2 * C


def params_count_params(n_layer, n_embd, vocab_size, block_size):
    cfg = GPTConfig(vocab_size=vocab_size, block_size=block_size, n_layer=n_layer, n_head=4,
                    n_embd=n_embd, bias=True)
    return count_params(cfg)["total"]


def params_no_positions(n_layer, n_embd, vocab_size, block_size):
    return params_ok(n_layer, n_embd, vocab_size, block_size) - block_size * n_embd


def params_untied(n_layer, n_embd, vocab_size, block_size):
    return params_ok(n_layer, n_embd, vocab_size, block_size) + vocab_size * n_embd


def params_matrices_only(n_layer, n_embd, vocab_size, block_size):
    C = n_embd
    return n_layer * 12 * C**2 + vocab_size * C + block_size * C + 2 * C


@pytest.mark.parametrize("fn", [params_ok, params_count_params])
def test_ex1_accepts_solutions(fn):
    assert "correct" in exercises.check("ch07-ex1", fn)


@pytest.mark.parametrize("fn, words", [
    (params_no_positions, "position embedding"),
    (params_untied, "ties it to the token embedding"),
    (params_matrices_only, "only the weight matrices"),
    (lambda *a: params_ok(*a) - 2 * a[1], "final LayerNorm"),
    (lambda *a: None, "return"),
    (lambda *a: "many", "one number"),
])
def test_ex1_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch07-ex1", fn)


# ----------------------------------------------------------- ex3: attention's FLOPs share
def share_ok(n_layer, n_embd, context, n_params):
    attn = 4 * n_layer * context * n_embd
    return attn / (2 * n_params + attn)


@pytest.mark.parametrize("fn, words", [
    (lambda L, C, T, N: 4 * L * T * C / (2 * N), "2N alone"),
    (lambda L, C, T, N: 2 * L * T * C / (2 * N + 2 * L * T * C), "two products"),
    (lambda L, C, T, N: 1 - share_ok(L, C, T, N), "weights' share"),
])
def test_ex3_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch07-ex3", fn)


def test_ex3_accepts_the_solution():
    assert "correct" in exercises.check("ch07-ex3", share_ok)
