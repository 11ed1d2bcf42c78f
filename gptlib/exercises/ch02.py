"""Checks for chapter 2 (language models): a unigram perplexity with add-one smoothing, and
the chain rule for a bigram model."""
from __future__ import annotations

import math
import numbers

import torch

from . import ExerciseError, compare, register


def _skewed_ids(gen: torch.Generator, V: int, n: int, absent: int) -> torch.Tensor:
    """n ids in 0..V-1 with unequal frequencies, never the id ``absent``."""
    weights = torch.rand(V, generator=gen) ** 3 + 0.01
    weights[absent] = 0
    return torch.multinomial(weights, n, replacement=True, generator=gen)


def _unigram_nll(counts: torch.Tensor, eval_ids: torch.Tensor, V: int, k: float = 1.0,
                 extra: float | None = None) -> torch.Tensor:
    denom = counts.sum() + (k * V if extra is None else extra)
    return -((counts[eval_ids] + k) / denom).log()


@register("ch02-ex1")
def _unigram_perplexity(fn):
    """``unigram_perplexity(train_ids, eval_ids, V)``: exp of the mean -log P(c),
    P(c) = (count(c) + 1) / (N + V), counts from the training ids."""
    gen = torch.Generator().manual_seed(2)
    for V, n_train, n_eval in ((12, 300, 80), (30, 1000, 200)):
        absent = V - 2
        train = _skewed_ids(gen, V, n_train, absent)
        evaluate = _skewed_ids(gen, V, n_eval, V - 1)
        evaluate[0] = absent                           # one id never seen in training
        counts = torch.bincount(train, minlength=V).double()
        nll = _unigram_nll(counts, evaluate, V)
        expected = torch.tensor(math.exp(nll.mean().item()), dtype=torch.float64)
        got = fn(train.clone(), evaluate.clone(), V)
        if got is None:
            raise ExerciseError("your function returned None: return the perplexity (a float)")
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if not isinstance(got, numbers.Real):
            raise ExerciseError(f"return one number, the perplexity, not a {type(got).__name__}")
        if not math.isfinite(got):
            raise ExerciseError("your perplexity is infinite or NaN: a character that never "
                                "occurs in the training ids got probability 0. Add one to "
                                "every count (add-one smoothing) and V to the total")
        eval_counts = torch.bincount(evaluate, minlength=V).double()
        mistakes = {
            "you returned the mean negative log-likelihood; the perplexity is its exponential":
                nll.mean(),
            "you raised 2 to a mean measured in nats: with the natural log, perplexity is "
            "exp(mean NLL)": torch.tensor(2.0, dtype=torch.float64) ** nll.mean(),
            "you took the exponential of the summed NLL; perplexity uses the mean over the "
            "evaluation characters": nll.sum().exp(),
            "you returned V, the perplexity of the uniform model":
                torch.tensor(float(V), dtype=torch.float64),
            "your probabilities do not sum to one: with one added to each of the V counts, "
            "the denominator is N + V": _unigram_nll(counts, evaluate, V, extra=0).mean().exp(),
            "you counted the characters of the evaluation ids; estimate P(c) from the "
            "training ids only": _unigram_nll(eval_counts, evaluate, V).mean().exp(),
        }
        compare(torch.tensor(float(got), dtype=torch.float64), expected,
                f"the perplexity (V={V})", atol=1e-9, rtol=1e-6, mistakes=mistakes)
    return "correct: exp of the mean -log (count + 1) / (N + V)"


def _chain(P: torch.Tensor, start: torch.Tensor, n: int) -> torch.Tensor:
    """out[x1..xn] = start[x1] P[x1, x2] ... P[x_{n-1}, x_n]."""
    out = start
    for _ in range(n - 1):
        out = out.unsqueeze(-1) * P
    return out


def _outer(p: torch.Tensor, n: int) -> torch.Tensor:
    out = p
    for _ in range(n - 1):
        out = out.unsqueeze(-1) * p
    return out


@register("ch02-ex2")
def _continuation_probs(fn):
    """``continuation_probs(P, first, n)``: the (V,)*n tensor of P(x1..xn | first) for a
    bigram model with P[a, b] = P(b | a)."""
    gen = torch.Generator().manual_seed(22)
    for V, n in ((5, 1), (4, 2), (5, 3), (3, 4)):
        P = (torch.randn(V, V, generator=gen, dtype=torch.float64) * 1.5).softmax(-1)
        first = int(torch.randint(0, V, (1,), generator=gen))
        expected = _chain(P, P[first], n)
        got = fn(P.clone(), first, n)
        uniform = torch.full((V,), 1.0 / V, dtype=torch.float64)
        mistakes = {
            "you read P[b, a] (a column): row a of P is the distribution of the character "
            "that follows a, P[a, b] = P(b | a)": _chain(P.T, P[:, first], n),
            "every factor conditions on `first`; by the chain rule (and the bigram "
            "assumption) each character conditions on the one just before it, "
            "P(x_t | x_{t-1})": _outer(P[first], n),
            "you left out P(x1 | first): the first character of the continuation follows "
            "`first`": _chain(P, uniform, n),
        }
        compare(got, expected, f"the continuation probabilities (V={V}, n={n})",
                atol=1e-12, rtol=1e-9, mistakes=mistakes)
    return "correct: P(x1 | first) P(x2 | x1) ... for every continuation at once"
