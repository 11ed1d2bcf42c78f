"""Chapter 2's exercise checks accept the reference solutions and name the typical mistakes."""
import math

import pytest
import torch

from gptlib import exercises
from gptlib.exercises import ExerciseError


# ------------------------------------------------------------ ex1: unigram perplexity
def unigram_perplexity(train_ids, eval_ids, V):
    counts = torch.bincount(train_ids, minlength=V).double()
    p = (counts + 1) / (counts.sum() + V)
    return math.exp(-p[eval_ids].log().mean().item())


def unigram_perplexity_loop(train_ids, eval_ids, V):      # a second correct solution
    counts = [0] * V
    for t in train_ids.tolist():
        counts[t] += 1
    N = len(train_ids)
    nll = [-math.log((counts[t] + 1) / (N + V)) for t in eval_ids.tolist()]
    return torch.tensor(sum(nll) / len(nll)).exp()


def _probs(train_ids, V, k=1.0, extra=None):
    counts = torch.bincount(train_ids, minlength=V).double()
    return (counts + k) / (counts.sum() + (k * V if extra is None else extra))


@pytest.mark.parametrize("fn", [unigram_perplexity, unigram_perplexity_loop])
def test_ex1_accepts_solutions(fn):
    assert "correct" in exercises.check("ch02-ex1", fn)


@pytest.mark.parametrize("fn, words", [
    (lambda tr, ev, V: -_probs(tr, V)[ev].log().mean().item(), "exponential"),
    (lambda tr, ev, V: 2 ** -_probs(tr, V)[ev].log().mean().item(), "raised 2"),
    (lambda tr, ev, V: (-_probs(tr, V)[ev].log().sum()).exp().item(), "summed NLL"),
    (lambda tr, ev, V: (-_probs(tr, V, k=0.0)[ev].log().mean()).exp().item(), "infinite"),
    (lambda tr, ev, V: (-_probs(tr, V, extra=0)[ev].log().mean()).exp().item(), "N \\+ V"),
    (lambda tr, ev, V: (-_probs(ev, V)[ev].log().mean()).exp().item(), "training ids only"),
    (lambda tr, ev, V: float(V), "uniform"),
    (lambda tr, ev, V: None, "returned None"),
])
def test_ex1_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch02-ex1", fn)


# ------------------------------------------------------- ex2: continuation probabilities
def continuation_probs(P, first, n):
    out = P[first]
    for _ in range(n - 1):
        out = out[..., None] * P
    return out


def continuation_probs_einsum(P, first, n):                 # a second correct solution
    letters = "bcdefgh"[:n]
    terms = [f"{letters[i]}{letters[i + 1]}" for i in range(n - 1)]
    return torch.einsum(",".join([letters[0]] + terms) + "->" + letters, P[first], *[P] * (n - 1))


def continuation_from_first_only(P, first, n):
    out = P[first]
    for _ in range(n - 1):
        out = out[..., None] * P[first]
    return out


@pytest.mark.parametrize("fn", [continuation_probs, continuation_probs_einsum])
def test_ex2_accepts_solutions(fn):
    assert "correct" in exercises.check("ch02-ex2", fn)


@pytest.mark.parametrize("fn, words", [
    (lambda P, a, n: continuation_probs(P.T.contiguous(), a, n), "P\\[b, a\\]"),
    (continuation_from_first_only, "conditions on `first`"),
    (lambda P, a, n: continuation_probs(P, a, n).flatten(), "shape"),
])
def test_ex2_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch02-ex2", fn)


def test_attempt_never_raises(capsys):
    def todo(*args):
        raise NotImplementedError
    assert exercises.attempt("ch02-ex1", todo) is False
    assert exercises.attempt("ch02-ex2", todo) is False
    assert "your turn" in capsys.readouterr().out
