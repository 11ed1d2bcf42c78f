"""Checks for chapter 18 (limitations and the future): symmetric per-channel int8 quantisation."""
from __future__ import annotations

import torch

from . import ExerciseError, compare, register


def reference_int8(w: torch.Tensor):
    """(q, scale): one scale per output row, scale = max|w_row| / 127, q = round(w / scale)."""
    scale = w.abs().amax(dim=1).clamp_min(1e-12) / 127
    q = torch.round(w / scale[:, None]).clamp(-127, 127).to(torch.int8)
    return q, scale


@register("ch18-ex1")
def _(fn):
    gen = torch.Generator().manual_seed(18)
    w = torch.randn(6, 10, generator=gen) * torch.logspace(-2, 0, 6)[:, None]  # rows of unequal size
    q_ref, s_ref = reference_int8(w)
    out = fn(w.clone())
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise ExerciseError("return a pair (q, scale): q int8 of w's shape, scale of shape (rows,)")
    q, scale = out
    if not isinstance(q, torch.Tensor) or q.dtype != torch.int8:
        raise ExerciseError(f"q must be a torch.int8 tensor, got "
                            f"{getattr(q, 'dtype', type(q).__name__)}")
    tensor_scale = w.abs().max() / 127
    compare(scale, s_ref, "scale (one per output row)", mistakes={
        "you used one scale for the whole matrix (per-tensor); the exercise asks for one per "
        "output row, so that small rows keep their precision": tensor_scale.expand(6),
        "you divided max|w| by 128; symmetric int8 uses ±127 so that +max and -max are both "
        "representable": w.abs().amax(dim=1) / 128,
        "you took the max of w, not of |w|: a row whose largest entry is negative overflows":
            w.amax(dim=1) / 127,
    })
    compare(q.float(), q_ref.float(), "q", atol=0, rtol=0, mistakes={
        "you truncated w / scale towards zero (.to(torch.int8) or .trunc()); round to the "
        "nearest integer first": (w / s_ref[:, None]).trunc(),
    })
    err = (q.float() * scale[:, None] - w).abs()
    if not (err <= scale[:, None] / 2 + 1e-6).all():
        raise ExerciseError("dequantised q · scale is further than scale/2 from w somewhere")
    return "correct: one scale per row and rounding error at most half a step"
