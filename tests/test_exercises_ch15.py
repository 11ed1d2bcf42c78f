"""Chapter 15's exercise check accepts the reference solutions and names the typical mistakes."""
import math

import numpy as np
import pytest

from gptlib import exercises
from gptlib.exercises import ExerciseError


def product_ok(n, c, k):
    if n - c < k:
        return 1.0
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def product_loop(n, c, k):                       # no early return: the zero factor does it
    p = 1.0
    for i in range(n - c + 1, n + 1):
        p *= 1 - k / i
    return 1.0 - p


def comb_form(n, c, k):
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def naive(n, c, k):
    return 1 - (1 - c / n) ** k


def share_correct(n, c, k):
    return c / n


def all_fail(n, c, k):
    return 1 - comb_form(n, c, k)


@pytest.mark.parametrize("fn", [product_ok, product_loop, comb_form])
def test_ex1_accepts_solutions(fn):
    assert "correct" in exercises.check("ch15-ex1", fn)


@pytest.mark.parametrize("fn, words", [
    (naive, "biased"),
    (share_correct, "pass@1 whatever k"),
    (all_fail, "one minus"),
    (lambda n, c, k: None, "returned None"),
    (lambda n, c, k: "high", "one number"),
])
def test_ex1_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch15-ex1", fn)


def test_ex1_attempt_never_raises(capsys):
    def todo(n, c, k):
        raise NotImplementedError
    assert exercises.attempt("ch15-ex1", todo) is False
    assert "your turn" in capsys.readouterr().out
