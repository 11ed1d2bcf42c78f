"""Checks for chapter 9 (classification): last-token pooling with padding, and macro-F1 with
balanced accuracy computed by hand."""
from __future__ import annotations

import torch

from ..heads import last_token_index
from . import ExerciseError, compare, register


def _masks(gen: torch.Generator, B: int, T: int, side: str) -> torch.Tensor:
    lengths = torch.randint(1, T + 1, (B,), generator=gen)
    lengths[0] = T                                   # one full row, no padding
    lengths[-1] = 1                                  # one row with a single token
    pos = torch.arange(T)[None, :]
    if side == "right":
        return (pos < lengths[:, None]).long()
    return (pos >= T - lengths[:, None]).long()


@register("ch09-ex1")
def _(fn):
    gen = torch.Generator().manual_seed(9)
    for side in ("right", "left"):
        B, T, C = 5, 7, 4
        hidden = torch.randn(B, T, C, generator=gen)
        mask = _masks(gen, B, T, side)
        rows = torch.arange(B)
        expected = hidden[rows, last_token_index(mask)]
        length = mask.sum(1)
        got = fn(hidden.clone(), mask.clone())
        mistakes = {
            "you took the last column, hidden[:, -1]: with right padding that is a pad token; "
            "take each row's last position whose mask is 1": hidden[:, -1],
            "you took the first token; a causal model's first position has seen only itself, "
            "the last real token has seen the whole text": hidden[rows, (mask.argmax(1))],
            "you averaged over the real tokens (mean pooling); the exercise asks for the last "
            "real token": (hidden * mask[..., None]).sum(1) / length[:, None],
        }
        if side == "left":
            mistakes["you took position length - 1 (mask.sum(1) - 1), which is right only for "
                     "right padding; with left padding the last real token is the last column. "
                     "Find the last position whose mask is 1"] = hidden[rows, (length - 1)]
        compare(got, expected, f"the pooled vectors ({side} padding)", mistakes=mistakes)
    return "correct: each row's last real token, with right and with left padding"


def _reference_scores(y_true: torch.Tensor, y_pred: torch.Tensor, K: int):
    f1s, recalls = [], []
    for k in range(K):
        tp = ((y_pred == k) & (y_true == k)).sum().item()
        fp = ((y_pred == k) & (y_true != k)).sum().item()
        fn = ((y_pred != k) & (y_true == k)).sum().item()
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * p * r / (p + r) if p + r else 0.0)
        recalls.append(r)
    return f1s, recalls


@register("ch09-ex2")
def _(fn):
    gen = torch.Generator().manual_seed(19)
    cases = []
    for K, n, bias in ((2, 60, 0.85), (3, 90, 0.6), (2, 40, 0.95)):
        y_true = (torch.rand(n, generator=gen) > bias).long()
        if K == 3:
            y_true = y_true + (torch.rand(n, generator=gen) > 0.7).long() * (1 - y_true) * 2
        y_true[:K] = torch.arange(K)                 # every class occurs at least once
        noise = torch.rand(n, generator=gen) < 0.25
        y_pred = torch.where(noise, torch.randint(0, K, (n,), generator=gen), y_true)
        cases.append((K, y_true, y_pred))
    cases.append((2, torch.tensor([0, 0, 0, 1]), torch.tensor([0, 0, 0, 0])))   # class 1 never predicted
    for K, y_true, y_pred in cases:
        f1s, recalls = _reference_scores(y_true, y_pred, K)
        expected = torch.tensor([sum(f1s) / K, sum(recalls) / K], dtype=torch.float64)
        got = fn(y_true.tolist(), y_pred.tolist())
        if got is None:
            raise ExerciseError("your function returned None: return (macro_f1, balanced_accuracy)")
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise ExerciseError("return a pair (macro_f1, balanced_accuracy) of floats")
        try:
            got = torch.tensor([float(got[0]), float(got[1])], dtype=torch.float64)
        except (TypeError, ValueError):
            raise ExerciseError("return two numbers: (macro_f1, balanced_accuracy)") from None
        acc = (y_true == y_pred).double().mean().item()
        precisions = []
        for k in range(K):
            tp = ((y_pred == k) & (y_true == k)).sum().item()
            fp = ((y_pred == k) & (y_true != k)).sum().item()
            precisions.append(tp / (tp + fp) if tp + fp else 0.0)
        what = f"(macro_f1, balanced_accuracy) for {K} classes"
        compare(got[:1], expected[:1], f"macro_f1 {what}", atol=1e-9, rtol=1e-7, mistakes={
            "your macro-F1 equals the accuracy: that is micro-averaged F1 (every example counted "
            "once); macro-F1 is the plain mean of the per-class F1 scores":
                torch.tensor([acc], dtype=torch.float64),
            "that is the F1 of the last class only; macro-F1 averages the F1 of every class":
                torch.tensor([f1s[-1]], dtype=torch.float64),
        })
        compare(got[1:], expected[1:], f"balanced_accuracy {what}", atol=1e-9, rtol=1e-7, mistakes={
            "your balanced accuracy is the plain accuracy; balanced accuracy is the mean over "
            "classes of each class's recall, TP_k / (TP_k + FN_k)":
                torch.tensor([acc], dtype=torch.float64),
            "you averaged the precisions TP/(TP+FP); balanced accuracy averages the recalls "
            "TP/(TP+FN), the share of each true class found":
                torch.tensor([sum(precisions) / K], dtype=torch.float64),
        })
    return "correct: macro-F1 and balanced accuracy agree with the definitions (and scikit-learn)"
