"""Chapter 5's exercise checks accept the reference solutions and name the typical mistakes."""
import math

import pytest
import torch

from gptlib import exercises
from gptlib import reference as ref
from gptlib.exercises import ExerciseError


# ------------------------------------------------------------ ex1: wavelengths from the table
def wavelengths_ok(pe):
    angle = torch.atan2(pe[:, 0::2], pe[:, 1::2])             # (T, d/2), grows by ω_i
    omega = torch.remainder(angle[1] - angle[0], 2 * math.pi)
    return 2 * math.pi / omega


def wavelengths_acos(pe):                                      # a second correct solution
    return 2 * math.pi / torch.acos(pe[1, 1::2])


def wavelengths_formula(pe):
    d = pe.size(1)
    return 2 * math.pi / 10000 ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)


def wavelengths_omega(pe):
    return 2 * math.pi / wavelengths_ok(pe)


def wavelengths_swapped(pe):
    angle = torch.atan2(pe[:, 1::2], pe[:, 0::2])
    return 2 * math.pi / torch.remainder(angle[1] - angle[0], 2 * math.pi)


@pytest.mark.parametrize("fn", [wavelengths_ok, wavelengths_acos])
def test_ex1_accepts_solutions(fn):
    assert "correct" in exercises.check("ch05-ex1", fn)


@pytest.mark.parametrize("fn, words", [
    (wavelengths_formula, "from the formula with base 10000"),
    (wavelengths_omega, "angular frequencies"),
    (wavelengths_swapped, "atan2 takes"),
    (lambda pe: None, "return"),
    (lambda pe: wavelengths_ok(pe)[:4], "shape"),
])
def test_ex1_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch05-ex1", fn)


# ------------------------------------------------------------- ex2: RoPE at given positions
def rope_ok(x, positions):
    d = x.size(-1)
    theta = 10000.0 ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    angle = positions.double()[:, None] * theta
    x1, x2 = x[..., 0::2], x[..., 1::2]
    out = torch.stack((x1 * angle.cos() - x2 * angle.sin(),
                       x1 * angle.sin() + x2 * angle.cos()), dim=-1)
    return out.flatten(-2)


def rope_library(x, positions):
    return ref.apply_rope(x, *ref.rope_angles(len(x), x.size(-1), positions=positions))


def rope_from_zero(x, positions):
    return ref.apply_rope(x, *ref.rope_angles(len(x), x.size(-1)))


def rope_plus_one(x, positions):
    return rope_ok(x, positions + 1)


def rope_backwards(x, positions):
    return rope_ok(x, -positions)


def rope_half_split(x, positions):
    d = x.size(-1)
    cos, sin = (t.double() for t in ref.rope_angles(len(x), d, positions=positions))
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)


@pytest.mark.parametrize("fn", [rope_ok, rope_library])
def test_ex2_accepts_solutions(fn):
    assert "correct" in exercises.check("ch05-ex2", fn)


@pytest.mark.parametrize("fn, words", [
    (rope_from_zero, "positions 0..T-1"),
    (rope_plus_one, "off by one"),
    (rope_backwards, "wrong way"),
    (rope_half_split, "GPT-NeoX"),
    (lambda x, p: x, "differs from the reference"),
])
def test_ex2_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch05-ex2", fn)


def test_ex2_attempt_never_raises(capsys):
    def todo(x, positions):
        raise NotImplementedError
    assert exercises.attempt("ch05-ex2", todo) is False
    assert "your turn" in capsys.readouterr().out
