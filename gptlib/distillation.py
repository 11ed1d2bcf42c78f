"""Knowledge distillation and speculative decoding: a small model learning from, and drafting for, a large one.

* :func:`distillation_loss` is Hinton et al.'s (2015) loss: the student matches the teacher's
  *softened* distribution (temperature T), mixed with the ordinary hard-label cross-entropy.
* :func:`speculative_generate` is speculative sampling (Leviathan et al., 2023; Chen et al., 2023):
  the small model drafts ``k`` tokens, the large one checks them all in one forward pass, and an
  accept/reject rule keeps the output distribution exactly the large model's. Greedy output equals
  :func:`gptlib.generation.generate` with ``temperature=0`` (tested).
* :func:`expected_speedup` is Leviathan et al.'s formula for what to expect from it, given the
  acceptance rate and the cost ratio of the two models.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .model import GPT

IGNORE_INDEX = -100


# ------------------------------------------------------------------------------ distillation
def soften(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """softmax(z / T) over the last dimension: T > 1 flattens the distribution, T → 0 makes it one-hot."""
    _check_temperature(temperature, allow_zero=False)
    return (logits.float() / temperature).softmax(dim=-1)


def _check_temperature(t, allow_zero: bool) -> None:
    if isinstance(t, bool) or not isinstance(t, (int, float)) or math.isnan(t) or math.isinf(t):
        raise ValueError(f"temperature must be a finite number, got {t!r}")
    if t < 0 or (t == 0 and not allow_zero):
        need = "≥ 0 (0 = greedy)" if allow_zero else "> 0"
        raise ValueError(f"temperature must be {need}, got {t}")


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                      labels: torch.Tensor | None = None, temperature: float = 2.0,
                      alpha: float = 0.5) -> torch.Tensor:
    r"""Hinton et al.'s distillation loss, averaged over the positions that count:

    .. math::

        \mathcal{L} = \alpha\, T^2\, \mathrm{KL}\big(p^{(T)} \,\|\, q^{(T)}\big)
                      + (1-\alpha)\, \mathrm{CE}(s, y),
        \qquad p^{(T)} = \mathrm{softmax}(t/T),\; q^{(T)} = \mathrm{softmax}(s/T),

    with :math:`\mathrm{KL}(p\|q) = \sum_v p_v(\log p_v - \log q_v)` summed over the classes (or
    the vocabulary) and averaged over positions, and :math:`\mathrm{CE}(s, y) = -\log
    \mathrm{softmax}(s)_y` at temperature 1. The factor :math:`T^2` keeps the soft term's
    gradients the same size whatever T: they scale as :math:`1/T^2` otherwise.

    ``student_logits`` and ``teacher_logits``: (..., K), e.g. (B, K) for a classifier or (B, T, V)
    for a language model. ``labels``: (...) class ids, ``-100`` where a position does not count
    (for either term). Without ``labels`` there is no hard-label term and the loss is the soft
    term alone, :math:`T^2\,\mathrm{KL}` (``alpha`` is then not used). The teacher gets no
    gradient. Equals ``alpha * T**2 * F.kl_div(log q, p, reduction="batchmean") + (1 - alpha) *
    F.cross_entropy(s, y)`` over the flattened positions (``tests/test_distillation.py``).
    """
    if not isinstance(student_logits, torch.Tensor) or not isinstance(teacher_logits, torch.Tensor):
        raise TypeError("student_logits and teacher_logits must be tensors of logits (..., classes)")
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f"student_logits {tuple(student_logits.shape)} and teacher_logits "
                         f"{tuple(teacher_logits.shape)} must have the same shape: same batch, same "
                         "positions, same classes (or vocabulary)")
    if student_logits.dim() < 1 or student_logits.size(-1) < 2:
        raise ValueError(f"logits need a class dimension of size ≥ 2 last, got {tuple(student_logits.shape)}")
    _check_temperature(temperature, allow_zero=False)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha (the soft term's weight) must lie in [0, 1], got {alpha!r}")
    K = student_logits.size(-1)
    # float32 at least (bf16 / fp16 logits are upcast); float64 stays float64
    dt = torch.float64 if student_logits.dtype == torch.float64 else torch.float32
    s = student_logits.to(dt).reshape(-1, K)                      # (N, K)
    t = teacher_logits.detach().to(dt).reshape(-1, K)
    keep = None
    if labels is not None:
        if not isinstance(labels, torch.Tensor) or labels.shape != student_logits.shape[:-1]:
            got = tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__
            raise ValueError(f"labels must have shape {tuple(student_logits.shape[:-1])} (the logits "
                             f"without their last dimension), got {got}")
        y = labels.reshape(-1).long()
        keep = y != IGNORE_INDEX
        if not bool(keep.any()):
            raise ValueError("every label is -100: no position counts, so there is no loss to compute")
        counted = y[keep]
        if int(counted.min()) < 0 or int(counted.max()) >= K:
            raise ValueError(f"labels must lie in 0..{K - 1} (or be -100), got "
                             f"{int(counted.min())}..{int(counted.max())}")
        s, t, y = s[keep], t[keep], counted
    elif alpha == 0:
        raise ValueError("alpha=0 keeps only the hard-label term, which needs labels")
    log_q = F.log_softmax(s / temperature, dim=-1)
    log_p = F.log_softmax(t / temperature, dim=-1)
    kl = (log_p.exp() * (log_p - log_q)).sum(-1).mean()           # KL(p‖q) per position, averaged
    soft = temperature ** 2 * kl
    if labels is None:
        return soft
    hard = F.cross_entropy(s, y)
    return alpha * soft + (1 - alpha) * hard


# ---------------------------------------------------------------------- speculative decoding
@dataclass
class SpeculativeStats:
    """What :func:`speculative_generate` did.

    ``drafted``: tokens the draft proposed; ``verified``: those the target judged (up to and
    including the first rejection of each round: the rest of a rejected draft is thrown away
    unjudged); ``accepted``: those kept. ``rounds``: draft-then-verify rounds, one target forward
    pass each; ``target_calls`` / ``draft_calls``: forward passes of each model.
    ``beta_sum``: over the judged positions, the sum of the probability that the draft's token is
    accepted there, β = Σ_v min(p_v, q_v) (1 or 0 for greedy).
    """
    new_tokens: int = 0
    rounds: int = 0
    drafted: int = 0
    verified: int = 0
    accepted: int = 0
    target_calls: int = 0
    draft_calls: int = 0
    beta_sum: float = 0.0

    @property
    def acceptance_rate(self) -> float:
        """accepted / verified: the estimate of Leviathan et al.'s α (a drafted token's chance to be kept)."""
        return self.accepted / self.verified if self.verified else float("nan")

    @property
    def mean_beta(self) -> float:
        """The mean of β = Σ_v min(p_v, q_v) over the judged positions: another estimate of α."""
        return self.beta_sum / self.verified if self.verified else float("nan")

    @property
    def tokens_per_round(self) -> float:
        """New tokens per target forward pass (1 without speculation)."""
        return self.new_tokens / self.rounds if self.rounds else float("nan")


class _Reader:
    """One model reading a growing sequence through its KV cache, which can be cut back.

    The cache holds the keys and values of ``self.ids`` (the tokens it has read). When the
    sequence changes after some position (a rejected draft), the cache is cut back to the common
    prefix by lowering ``cache.length``: the entries before it are still exact, because causal
    attention makes position i's keys and values depend on tokens 0..i only, and
    :meth:`gptlib.model.KVCache.update` writes the next tokens from ``length`` on, over the stale
    ones. Past the context window the positions shift at every token, so the model re-reads the
    last ``block_size`` tokens without a cache, as :func:`gptlib.generation.generate` does (the
    target reads a round's k + 1 windows as one batch).
    """

    def __init__(self, model: GPT):
        self.model = model
        self.block = model.config.block_size
        self.cache = model.new_cache()
        self.ids: list[int] = []
        self.calls = 0

    def logits(self, seq: list[int], m: int, device) -> torch.Tensor:
        """Logits (m, V) at the last ``m`` positions of ``seq``: the next-token scores after
        seq[:L-m+1], ..., seq[:L], each read as :func:`~gptlib.generation.generate` reads it (the
        whole prefix, or its last ``block_size`` tokens once it is longer)."""
        L = len(seq)
        self.calls += 1
        if L > self.block:
            # Past the window each position has its own window: score them as one batch of m rows.
            ends = range(L - m + 1, L + 1)
            if ends[0] < self.block:
                raise ValueError("score positions inside and past the context window in separate calls")
            x = torch.tensor([seq[e - self.block:e] for e in ends], dtype=torch.long, device=device)
            self.ids, self.cache = [], self.model.new_cache()
            return self.model(x).logits[:, -1].float()
        common = 0
        for a, b in zip(self.ids, seq):
            if a != b:
                break
            common += 1
        keep = min(common, L - m)                 # feed at least the m positions we need scored
        self.cache.length = keep                  # cut back: drop what no longer matches
        x = torch.tensor([seq[keep:]], dtype=torch.long, device=device)
        out = self.model(x, cache=self.cache).logits[0, -m:].float()
        self.ids = list(seq)
        return out


def _draw(probs: torch.Tensor, generator: torch.Generator | None) -> int:
    """One sample from a probability vector (V,), using ``generator`` on its own device."""
    if generator is not None and generator.device != probs.device:
        probs = probs.cpu()
    return int(torch.multinomial(probs, 1, generator=generator))


def _uniform(generator: torch.Generator | None) -> float:
    dev = generator.device if generator is not None else "cpu"
    return float(torch.rand((), generator=generator, device=dev))


@torch.no_grad()
def speculative_generate(target: GPT, draft: GPT, idx: torch.Tensor, max_new_tokens: int, k: int = 4,
                         temperature: float = 0.0,
                         generator: torch.Generator | None = None) -> tuple[torch.Tensor, SpeculativeStats]:
    r"""Continue ``idx`` by ``max_new_tokens`` tokens of ``target``, with ``draft`` proposing them.

    Each round the draft proposes ``k`` tokens :math:`d_1..d_k`, one at a time (sampled from its
    distributions :math:`q_i`, or its argmax for ``temperature=0``); the target scores the
    prefix with all of them in **one** forward pass, giving :math:`p_1..p_{k+1}`. Then, for
    i = 1..k: keep :math:`d_i` with probability :math:`\min(1, p_i(d_i)/q_i(d_i))`; at the first
    rejection, replace it by a sample from the residual :math:`\mathrm{norm}(\max(0, p_i - q_i))`
    and end the round; if all k are kept, add a sample from :math:`p_{k+1}`. A round yields
    1 to k+1 tokens for one target pass (the last round drafts no more than is still needed).

    **The output is distributed exactly as the target's own sampling** (Leviathan et al. 2023,
    Theorem 3.5; Chen et al. 2023): the chance of emitting x is
    :math:`q(x)\min(1, p(x)/q(x)) + (1-\beta)\,\frac{\max(0, p(x)-q(x))}{1-\beta} = p(x)`,
    where :math:`\beta = \sum_v \min(p_v, q_v)` is the chance of acceptance. With
    ``temperature=0`` both distributions are one-hot at the argmax, the rule keeps a drafted token
    iff it is the target's argmax, and the output equals ``generate(target, idx, n,
    temperature=0)`` (up to floating-point ties between two logits).

    KV caches: each model keeps its cache across rounds and cuts it back to the accepted prefix
    after a rejection (see :class:`_Reader`), so the target reads each token once plus the rejected
    drafts. Past the target's context window no cache helps (every position shifts); the target
    then reads the k + 1 windows of a round as one batch, still one forward pass.
    One sequence at a time: ``idx`` is (T,) or (1, T). Returns ``(ids (1, T + max_new_tokens),
    stats)``.
    """
    for name, m in (("target", target), ("draft", draft)):
        if not isinstance(m, GPT):
            raise TypeError(f"{name} must be a gptlib.GPT, got {type(m).__name__}")
    if target.config.vocab_size != draft.config.vocab_size:
        raise ValueError(f"the draft's vocabulary ({draft.config.vocab_size}) must be the target's "
                         f"({target.config.vocab_size}): both must read the same tokenizer's ids")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k (tokens drafted per round) must be an int ≥ 1, got {k!r}")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be an int ≥ 0, got {max_new_tokens!r}")
    _check_temperature(temperature, allow_zero=True)
    if not isinstance(idx, torch.Tensor) or idx.dim() not in (1, 2) or (idx.dim() == 2 and idx.size(0) != 1):
        shape = tuple(idx.shape) if isinstance(idx, torch.Tensor) else type(idx).__name__
        raise ValueError(f"idx must be one prompt of token ids, shape (T,) or (1, T), got {shape}; "
                         "speculative decoding here handles one sequence at a time")
    idx = idx.reshape(1, -1)
    if idx.size(1) == 0:
        raise ValueError("the prompt is empty; give at least one token")
    if idx.size(1) > target.config.block_size:
        raise ValueError(f"the prompt has {idx.size(1)} tokens but the target's context is "
                         f"{target.config.block_size}; keep only its last {target.config.block_size} tokens")
    device = next(target.parameters()).device
    draft_device = next(draft.parameters()).device
    seq = [int(t) for t in idx[0].tolist()]
    V = target.config.vocab_size
    if min(seq) < 0 or max(seq) >= V:
        raise ValueError(f"token ids must lie in 0..{V - 1} (the models' vocabulary)")
    greedy = temperature == 0
    stats = SpeculativeStats()
    modes = (target.training, draft.training)
    target.eval(), draft.eval()
    tgt, drf = _Reader(target), _Reader(draft)

    def probs(logits):                          # (..., V) → probabilities at this temperature
        return logits.softmax(-1) if not greedy else F.one_hot(logits.argmax(-1), V).float()

    def pick(p):                                # a token from a probability vector
        return int(p.argmax()) if greedy else _draw(p, generator)

    try:
        goal = len(seq) + max_new_tokens
        block = target.config.block_size
        while len(seq) < goal:
            n = len(seq)
            # draft what is still needed; a round stays either inside the window or past it
            kk = min(k, goal - n) if n >= block else min(k, goal - n, block - n)
            stats.rounds += 1
            drafts, qs = [], []
            for _ in range(kk):
                q = probs(drf.logits(seq + drafts, 1, draft_device)[0].to(device) / (temperature or 1.0))
                drafts.append(pick(q))
                qs.append(q)
            ps = probs(tgt.logits(seq + drafts, kk + 1, device) / (temperature or 1.0))   # (kk+1, V)
            stats.drafted += kk
            new = []
            for i, d in enumerate(drafts):
                p_i, q_i = ps[i], qs[i]
                stats.verified += 1
                stats.beta_sum += float(torch.minimum(p_i, q_i).sum())
                if greedy:
                    ok = int(p_i.argmax()) == d
                else:
                    ok = _uniform(generator) * float(q_i[d]) < float(p_i[d])
                if ok:
                    new.append(d)
                    stats.accepted += 1
                    continue
                residual = (p_i - q_i).clamp(min=0)
                # (p == q up to rounding: a rejection had probability ~0; then p itself is the residual)
                new.append(pick(residual / residual.sum() if float(residual.sum()) > 0 else p_i))
                break
            else:
                if n + kk < goal:               # all kept: the target's own next token comes free
                    new.append(pick(ps[kk]))
            seq += new
    finally:
        target.train(modes[0]), draft.train(modes[1])
    stats.target_calls, stats.draft_calls = tgt.calls, drf.calls
    stats.new_tokens = len(seq) - idx.size(1)
    return torch.tensor([seq], dtype=torch.long, device=device), stats


def expected_tokens_per_round(alpha: float, k: int) -> float:
    """Leviathan et al.'s (2023) expected tokens per round, (1 − α^(k+1)) / (1 − α), for a
    per-token acceptance rate α (taken as the same at every position) and k drafted tokens."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha (the acceptance rate) must lie in [0, 1], got {alpha}")
    if alpha == 1.0:
        return float(k + 1)
    return (1 - alpha ** (k + 1)) / (1 - alpha)


def expected_speedup(alpha: float, k: int, c: float) -> float:
    """Leviathan et al.'s (2023, Theorem 3.8) expected wall-clock speed-up over the target alone:
    (1 − α^(k+1)) / ((1 − α)(k·c + 1)), where c is the time of one draft forward pass divided by
    one target pass. It assumes that the target scores k + 1 tokens in the time it takes for one
    (true when decoding is memory-bound, as on a GPU; not on a busy CPU)."""
    if c < 0:
        raise ValueError(f"c (draft cost / target cost) must be ≥ 0, got {c}")
    return expected_tokens_per_round(alpha, k) / (k * c + 1)
