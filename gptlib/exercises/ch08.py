"""Checks for chapter 8 (pretraining): perplexity from logits, and the Chinchilla split of a
compute budget."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import ExerciseError, compare, register


@register("ch08-ex1")
def _(fn):
    gen = torch.Generator().manual_seed(8)
    for B, T, V, scale in ((2, 6, 65, 2.0), (3, 4, 11, 4.0), (1, 9, 200, 1.0)):
        logits = torch.randn(B, T, V, generator=gen, dtype=torch.float64) * scale
        targets = torch.randint(0, V, (B, T), generator=gen)
        nll = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), reduction="none")
        expected = nll.mean().exp()
        got = fn(logits.clone(), targets.clone())
        if got is None:
            raise ExerciseError("your function returned None: return the perplexity, one number")
        try:
            got = torch.tensor(float(got), dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError):
            raise ExerciseError("return one number, the perplexity of the whole batch") from None
        p_target = logits.softmax(-1).gather(-1, targets[..., None]).squeeze(-1)
        picked = logits.gather(-1, targets[..., None]).squeeze(-1)
        wrong_dim = -(logits.log_softmax(1).gather(-1, targets[..., None])).mean().exp()
        compare(got, expected, f"the perplexity of a ({B}, {T}, {V}) batch", atol=1e-8, rtol=1e-6,
                mistakes={
                    "you averaged the per-token perplexities exp(nll_i); perplexity is the "
                    "exponential of the MEAN negative log-likelihood": nll.exp().mean(),
                    "you used base 2 (2 ** loss); the loss is in nats, so use exp":
                        torch.tensor(2.0, dtype=torch.float64) ** nll.mean(),
                    "you took exp of the summed loss; average over the tokens first":
                        nll.sum().exp(),
                    "you inverted the mean probability of the targets, 1 / mean(p); perplexity "
                    "is exp(-mean(log p)), a geometric mean": 1 / p_target.mean(),
                    "you forgot the log-softmax: the raw logits are not log-probabilities":
                        (-picked.mean()).exp(),
                    "you normalised over the wrong axis: log_softmax over the vocabulary, "
                    "dim=-1": wrong_dim,
                })
    return "correct: exp of the mean next-token loss, as F.cross_entropy gives it"


@register("ch08-ex3")
def _(fn):
    for C in (1e15, 3.7e18, 5.76e23, 2.5e12):
        N, D = math.sqrt(C / 120), 20 * math.sqrt(C / 120)
        got = fn(C)
        if got is None:
            raise ExerciseError("your function returned None: return the pair (N, D)")
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise ExerciseError("return a pair (N, D): parameters and training tokens")
        try:
            got = torch.tensor([float(got[0]), float(got[1])], dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError):
            raise ExerciseError("return two numbers: (N, D)") from None

        def pair(n, d):
            return torch.tensor([n, d], dtype=torch.float64)
        n20 = math.sqrt(C / 20)
        compare(got, pair(N, D), f"(N, D) for C = {C:.3g}", atol=0, rtol=1e-6, mistakes={
            "you dropped the 6 of C = 6ND: with D = 20N, C = 120 N², so N = √(C / 120)":
                pair(n20, 20 * n20),
            "your D is N / 20: Chinchilla trains on 20 tokens per parameter, D = 20 N":
                pair(N, N / 20),
            "you swapped N and D: the model has N parameters and sees D = 20 N tokens":
                pair(D, N),
            "you forgot the square root: C = 120 N², so N = √(C / 120)":
                pair(C / 120, 20 * C / 120),
        })
    return "correct: N = √(C/120), D = 20N, and 6ND gives back the budget"
