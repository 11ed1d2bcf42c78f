"""Chapter 10's exercise checks accept the reference solutions and name the typical mistakes."""
import re
from collections import Counter

import pytest
import torch

from gptlib import exercises
from gptlib.exercises import ExerciseError, ch10


# ------------------------------------------------------------------------ ex1: prompt mask
def mask_ok(prompt_ids, response_ids):
    seq = torch.tensor(list(prompt_ids) + list(response_ids), dtype=torch.long)
    inputs, targets = seq[:-1], seq[1:].clone()
    targets[:len(prompt_ids) - 1] = -100
    return inputs, targets


def mask_one_too_many(prompt_ids, response_ids):
    seq = torch.tensor(list(prompt_ids) + list(response_ids), dtype=torch.long)
    inputs, targets = seq[:-1], seq[1:].clone()
    targets[:len(prompt_ids)] = -100
    return inputs, targets


def mask_nothing(prompt_ids, response_ids):
    seq = torch.tensor(list(prompt_ids) + list(response_ids), dtype=torch.long)
    return seq[:-1], seq[1:]


def mask_unshifted(prompt_ids, response_ids):
    seq = torch.tensor(list(prompt_ids) + list(response_ids), dtype=torch.long)
    targets = seq[:-1].clone()
    targets[:len(prompt_ids) - 1] = -100
    return seq[:-1], targets


def test_ex1_accepts_the_solution():
    assert "correct" in exercises.check("ch10-ex1", mask_ok)


@pytest.mark.parametrize("fn, words", [
    (mask_one_too_many, "first response token"),
    (mask_nothing, "nothing is masked"),
    (mask_unshifted, "not shifted"),
    (lambda p, r: None, "return a pair"),
])
def test_ex1_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch10-ex1", fn)


def test_ex1_attempt_never_raises(capsys):
    def todo(p, r):
        raise NotImplementedError
    assert exercises.attempt("ch10-ex1", todo) is False
    assert "your turn" in capsys.readouterr().out


# ------------------------------------------------------------------ ex2: grow the embedding
def grow_ok(E, n_new):
    return torch.cat([E, E.mean(dim=0, keepdim=True).expand(n_new, -1)])


def test_ex2_accepts_the_solution():
    assert "correct" in exercises.check("ch10-ex2", grow_ok)


@pytest.mark.parametrize("fn, words", [
    (lambda E, n: torch.cat([E, torch.zeros(n, E.size(1))]), "zero"),
    (lambda E, n: torch.cat([E, E[:1].expand(n, -1)]), "row 0"),
    (lambda E, n: torch.cat([E, E.sum(0, keepdim=True).expand(n, -1)]), "sum"),
    (lambda E, n: torch.cat([E, E.mean(1, keepdim=True)[:n].expand(-1, E.size(1))]), "differs"),
    (lambda E, n: torch.cat([E * 2, E.mean(0, keepdim=True).expand(n, -1)]), "unchanged"),
    (lambda E, n: E.mean(0, keepdim=True).expand(n, -1), "shape"),
])
def test_ex2_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch10-ex2", fn)


def test_ex2_rejects_an_in_place_change():
    def in_place(E, n):
        E.mul_(1.0).add_(1.0)
        return grow_ok(E, n)
    with pytest.raises(ExerciseError, match="in place"):
        exercises.check("ch10-ex2", in_place)


# -------------------------------------------------------------- ex3: strictly well-formed
# The check's own reference (the chapter's solution cell runs through the same check under nbval).
strict_ok = ch10._strict_reference


def strict_no_trigram_rule(text, finish_reason, instruction):
    answer = text.strip()
    return (bool(answer) and finish_reason in ("eos", "stop")
            and instruction.strip().lower() not in answer.lower() and "<unk>" not in answer)


def strict_case_sensitive_echo(text, finish_reason, instruction):
    answer = text.strip()
    w = re.findall(r"[a-z0-9]+", answer.lower())
    trigrams = Counter(zip(w, w[1:], w[2:]))
    return (bool(answer) and finish_reason in ("eos", "stop") and instruction not in answer
            and "<unk>" not in answer and all(c == 1 for c in trigrams.values()))


def strict_ignores_finish(text, finish_reason, instruction):
    return strict_ok(text, "eos", instruction)


def strict_word_repeats(text, finish_reason, instruction):
    w = re.findall(r"[a-z0-9]+", text.lower())
    return strict_no_trigram_rule(text, finish_reason, instruction) and len(set(w)) == len(w)


def test_ex3_accepts_the_solution():
    assert "correct" in exercises.check("ch10-ex3", strict_ok)


@pytest.mark.parametrize("fn, words", [
    (strict_no_trigram_rule, "three-word"),
    (strict_case_sensitive_echo, "ignore case"),
    (strict_ignores_finish, "token limit"),
    (strict_word_repeats, "count trigrams, not words"),
    (lambda t, f, i: "yes", "True or False"),
])
def test_ex3_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch10-ex3", fn)


def test_ch10_checks_are_registered():
    assert {"ch10-ex1", "ch10-ex2", "ch10-ex3"} <= set(exercises.known_checks())
