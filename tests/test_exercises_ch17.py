"""Chapter 17's exercise check accepts the solution and names the typical mistakes."""
import pytest

from gptlib import exercises
from gptlib.exercises import ExerciseError


def days_ok(N, D, P, u, n):
    return 6 * N * D / (n * u * P) / 86400


@pytest.mark.parametrize("fn, words", [
    (lambda N, D, P, u, n: 2 * N * D / (n * u * P) / 86400, "forward pass"),
    (lambda N, D, P, u, n: 6 * N * D * u / (n * P) / 86400, "multiplied by the utilisation"),
    (lambda N, D, P, u, n: 6 * N * D / (u * P) / 86400, "number of devices"),
    (lambda N, D, P, u, n: 6 * N * D / (n * u * P), "seconds"),
    (lambda N, D, P, u, n: 6 * N * D / (n * u * P) / 3600, "hours"),
    (lambda N, D, P, u, n: None, "return a number"),
    (lambda N, D, P, u, n: 1.0, "expected"),
])
def test_ex1_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch17-ex1", fn)


def test_ex1_accepts_solution():
    assert "correct" in exercises.check("ch17-ex1", days_ok)


def test_ex1_attempt_never_raises(capsys):
    def unfilled(*a):
        raise NotImplementedError
    assert exercises.attempt("ch17-ex1", unfilled) is False
    assert "your turn" in capsys.readouterr().out
