"""Chapter 18's exercise check accepts the reference solution and names typical mistakes."""
import pytest
import torch

from gptlib import exercises
from gptlib.exercises import ExerciseError


def int8_ok(w):
    scale = w.abs().amax(dim=1) / 127
    return torch.round(w / scale[:, None]).to(torch.int8), scale


def int8_fake_quant(w):                     # a second correct solution, through torch
    scale = w.abs().amax(dim=1) / 127
    zero = torch.zeros(w.size(0), dtype=torch.int32)
    deq = torch.fake_quantize_per_channel_affine(w, scale, zero, 0, -127, 127)
    return torch.round(deq / scale[:, None]).to(torch.int8), scale


def int8_per_tensor(w):
    scale = (w.abs().max() / 127).expand(w.size(0))
    return torch.round(w / scale[:, None]).clamp(-127, 127).to(torch.int8), scale


def int8_128(w):
    scale = w.abs().amax(dim=1) / 128
    return torch.round(w / scale[:, None]).clamp(-128, 127).to(torch.int8), scale


def int8_trunc(w):
    scale = w.abs().amax(dim=1) / 127
    return (w / scale[:, None]).to(torch.int8), scale


def int8_float(w):
    scale = w.abs().amax(dim=1) / 127
    return torch.round(w / scale[:, None]), scale


@pytest.mark.parametrize("fn", [int8_ok, int8_fake_quant])
def test_accepts_solutions(fn):
    assert exercises.check("ch18-ex1", fn).startswith("correct")


@pytest.mark.parametrize("fn, words", [(int8_per_tensor, "per-tensor"), (int8_128, "128"),
                                       (int8_trunc, "truncated"), (int8_float, "torch.int8")])
def test_names_mistakes(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch18-ex1", fn)


def test_starter_does_not_raise(capsys):
    def starter(w):
        raise NotImplementedError
    assert exercises.attempt("ch18-ex1", starter) is False
    assert "your turn" in capsys.readouterr().out
