"""Checks for chapter 15 (applications: dialogue, controlled writing, code): the pass@k
estimator of Chen et al. (2021) in its product form."""
from __future__ import annotations

import math

import torch

from . import ExerciseError, compare, register


def _reference(n: int, c: int, k: int) -> float:
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


@register("ch15-ex1")
def _(fn):
    gen = torch.Generator().manual_seed(15)
    cases = [(10, 2, 5), (10, 0, 3), (10, 10, 1), (5, 3, 4), (200, 3, 10), (200, 0, 100)]
    for _ in range(20):
        n = int(torch.randint(2, 60, (1,), generator=gen))
        c = int(torch.randint(0, n + 1, (1,), generator=gen))
        k = int(torch.randint(1, n + 1, (1,), generator=gen))
        cases.append((n, c, k))
    for n, c, k in cases:
        got = fn(n, c, k)
        if got is None:
            raise ExerciseError("your function returned None: return pass@k as a float")
        try:
            got = torch.tensor([float(got)], dtype=torch.float64)
        except (TypeError, ValueError):
            raise ExerciseError("return one number, the estimated pass@k") from None
        expected = torch.tensor([_reference(n, c, k)], dtype=torch.float64)
        mistakes = {
            "that is the naive estimate 1 - (1 - c/n)^k, which treats the k samples as drawn "
            "with replacement and is biased; draw the k samples without replacement from the n":
                torch.tensor([1 - (1 - c / n) ** k], dtype=torch.float64),
            "you returned c/n, the share of correct samples: that is pass@1 whatever k is":
                torch.tensor([c / n], dtype=torch.float64),
            "you returned the probability that all k samples fail; pass@k is one minus it":
                torch.tensor([1 - _reference(n, c, k)], dtype=torch.float64),
        }
        compare(got, expected, f"pass@{k} for n={n}, c={c}", atol=1e-9, rtol=1e-9,
                mistakes=mistakes)
    return "correct: the product form agrees with 1 - C(n-c, k) / C(n, k)"
