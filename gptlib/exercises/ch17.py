"""Checks for chapter 17 (tools and resources): training days from 6·N·D, a peak and a
utilisation."""
from __future__ import annotations

import math

from .. import compute
from . import ExerciseError, register

_CASES = [(175e9, 300e9, 312e12, 0.4, 1024), (1e9, 20e9, 989e12, 0.5, 8),
          (124e6, 9e9, 125e12, 0.3, 1), (7e9, 1e12, 275e12, 0.55, 256)]


@register("ch17-ex1")
def _(fn):
    for N, D, P, u, n in _CASES:
        secs = compute.training_time(compute.training_flops(N, D), P, u, n)
        expected = secs / 86400
        got = fn(N, D, P, u, n)
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise ExerciseError(f"return a number of days, got {type(got).__name__}") from None
        if math.isclose(got, expected, rel_tol=1e-6):
            continue
        mistakes = {
            "you counted only the forward pass (2·N·D); training costs 6·N·D":
                expected / 3,
            "you multiplied by the utilisation; a device busy at a fraction u of its peak does "
            "u·P FLOP/s, so divide by it": expected * u * u,
            "you left out the number of devices: n of them share the work":
                expected * n,
            "you returned seconds; divide by 86,400 for days": secs,
            "you returned hours; divide by 24 more for days": secs / 3600,
        }
        for why, wrong in mistakes.items():
            if math.isclose(got, wrong, rel_tol=1e-6):
                raise ExerciseError(why)
        raise ExerciseError(f"for N={N:g}, D={D:g}, P={P:g}, u={u}, n={n} you returned "
                            f"{got:.4g} days, expected {expected:.4g}")
    return "correct: 6·N·D / (n · u · P) seconds, in days"
