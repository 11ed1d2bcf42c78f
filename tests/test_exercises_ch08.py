"""Chapter 8's exercise checks accept the reference solutions and name the typical mistakes."""
import math

import pytest
import torch
import torch.nn.functional as F

from gptlib import exercises
from gptlib import reference
from gptlib.exercises import ExerciseError


# ------------------------------------------------------------------ ex1: perplexity
def ppl_ok(logits, targets):
    log_p = logits.log_softmax(-1).gather(-1, targets[..., None]).squeeze(-1)
    return math.exp(-log_p.mean().item())


def ppl_reference(logits, targets):
    return reference.perplexity(reference.next_token_loss(logits, targets))


def ppl_mean_of_exps(logits, targets):
    nll = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none")
    return nll.exp().mean()


def ppl_base2(logits, targets):
    return 2 ** F.cross_entropy(logits.flatten(0, 1), targets.flatten())


def ppl_raw_logits(logits, targets):
    return (-logits.gather(-1, targets[..., None]).mean()).exp()


@pytest.mark.parametrize("fn", [ppl_ok, ppl_reference])
def test_ex1_accepts_solutions(fn):
    assert "correct" in exercises.check("ch08-ex1", fn)


@pytest.mark.parametrize("fn, words", [
    (ppl_mean_of_exps, "per-token perplexities"),
    (ppl_base2, "base 2"),
    (ppl_raw_logits, "log-softmax"),
    (lambda logits, targets: None, "returned None"),
    (lambda logits, targets: torch.ones(3), "one number"),
])
def test_ex1_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch08-ex1", fn)


# ------------------------------------------------------------ ex3: the Chinchilla split
def split_ok(C, tokens_per_param=20):
    N = math.sqrt(C / (6 * tokens_per_param))
    return N, tokens_per_param * N


@pytest.mark.parametrize("fn, words", [
    (lambda C: (math.sqrt(C / 20), 20 * math.sqrt(C / 20)), "dropped the 6"),
    (lambda C: (split_ok(C)[0], split_ok(C)[0] / 20), "D = 20 N"),
    (lambda C: split_ok(C)[::-1], "swapped"),
    (lambda C: split_ok(C)[0], "pair"),
])
def test_ex3_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch08-ex3", fn)


def test_ex3_accepts_the_solution():
    assert "correct" in exercises.check("ch08-ex3", split_ok)
