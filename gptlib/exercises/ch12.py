"""Checks for chapter 12 (knowledge distillation): the soft-label loss, the residual distribution
of speculative sampling, and the expected speed-up of speculative decoding."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from . import ExerciseError, compare, register


def _kl_rows(p_logits, q_logits):
    """KL(softmax(p) ‖ softmax(q)) per row (N,)."""
    log_p, log_q = F.log_softmax(p_logits, -1), F.log_softmax(q_logits, -1)
    return (log_p.exp() * (log_p - log_q)).sum(-1)


@register("ch12-ex1")
def _soft_loss(fn):
    """fn(student_logits (N, K), teacher_logits (N, K), T) → T² · mean over rows of KL(p_T ‖ q_T)."""
    g = torch.Generator().manual_seed(12)
    for N, K, T in ((5, 3, 2.0), (8, 10, 4.0), (3, 65, 0.5)):
        s = torch.randn(N, K, generator=g) * 2
        t = torch.randn(N, K, generator=g) * 3
        got = fn(s.clone(), t.clone(), T)
        expected = T ** 2 * _kl_rows(t / T, s / T).mean()
        q_probs = F.softmax(s / T, -1)
        mistakes = {
            "you left out the factor T² (without it the soft term's gradients shrink as 1/T²)":
                _kl_rows(t / T, s / T).mean(),
            "you computed KL(student ‖ teacher); distillation uses KL(p ‖ q) with the teacher's p "
            "first: Σ p (log p − log q)": T ** 2 * _kl_rows(s / T, t / T).mean(),
            "you averaged over the classes as well (F.kl_div's reduction='mean'); sum over the "
            "classes and average over the rows (reduction='batchmean')": T ** 2 * _kl_rows(t / T, s / T).mean() / K,
            "you summed over the rows; average over them (one KL per example, then the mean)":
                T ** 2 * _kl_rows(t / T, s / T).sum(),
            "you softened only the teacher: divide the student's logits by T too":
                T ** 2 * _kl_rows(t / T, s).mean(),
            "you softened only the student: divide the teacher's logits by T too":
                T ** 2 * _kl_rows(t, s / T).mean(),
            "F.kl_div wants the student's log-probabilities as its first argument, you gave "
            "probabilities": T ** 2 * F.kl_div(q_probs, F.softmax(t / T, -1), reduction="batchmean"),
        }
        if not isinstance(got, torch.Tensor):
            got = torch.as_tensor(got, dtype=torch.float32)
        if got.dim() != 0:
            raise ExerciseError(f"return one number (a 0-dim tensor), got shape {tuple(got.shape)}: "
                                "average the per-row KL over the rows")
        compare(got, expected, f"the soft loss (N={N}, K={K}, T={T})", mistakes=mistakes)
    return "T² · KL(p_T ‖ q_T), averaged over the rows: correct"


@register("ch12-ex2")
def _residual(fn):
    """fn(p (..., V), q (..., V)) → norm(max(0, p − q)): where to resample after a rejection."""
    g = torch.Generator().manual_seed(21)
    for shape in ((6,), (4, 9)):
        p = torch.rand(*shape, generator=g) ** 3
        p = p / p.sum(-1, keepdim=True)
        q = torch.rand(*shape, generator=g) ** 3
        q = q / q.sum(-1, keepdim=True)
        got = fn(p.clone(), q.clone())
        pos = (p - q).clamp(min=0)
        expected = pos / pos.sum(-1, keepdim=True)
        neg = (q - p).clamp(min=0)
        mistakes = {
            "you took max(0, q − p); the residual is where the target p exceeds the draft q: "
            "max(0, p − q)": neg / neg.sum(-1, keepdim=True),
            "not normalised: divide max(0, p − q) by its sum so that it is a distribution": pos,
            "you normalised along the wrong dimension: sum over the vocabulary (the last one)":
                pos / pos.sum(0, keepdim=True) if len(shape) > 1 else pos,
        }
        compare(got, expected, f"the residual distribution (shape {shape})", mistakes=mistakes)
    return "norm(max(0, p − q)): correct"


@register("ch12-ex3")
def _speedup(fn):
    """fn(alpha, k, c) → Leviathan et al.'s expected speed-up (1 − α^(k+1)) / ((1 − α)(k c + 1))."""
    cases = [(0.5, 1, 0.1), (0.8, 4, 0.05), (0.6, 3, 0.5), (0.9, 8, 0.02), (0.3, 2, 0.01)]
    got = torch.tensor([float(fn(a, k, c)) for a, k, c in cases], dtype=torch.float64)

    def formula(tokens, cost):
        return torch.tensor([tokens(a, k) / cost(k, c) for a, k, c in cases], dtype=torch.float64)

    right_tokens = lambda a, k: (1 - a ** (k + 1)) / (1 - a)   # noqa: E731
    expected = formula(right_tokens, lambda k, c: k * c + 1)
    mistakes = {
        "your exponent is k; when all k drafted tokens are kept the target adds one more of its own, "
        "so a round yields up to k + 1 tokens: (1 − α^(k+1)) / (1 − α)":
            formula(lambda a, k: (1 - a ** k) / (1 - a), lambda k, c: k * c + 1),
        "you left out the cost: a round runs the draft k times (k·c target passes) and the target "
        "once, so divide by k·c + 1": formula(right_tokens, lambda k, c: 1.0),
        "divide by k·c + 1, not k·c: the target's own pass is part of every round":
            formula(right_tokens, lambda k, c: k * c),
    }
    compare(got, expected, "the expected speed-up", rtol=1e-6, atol=1e-9, mistakes=mistakes)
    return "(1 − α^(k+1)) / ((1 − α)(k·c + 1)): correct"
