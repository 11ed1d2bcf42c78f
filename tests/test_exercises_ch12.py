"""The chapter 12 exercise checks pass the reference solutions and name the typical mistakes."""
import pytest
import torch
import torch.nn.functional as F

from gptlib import exercises
from gptlib.exercises import ExerciseError


def soft_loss(s, t, T):
    return T ** 2 * F.kl_div(F.log_softmax(s / T, -1), F.softmax(t / T, -1), reduction="batchmean")


def residual(p, q):
    r = (p - q).clamp(min=0)
    return r / r.sum(-1, keepdim=True)


def speedup(alpha, k, c):
    return (1 - alpha ** (k + 1)) / ((1 - alpha) * (k * c + 1))


def test_reference_solutions_pass():
    exercises.check("ch12-ex1", soft_loss)
    exercises.check("ch12-ex1", lambda s, t, T: soft_loss(s, t, T).item())     # a float is fine too
    exercises.check("ch12-ex2", residual)
    exercises.check("ch12-ex3", speedup)


@pytest.mark.filterwarnings("ignore:reduction")
@pytest.mark.parametrize("wrong, message", [
    (lambda s, t, T: F.kl_div(F.log_softmax(s / T, -1), F.softmax(t / T, -1), reduction="batchmean"), "factor T²"),
    (lambda s, t, T: T ** 2 * F.kl_div(F.log_softmax(t / T, -1), F.softmax(s / T, -1), reduction="batchmean"),
     "KL\\(student ‖ teacher\\)"),
    (lambda s, t, T: T ** 2 * F.kl_div(F.log_softmax(s / T, -1), F.softmax(t / T, -1), reduction="mean"),
     "reduction='batchmean'"),
    (lambda s, t, T: T ** 2 * F.kl_div(F.log_softmax(s / T, -1), F.softmax(t / T, -1), reduction="sum"),
     "summed over the rows"),
    (lambda s, t, T: T ** 2 * F.kl_div(F.log_softmax(s, -1), F.softmax(t / T, -1), reduction="batchmean"),
     "softened only the teacher"),
    (lambda s, t, T: T ** 2 * F.kl_div(F.softmax(s / T, -1), F.softmax(t / T, -1), reduction="batchmean"),
     "log-probabilities"),
    (lambda s, t, T: T ** 2 * F.kl_div(F.log_softmax(s / T, -1), F.softmax(t / T, -1), reduction="none").sum(-1),
     "one number"),
])
def test_ex1_names_the_mistake(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check("ch12-ex1", wrong)


@pytest.mark.parametrize("wrong, message", [
    (lambda p, q: residual(q, p), "max\\(0, q − p\\)"),
    (lambda p, q: (p - q).clamp(min=0), "not normalised"),
    (lambda p, q: None, "forget to `return`"),
])
def test_ex2_names_the_mistake(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check("ch12-ex2", wrong)


@pytest.mark.parametrize("wrong, message", [
    (lambda a, k, c: (1 - a ** k) / ((1 - a) * (k * c + 1)), "exponent is k"),
    (lambda a, k, c: (1 - a ** (k + 1)) / (1 - a), "left out the cost"),
    (lambda a, k, c: (1 - a ** (k + 1)) / ((1 - a) * k * c), "not k·c"),
])
def test_ex3_names_the_mistake(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check("ch12-ex3", wrong)


def test_attempt_never_raises(capsys):
    def todo(*args):
        raise NotImplementedError
    assert exercises.attempt("ch12-ex1", todo) is False
    assert "your turn" in capsys.readouterr().out
    assert exercises.attempt("ch12-ex3", lambda a, k, c: 1.0) is False
    assert "not yet" in capsys.readouterr().out
