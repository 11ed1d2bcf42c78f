"""Checks for chapter 16 (applications beyond text): hit-rate@k and NDCG@k over a full ranking
with the already-seen items excluded, and the targets of a captioning model with an image prefix."""
from __future__ import annotations

import math

import torch

from . import ExerciseError, compare, register


def _ranks(scores: torch.Tensor, target: torch.Tensor, seen: torch.Tensor | None) -> torch.Tensor:
    """1-based rank of each row's target among the items not excluded (no ties in the checks)."""
    s = scores.clone()
    if seen is not None:
        s[seen] = -math.inf
    mine = s.gather(1, target[:, None])
    return 1 + (s > mine).sum(1)


def _scores_from(ranks: torch.Tensor, k: int, log=math.log2, offset: int = 1, hit_k: int | None = None):
    hit_k = k if hit_k is None else hit_k
    hit = (ranks <= hit_k).double().mean().item()
    gains = [1 / log(r + offset) if r <= k else 0.0 for r in ranks.tolist()]
    return hit, sum(gains) / len(gains)


def _as_pair(got, what: str) -> torch.Tensor:
    if got is None:
        raise ExerciseError("your function returned None: return (hit_rate, ndcg)")
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise ExerciseError(f"return a pair (hit_rate, ndcg) of floats for {what}")
    try:
        return torch.tensor([float(got[0]), float(got[1])], dtype=torch.float64)
    except (TypeError, ValueError):
        raise ExerciseError("return two numbers: (hit_rate, ndcg)") from None


@register("ch16-ex1")
def _(fn):
    gen = torch.Generator().manual_seed(16)
    for B, N, k in ((300, 60, 10), (120, 25, 5), (40, 200, 20)):
        scores = torch.randn(B, N, generator=gen, dtype=torch.float64)
        seen = torch.rand(B, N, generator=gen) < 0.3
        target = torch.randint(0, N, (B,), generator=gen)
        seen[torch.arange(B), target] = False          # the held-out item was never seen
        boost = torch.rand(B, generator=gen) * 3       # targets from top ranks to far down
        scores[torch.arange(B), target] += boost.double()
        ranks = _ranks(scores, target, seen)
        hit, ndcg = _scores_from(ranks, k)
        what = f"{B} users, {N} items, k={k}"
        got = _as_pair(fn(scores.clone(), target.clone(), seen.clone(), k), what)
        raw = _ranks(scores, target, None)
        hit_raw, ndcg_raw = _scores_from(raw, k)
        compare(got[:1], torch.tensor([hit], dtype=torch.float64), f"hit_rate ({what})",
                atol=1e-9, rtol=1e-7, mistakes={
                    "you did not exclude the already-seen items: seen items must not take a place "
                    "in the top k (set their scores to -inf before ranking)":
                        torch.tensor([hit_raw], dtype=torch.float64),
                    "your hit rate counts a target at rank k as a miss: a hit is rank <= k, "
                    "i.e. the target is among the first k items":
                        torch.tensor([_scores_from(ranks, k, hit_k=k - 1)[0]], dtype=torch.float64),
                })
        ndcg_all = sum(1 / math.log2(r + 1) for r in ranks.tolist()) / B
        compare(got[1:], torch.tensor([ndcg], dtype=torch.float64), f"ndcg ({what})",
                atol=1e-9, rtol=1e-7, mistakes={
                    "you did not exclude the already-seen items: seen items must not take a place "
                    "in the top k (set their scores to -inf before ranking)":
                        torch.tensor([ndcg_raw], dtype=torch.float64),
                    "you used the natural logarithm; DCG discounts by log2(rank + 1)":
                        torch.tensor([_scores_from(ranks, k, log=math.log)[1]], dtype=torch.float64),
                    "off by one: with ranks counted from 1 the discount is 1 / log2(rank + 1), "
                    "so rank 1 earns 1.0": torch.tensor([_scores_from(ranks, k, offset=2)[1]],
                                                        dtype=torch.float64),
                    "a target below the top k must earn 0: NDCG@k only counts the first k places":
                        torch.tensor([ndcg_all], dtype=torch.float64),
                })
    return "correct: hit-rate@k and NDCG@k over all unseen items (= gptlib.metrics)"


@register("ch16-ex2")
def _(fn):
    gen = torch.Generator().manual_seed(160)
    for B, L, P in ((4, 9, 16), (3, 5, 1), (2, 7, 9)):
        caption_ids = torch.randint(2, 30, (B, L), generator=gen)
        caption_ids[:, 0] = 0                             # <bos>
        expected = torch.cat([torch.full((B, P), -100), caption_ids[:, 1:]], 1)
        got = fn(caption_ids.clone(), P)
        compare(got, expected, f"the targets ({B} captions of {L} tokens, {P} image tokens)",
                mistakes={
                    "your targets are not shifted: position t must hold the token at t + 1 "
                    "(targets = the caption without its first token)":
                        torch.cat([torch.full((B, P), -100), caption_ids[:, :-1]], 1),
                    "the image positions must be -100 (ignored by the loss), not 0: with 0 the "
                    "model is trained to predict token 0 from every image patch":
                        torch.cat([torch.zeros(B, P, dtype=torch.long), caption_ids[:, 1:]], 1),
                })
        if got.dtype != torch.long:
            raise ExerciseError(f"the targets must be integer token ids (torch.long), got {got.dtype}")
    return "correct: -100 under the image prefix, then the caption shifted left by one"
