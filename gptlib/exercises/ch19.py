"""Checks for chapter 19 (FAQ): gradient accumulation gives the full batch's gradient."""
from __future__ import annotations

import torch

from ..model import GPT, GPTConfig
from . import ExerciseError, compare, register


def _grads(model):
    return [p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p)
            for p in model.parameters()]


@register("ch19-ex1")
def _(fn):
    cfg = GPTConfig(vocab_size=50, block_size=16, n_layer=1, n_head=2, n_embd=16, bias=True)
    g = torch.Generator().manual_seed(19)
    for B, k in ((8, 4), (6, 2), (4, 1)):
        torch.manual_seed(B + k)
        model = GPT(cfg)
        x = torch.randint(0, 50, (B, 12), generator=g)
        y = torch.randint(0, 50, (B, 12), generator=g)
        model.zero_grad(set_to_none=True)
        model(x, y).loss.backward()
        expected = _grads(model)
        model.zero_grad(set_to_none=True)
        model(x.chunk(k)[-1], y.chunk(k)[-1]).loss.backward()
        last = _grads(model)
        model.zero_grad(set_to_none=True)
        got = fn(model, x, y, k)
        if got is None:
            raise ExerciseError("your function returned None: return the list of gradients")
        got = list(got)
        if len(got) != len(expected):
            raise ExerciseError(f"return one gradient per parameter ({len(expected)}), "
                                f"got {len(got)}")
        flat = lambda ts: torch.cat([t.reshape(-1) for t in ts])
        if any(t is None for t in got):
            raise ExerciseError("some gradients are None: did you call backward?")
        mistakes = {
            "your gradients are n_micro times too large: divide each micro-batch's loss by "
            "n_micro before backward (the whole batch's loss is a mean)": flat(expected) * k,
            "only the last micro-batch counts: do not zero the gradients between micro-batches":
                flat(last) / k,
            "only the last micro-batch counts, and it is not divided by n_micro: "
            "accumulate over all micro-batches": flat(last),
        }
        if k == 1:
            mistakes = {}
        compare(flat(got), flat(expected), f"the accumulated gradient (B={B}, n_micro={k})",
                mistakes=mistakes)
    return "correct: the accumulated gradient equals the full batch's"
