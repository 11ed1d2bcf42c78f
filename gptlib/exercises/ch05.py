"""Checks for chapter 5 (positional encoding): wavelengths read off a sinusoidal table, and
rotary embeddings at arbitrary positions (as a KV cache needs them)."""
from __future__ import annotations

import math

import torch

from .. import reference as ref
from . import compare, register


def _omega(d: int, base: float) -> torch.Tensor:
    return base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)


@register("ch05-ex1")
def _(fn):
    # Tables with the book's base and with another one: an answer typed from the formula with
    # base 10000 passes the first and fails the second.
    for T, d, base in ((128, 64, 10000.0), (16, 12, 500.0), (40, 32, 10000.0)):
        omega = _omega(d, base)
        angle = torch.arange(T, dtype=torch.float64)[:, None] * omega     # float64, as the
        pe = torch.stack((angle.sin(), angle.cos()), dim=-1).flatten(1)    # chapter's table
        expected = 2 * math.pi / omega
        got = fn(pe.clone())
        mistakes = {
            "you returned the angular frequencies ω_i; the wavelength is 2π / ω_i": omega,
            "you returned 1 / ω_i; one full turn is 2π radians, so the wavelength is 2π / ω_i":
                1 / omega,
            "your angles run backwards: atan2 takes (sin, cos) = (PE(p, 2i), PE(p, 2i+1)), "
            "in that order": 2 * math.pi / (2 * math.pi - omega),
            "you used the exponent i/d instead of 2i/d": 2 * math.pi / (base ** (
                -torch.arange(d // 2, dtype=torch.float64) / d)),
        }
        if base != 10000.0:
            mistakes["you computed the wavelengths from the formula with base 10000; read them "
                     "off the table, which here was built with another base"] = (
                2 * math.pi / _omega(d, 10000.0))
        compare(got, expected, f"the wavelengths of a ({T}, {d}) table", atol=1e-6, rtol=1e-6,
                mistakes=mistakes)
    return "correct: the wavelengths read off the table, whatever base built it"


def _angles(positions, d, base=10000.0):
    angle = positions.double()[:, None] * _omega(d, base)
    return angle.cos(), angle.sin()


def _rope_half_split(x, cos, sin):
    h = x.size(-1) // 2
    x1, x2 = x[..., :h], x[..., h:]
    return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)


@register("ch05-ex2")
def _(fn):
    gen = torch.Generator().manual_seed(5)
    for T, d, positions in ((5, 16, torch.arange(20, 25)), (4, 8, torch.tensor([0, 3, 7, 100])),
                            (6, 32, torch.arange(1000, 1006))):
        x = torch.randn(T, d, generator=gen, dtype=torch.float64)
        cos, sin = _angles(positions, d)
        expected = ref.apply_rope(x, cos, sin)
        got = fn(x.clone(), positions.clone())
        cos0, sin0 = _angles(torch.arange(T), d)
        cos1, sin1 = _angles(positions + 1, d)
        theta_wrong = 10000.0 ** (-torch.arange(d // 2, dtype=torch.float64) / d)
        angle_wrong = positions.double()[:, None] * theta_wrong
        mistakes = {
            "you rotated by positions 0..T-1; rotate row t by its own position positions[t] "
            "(with a KV cache the new tokens do not start at 0)": ref.apply_rope(x, cos0, sin0),
            "your positions are off by one: row t is rotated by positions[t], not "
            "positions[t] + 1": ref.apply_rope(x, cos1, sin1),
            "you rotated the wrong way (the sign of sin is flipped): (x1, x2) -> "
            "(x1 cos - x2 sin, x1 sin + x2 cos)": ref.apply_rope(x, cos, -sin),
            "you paired dimension i with i + d/2 (the GPT-NeoX layout); this chapter pairs "
            "(x_2i, x_2i+1)": _rope_half_split(x, cos, sin),
            "your frequencies use the exponent i/d; θ_i = 10000^(-2i/d)":
                ref.apply_rope(x, angle_wrong.cos(), angle_wrong.sin()),
        }
        # float32 angles (as gptlib.reference computes them) are within 1e-4 at position 1000
        compare(got, expected, f"the rotated rows ({T}, {d})", atol=1e-4, rtol=1e-4,
                mistakes=mistakes)
    return "correct: every row rotated by its own position, as gptlib.reference.apply_rope does"
