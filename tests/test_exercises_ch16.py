"""Chapter 16's exercise checks accept the reference solutions and name the typical mistakes."""
import math

import pytest
import torch

from gptlib import exercises, metrics
from gptlib.exercises import ExerciseError


# ---------------------------------------------------------- ex1: hit-rate@k and NDCG@k
def ranks_of(scores, target, seen, exclude=True):
    s = scores.masked_fill(seen, -math.inf) if exclude else scores
    return 1 + (s > s.gather(1, target[:, None])).sum(1)


def hit_ndcg_ok(scores, target, seen, k):
    rank = ranks_of(scores, target, seen)
    hit = (rank <= k).double()
    ndcg = torch.where(rank <= k, 1 / torch.log2(rank.double() + 1), torch.zeros_like(hit))
    return hit.mean().item(), ndcg.mean().item()


def hit_ndcg_library(scores, target, seen, k):             # a second correct solution
    s = scores.masked_fill(seen, -math.inf)
    top = s.topk(k, dim=1).indices.tolist()
    return (metrics.hit_rate_at_k(top, target.tolist(), k),
            metrics.ndcg_at_k(top, target.tolist(), k))


def hit_ndcg_no_exclusion(scores, target, seen, k):
    return hit_ndcg_ok(scores, target, torch.zeros_like(seen), k)


def hit_ndcg_natural_log(scores, target, seen, k):
    rank = ranks_of(scores, target, seen)
    gain = torch.where(rank <= k, 1 / torch.log(rank.double() + 1), torch.zeros(rank.shape).double())
    return (rank <= k).double().mean().item(), gain.mean().item()


def hit_ndcg_off_by_one(scores, target, seen, k):
    rank = ranks_of(scores, target, seen)
    gain = torch.where(rank <= k, 1 / torch.log2(rank.double() + 2), torch.zeros(rank.shape).double())
    return (rank <= k).double().mean().item(), gain.mean().item()


def hit_ndcg_no_cutoff(scores, target, seen, k):
    rank = ranks_of(scores, target, seen)
    return (rank <= k).double().mean().item(), (1 / torch.log2(rank.double() + 1)).mean().item()


def hit_strict(scores, target, seen, k):
    rank = ranks_of(scores, target, seen)
    return (rank < k).double().mean().item(), hit_ndcg_ok(scores, target, seen, k)[1]


@pytest.mark.parametrize("fn", [hit_ndcg_ok, hit_ndcg_library])
def test_ex1_accepts_solutions(fn):
    assert "correct" in exercises.check("ch16-ex1", fn)


@pytest.mark.parametrize("fn, words", [
    (hit_ndcg_no_exclusion, "exclude the already-seen"),
    (hit_ndcg_natural_log, "natural logarithm"),
    (hit_ndcg_off_by_one, "off by one"),
    (hit_ndcg_no_cutoff, "earn 0"),
    (hit_strict, "rank <= k"),
    (lambda s, t, m, k: None, "returned None"),
    (lambda s, t, m, k: 0.5, "pair"),
])
def test_ex1_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch16-ex1", fn)


def test_ex1_attempt_never_raises(capsys):
    def todo(scores, target, seen, k):
        raise NotImplementedError
    assert exercises.attempt("ch16-ex1", todo) is False
    assert "your turn" in capsys.readouterr().out


# ------------------------------------------------------------- ex2: captioning targets
def targets_ok(caption_ids, n_prefix):
    B = caption_ids.size(0)
    return torch.cat([torch.full((B, n_prefix), -100), caption_ids[:, 1:]], dim=1)


def targets_unshifted(caption_ids, n_prefix):
    B = caption_ids.size(0)
    return torch.cat([torch.full((B, n_prefix), -100), caption_ids[:, :-1]], dim=1)


def targets_zero_prefix(caption_ids, n_prefix):
    B = caption_ids.size(0)
    return torch.cat([torch.zeros(B, n_prefix, dtype=torch.long), caption_ids[:, 1:]], dim=1)


def targets_float(caption_ids, n_prefix):
    return targets_ok(caption_ids, n_prefix).float()


def test_ex2_accepts_solution():
    assert "correct" in exercises.check("ch16-ex2", targets_ok)


@pytest.mark.parametrize("fn, words", [
    (targets_unshifted, "not shifted"),
    (targets_zero_prefix, "must be -100"),
    (targets_float, "dtype"),
    (lambda c, p: c, "shape"),
])
def test_ex2_names_the_mistake(fn, words):
    with pytest.raises(ExerciseError, match=words):
        exercises.check("ch16-ex2", fn)
