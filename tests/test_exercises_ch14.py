"""Chapter 14's exercise check accepts the reference solution and names the typical mistakes."""
import pytest

from gptlib import exercises
from gptlib.exercises import ExerciseError


from gptlib.exercises.ch14 import _reference as align_ok   # the check's own reference


def align_enumerate(word_ids, word_labels):          # a second correct solution
    return [-100 if w is None or (j and word_ids[j - 1] == w) else word_labels[w]
            for j, w in enumerate(word_ids)]


def align_every_piece(word_ids, word_labels):
    return [-100 if w is None else word_labels[w] for w in word_ids]


def align_last_piece(word_ids, word_labels):
    n = len(word_ids)
    return [-100 if w is None or (j + 1 < n and word_ids[j + 1] == w) else word_labels[w]
            for j, w in enumerate(word_ids)]


def align_none_as_zero(word_ids, word_labels):
    out, previous = [], None
    for w in word_ids:
        out.append(0 if w is None else (-100 if w == previous else word_labels[w]))
        previous = w
    return out


@pytest.mark.parametrize("fn", [align_ok, align_enumerate])
def test_ex1_accepts_solutions(fn):
    assert "correct" in exercises.check("ch14-ex1", fn)


@pytest.mark.parametrize("fn, words", [
    (align_every_piece, "every piece"),
    (align_last_piece, "last piece"),
    (align_none_as_zero, "differs from the reference"),
    (lambda w, lab: None, "returned None"),
    (lambda w, lab: ["x"] * len(w), "list of ints"),
    (lambda w, lab: align_ok(w, lab)[:-1], "shape"),
])
def test_ex1_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch14-ex1", fn)


def test_ex1_attempt_never_raises(capsys):
    def todo(w, lab):
        raise NotImplementedError
    assert exercises.attempt("ch14-ex1", todo) is False
    assert "your turn" in capsys.readouterr().out
