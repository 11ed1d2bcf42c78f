"""Chapter 13's exercise checks accept the reference solutions and name the typical mistakes."""
import pytest
import torch

from gptlib import exercises
from gptlib.exercises import ExerciseError


# --------------------------------------------------------------------------- ex1: top-p by hand
def top_p_ok(logits, p):
    probs = logits.softmax(-1)
    sorted_p, order = probs.sort(descending=True)
    before = sorted_p.cumsum(-1) - sorted_p          # probability of the tokens ranked above
    keep = torch.zeros_like(logits, dtype=torch.bool)
    keep[order[before < p]] = True
    return logits.masked_fill(~keep, float("-inf"))


def top_p_drops_boundary(logits, p):
    probs = logits.softmax(-1)
    sorted_p, order = probs.sort(descending=True)
    keep = torch.zeros_like(logits, dtype=torch.bool)
    keep[order[sorted_p.cumsum(-1) < p]] = True
    return logits.masked_fill(~keep, float("-inf"))


def top_p_unsorted(logits, p):
    probs = logits.softmax(-1)
    return logits.masked_fill(probs.cumsum(-1) - probs >= p, float("-inf"))


def top_p_each(logits, p):
    return logits.masked_fill(logits.softmax(-1) < p, float("-inf"))


def top_p_probs(logits, p):
    return top_p_ok(logits, p).softmax(-1)


def test_ex1_accepts_the_solution():
    assert "correct" in exercises.check("ch13-ex1", top_p_ok)


@pytest.mark.parametrize("fn, words", [
    (top_p_drops_boundary, "including the first one"),
    (top_p_unsorted, "sort them"),
    (top_p_each, "cumulative"),
    (top_p_probs, "original logits"),
    (lambda logits, p: None, "return"),
])
def test_ex1_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch13-ex1", fn)


def test_ex1_rejects_an_in_place_change():
    def in_place(logits, p):
        out = top_p_ok(logits.clone(), p)
        logits.mul_(2.0)
        return out
    with pytest.raises(ExerciseError, match="in place"):
        exercises.check("ch13-ex1", in_place)


def test_ex1_attempt_never_raises(capsys):
    def todo(logits, p):
        raise NotImplementedError
    assert exercises.attempt("ch13-ex1", todo) is False
    assert "your turn" in capsys.readouterr().out


# ---------------------------------------------------------------- ex2: repeated n-gram rate
def rate_ok(tokens, n):
    grams = [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
    return (len(grams) - len(set(grams))) / len(grams) if grams else 0.0


def rate_distinct(tokens, n):
    grams = [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def rate_per_token(tokens, n):
    grams = [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
    return (len(grams) - len(set(grams))) / len(tokens) if grams else 0.0


def rate_counts_first(tokens, n):
    from collections import Counter
    grams = [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
    counts = Counter(grams)
    return sum(c for c in counts.values() if c > 1) / len(grams) if grams else 0.0


def test_ex2_accepts_the_solution():
    assert "correct" in exercises.check("ch13-ex2", rate_ok)


@pytest.mark.parametrize("fn, words", [
    (rate_distinct, "distinct-n"),
    (rate_per_token, "number of n-grams"),
    (rate_counts_first, "first occurrence"),
    (lambda t, n: "high", "return a number"),
])
def test_ex2_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch13-ex2", fn)


def test_ch13_checks_are_registered():
    assert {"ch13-ex1", "ch13-ex2"} <= set(exercises.known_checks())
