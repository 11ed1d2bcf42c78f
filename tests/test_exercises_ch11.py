"""The chapter 11 exercise checks pass the reference solutions and name typical mistakes."""
import pytest
import torch

from gptlib import exercises
from gptlib.exercises import ExerciseError


def induction_score(weights, L):
    T = weights.size(-1)
    i = torch.arange(L + 1, T)
    return weights[:, i, i - L + 1].mean(-1)


def _at(offset, first):
    """A wrong score: mean weight from queries first(L) .. T-1 to key i + offset(L)."""
    def score(w, L):
        i = torch.arange(first(L), w.size(-1))
        return w[:, i, i + offset(L)].mean(-1)
    return score


def calibrate(label_probs, content_free):
    scaled = label_probs / content_free
    return scaled / scaled.sum(-1, keepdim=True)


def test_both_checks_are_registered():
    assert {"ch11-ex1", "ch11-ex2"} <= set(exercises.known_checks())


def test_induction_score_solution_passes():
    assert "correct" in exercises.check("ch11-ex1", induction_score)


@pytest.mark.parametrize("wrong, message", [
    (_at(lambda L: -L, lambda L: L + 1), "duplicate-token"),
    (_at(lambda L: -1, lambda L: L + 1), "previous-token score"),
    (_at(lambda L: 1 - L, lambda L: L), "start at L;"),
    (_at(lambda L: 1 - L, lambda L: 0), "every query"),
    (lambda w, L: induction_score(w.transpose(-1, -2), L), "rows are queries"),
])
def test_induction_score_names_the_mistake(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check("ch11-ex1", wrong)


def test_induction_score_wrong_shape_is_reported():
    with pytest.raises(ExerciseError, match="shape"):
        exercises.check("ch11-ex1", lambda w, L: induction_score(w, L).mean())


def test_calibrate_solution_passes():
    assert "correct" in exercises.check("ch11-ex2", calibrate)


@pytest.mark.parametrize("wrong, message", [
    (lambda p, cf: (p * cf) / (p * cf).sum(-1, keepdim=True), "multiplied"),
    (lambda p, cf: p / cf, "renormalised"),
    (lambda p, cf: (p / cf) / (p / cf).sum(0, keepdim=True), "dim 0"),
    (lambda p, cf: p - cf, "subtracted"),
])
def test_calibrate_names_the_mistake(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check("ch11-ex2", wrong)


def test_attempt_never_raises():
    def unfinished(weights, L):
        raise NotImplementedError

    assert exercises.attempt("ch11-ex1", unfinished) is False
    assert exercises.attempt("ch11-ex2", lambda p, cf: p * cf) is False
    assert exercises.attempt("ch11-ex2", calibrate) is True
