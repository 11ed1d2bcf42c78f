"""Chapter 19's exercise check accepts the solution and names the typical mistakes."""
import pytest

from gptlib import exercises
from gptlib.exercises import ExerciseError


def acc_ok(model, x, y, k):
    for xs, ys in zip(x.chunk(k), y.chunk(k)):
        (model(xs, ys).loss / k).backward()
    return [p.grad.clone() for p in model.parameters()]


def acc_no_divide(model, x, y, k):
    for xs, ys in zip(x.chunk(k), y.chunk(k)):
        model(xs, ys).loss.backward()
    return [p.grad.clone() for p in model.parameters()]


def acc_zeroing(model, x, y, k):
    for xs, ys in zip(x.chunk(k), y.chunk(k)):
        model.zero_grad()
        (model(xs, ys).loss / k).backward()
    return [p.grad.clone() for p in model.parameters()]


def acc_first_only(model, x, y, k):
    (model(x.chunk(k)[0], y.chunk(k)[0]).loss).backward()
    return [p.grad.clone() for p in model.parameters()]


def test_ex1_accepts_solution():
    assert "correct" in exercises.check("ch19-ex1", acc_ok)


@pytest.mark.parametrize("fn, words", [
    (acc_no_divide, "too large"),
    (acc_zeroing, "do not zero"),
    (acc_first_only, "differs"),
    (lambda m, x, y, k: None, "returned None"),
    (lambda m, x, y, k: [], "one gradient per parameter"),
])
def test_ex1_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch19-ex1", fn)


def test_ex1_attempt_never_raises(capsys):
    def unfilled(*a):
        raise NotImplementedError
    assert exercises.attempt("ch19-ex1", unfilled) is False
    assert "your turn" in capsys.readouterr().out
