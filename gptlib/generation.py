"""Turning a trained model into text: greedy, temperature, top-k and top-p sampling, with a KV cache.

Each step feeds only the newest token and reuses the keys and values the model computed for
the earlier ones (a preallocated :class:`~gptlib.model.KVCache`). When the text outgrows the
context window, the window slides: the model re-reads the last ``block_size`` tokens, exactly as
a full recompute would.

Prompts of unequal length go in one batch: they are **left-padded** (so every row's next token
is in the last column), the padding is masked out of attention, and each real token keeps the
position it would have alone. Each row stops on its own (end-of-text token, a stop string, or
``max_new_tokens``). Greedy batched output equals generating each prompt alone (tested).

Logit processors change the scores before sampling: :class:`RepetitionPenalty` (Keskar et al.,
2019) and :class:`AllowedTokens` (restrict the choice, e.g. to the label words of a few-shot
prompt).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import torch

from .model import GPT

LogitsProcessor = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


# ----------------------------------------------------------------------------------- sampling
def filter_logits(logits: torch.Tensor, top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """Set to −inf every logit outside the top-k, and outside the smallest set whose probability ≥ top_p."""
    if top_k is not None:
        if not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"top_k must be an int ≥ 1, got {top_k!r}")
        k = min(top_k, logits.size(-1))
        kth = torch.topk(logits, k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None:
        if not 0.0 < top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        probs = sorted_logits.softmax(-1)
        # drop a token if the tokens before it already reach top_p (always keep the first)
        drop_sorted = (probs.cumsum(-1) - probs) >= top_p
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def next_token(logits: torch.Tensor, temperature: float = 1.0, top_k=None, top_p=None,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Pick the next token id from the last position's logits (B, V) → (B, 1). temperature 0 = greedy."""
    if temperature < 0:
        raise ValueError(f"temperature must be ≥ 0, got {temperature}")
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    logits = filter_logits(logits.float() / temperature, top_k, top_p)
    probs = logits.softmax(dim=-1)
    if generator is not None and generator.device != probs.device:
        return torch.multinomial(probs.cpu(), 1, generator=generator).to(probs.device)
    return torch.multinomial(probs, 1, generator=generator)


# ---------------------------------------------------------------------------- logit processors
class RepetitionPenalty:
    """Make tokens already in a row's context less likely: a positive logit is divided by
    ``penalty``, a negative one multiplied by it (Keskar et al., 2019, CTRL). 1.0 = no change."""

    def __init__(self, penalty: float):
        if not penalty > 0:
            raise ValueError(f"penalty must be > 0 (1.0 = no change), got {penalty}")
        self.penalty = float(penalty)

    def __call__(self, ids: torch.Tensor, mask: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        seen = torch.zeros_like(logits, dtype=torch.bool)
        seen.scatter_(1, ids, mask.bool())          # padding (mask 0) does not count as seen
        penalised = torch.where(logits > 0, logits / self.penalty, logits * self.penalty)
        return torch.where(seen, penalised, logits)


class AllowedTokens:
    """Only these token ids may be chosen (e.g. the label words " positive" / " negative")."""

    def __init__(self, token_ids: Sequence[int]):
        ids = sorted({int(i) for i in token_ids})
        if not ids:
            raise ValueError("AllowedTokens needs at least one token id")
        self.token_ids = ids

    def __call__(self, ids: torch.Tensor, mask: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        if self.token_ids[-1] >= logits.size(-1) or self.token_ids[0] < 0:
            raise ValueError(f"AllowedTokens: ids must lie in 0..{logits.size(-1) - 1}")
        keep = torch.full_like(logits, float("-inf"))
        idx = torch.tensor(self.token_ids, device=logits.device)
        keep[:, idx] = 0.0
        return logits + keep


class FromContext:
    """Only tokens already in the row's context (its prompt and what it has generated), plus
    ``extra`` (e.g. the token that ends an answer): extractive decoding, as a reader that must
    answer with words of its passage. Padding (mask 0) does not count as context."""

    def __init__(self, extra: Sequence[int] = ()):
        self.extra = sorted({int(i) for i in extra})

    def __call__(self, ids: torch.Tensor, mask: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        if self.extra and (self.extra[-1] >= logits.size(-1) or self.extra[0] < 0):
            raise ValueError(f"FromContext: extra ids must lie in 0..{logits.size(-1) - 1}")
        counts = torch.zeros(logits.shape, dtype=torch.long, device=logits.device)
        counts.scatter_add_(1, ids, mask.long())         # duplicates add up; padding adds 0
        allowed = counts > 0
        allowed[:, self.extra] = True
        return logits.masked_fill(~allowed, float("-inf"))

# ------------------------------------------------------------------------------------ padding
def left_pad(prompts: Sequence[Sequence[int]], pad_id: int = 0, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Prompts of unequal length → (ids (B, T), attention_mask (B, T)), padded on the left."""
    if not prompts:
        raise ValueError("give at least one prompt")
    lengths = [len(p) for p in prompts]
    if min(lengths) == 0:
        raise ValueError(f"prompt {lengths.index(0)} is empty; give at least one token per prompt")
    T = max(lengths)
    ids = torch.full((len(prompts), T), int(pad_id), dtype=torch.long)
    mask = torch.zeros((len(prompts), T), dtype=torch.long)
    for i, p in enumerate(prompts):
        ids[i, T - len(p):] = torch.as_tensor(list(p), dtype=torch.long)
        mask[i, T - len(p):] = 1
    return ids.to(device), mask.to(device)


# ------------------------------------------------------------------------------- the core loop
def _check_max_new_tokens(n) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"max_new_tokens must be an int, got {type(n).__name__}")
    if n < 0:
        raise ValueError(f"max_new_tokens must be ≥ 0, got {n}")


@torch.no_grad()
def generate_ids(model: GPT, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None, use_cache: bool = True,
                 generator: torch.Generator | None = None, stop_token: int | None = None,
                 attention_mask: torch.Tensor | None = None,
                 processors: Sequence[LogitsProcessor] = ()) -> Iterator[torch.Tensor]:
    """Yield new token ids (B, 1) one step at a time, continuing ``idx`` (B, T).

    ``attention_mask`` (B, T) marks left padding (0); without it every token is real. Generation
    ends when ``max_new_tokens`` are out, or when every row has produced ``stop_token``.
    """
    _check_max_new_tokens(max_new_tokens)
    block = model.config.block_size
    if idx.dim() == 1:
        idx = idx.unsqueeze(0)
    if idx.size(1) > block:
        raise ValueError(f"the prompt has {idx.size(1)} tokens but the model's context is {block}; "
                         f"shorten the prompt or keep only its last {block} tokens")
    if idx.size(1) == 0:
        raise ValueError("the prompt is empty; give at least one token")
    device = next(model.parameters()).device
    idx = idx.to(device)
    mask = torch.ones_like(idx) if attention_mask is None else attention_mask.to(device).long()
    if mask.shape != idx.shape:
        raise ValueError(f"attention_mask shape {tuple(mask.shape)} must equal the prompt's {tuple(idx.shape)}")
    padded = attention_mask is not None and not bool(mask.all())
    was_training = model.training
    model.eval()

    def forward(ids, m, cache):
        return model(ids, attention_mask=m if padded else None, cache=cache).logits[:, -1, :]

    try:
        cache = model.new_cache() if use_cache else None
        logits = forward(idx, mask, cache)
        done = torch.zeros(idx.size(0), dtype=torch.bool, device=device)
        for _ in range(max_new_tokens):
            scores = logits.float()
            for proc in processors:
                scores = proc(idx, mask, scores)
            nxt = next_token(scores, temperature, top_k, top_p, generator)
            if stop_token is not None:
                nxt = nxt.masked_fill(done[:, None], stop_token)       # finished rows repeat the stop
                done |= nxt[:, 0] == stop_token
            yield nxt
            if stop_token is not None and bool(done.all()):
                return
            idx = torch.cat([idx, nxt], dim=1)
            mask = torch.cat([mask, torch.ones_like(nxt)], dim=1)
            if use_cache and cache.length < block:
                logits = forward(nxt, mask, cache)
            else:  # no cache, or the window is full: re-read the last block_size tokens
                idx, mask = idx[:, -block:], mask[:, -block:]
                padded = padded and not bool(mask.all())
                cache = model.new_cache() if use_cache else None
                logits = forward(idx, mask, cache)
    finally:
        model.train(was_training)


def generate(model: GPT, idx: torch.Tensor, max_new_tokens: int, **kwargs) -> torch.Tensor:
    """Return ``idx`` followed by ``max_new_tokens`` generated ids (see :func:`generate_ids`)."""
    if idx.dim() == 1:
        idx = idx.unsqueeze(0)
    new = list(generate_ids(model, idx, max_new_tokens, **kwargs))
    idx = idx.to(next(model.parameters()).device)
    return torch.cat([idx] + new, dim=1) if new else idx


# ----------------------------------------------------------------------------- batched, padded
@dataclass
class Generation:
    """One prompt's result from :func:`generate_batch`."""
    ids: list[int]                     # the new tokens (without the stop token or stop string's tail)
    text: str | None = None            # decoded, when a tokenizer was given
    finish_reason: str = "length"      # "length" | "eos" | "stop"


def generate_batch(model: GPT, prompts: Sequence, max_new_tokens: int, *, tokenizer=None,
                   temperature: float = 0.0, top_k: int | None = None, top_p: float | None = None,
                   eos_id: int | None = None, stop: Sequence[str] = (), pad_id: int = 0,
                   processors: Sequence[LogitsProcessor] = (), use_cache: bool = True,
                   generator: torch.Generator | None = None) -> list[Generation]:
    """Generate for several prompts at once; each row stops on its own.

    ``prompts``: lists of token ids, or strings (then ``tokenizer`` encodes them). A row stops at
    ``eos_id``, at the first of the ``stop`` strings (needs ``tokenizer``; the text is cut before
    it), or after ``max_new_tokens``. Default: greedy (``temperature=0``).
    """
    _check_max_new_tokens(max_new_tokens)
    if isinstance(prompts, (str, bytes)) or not isinstance(prompts, Sequence):
        raise TypeError("prompts must be a list of prompts (strings or lists of token ids)")
    if stop and tokenizer is None:
        raise ValueError("stop strings need a tokenizer to decode the output; pass tokenizer=")
    encoded = []
    for i, p in enumerate(prompts):
        if isinstance(p, str):
            if tokenizer is None:
                raise ValueError(f"prompt {i} is a string; pass tokenizer= to encode it, or give token ids")
            p = tokenizer.encode(p)
        encoded.append([int(t) for t in p])
    device = next(model.parameters()).device
    ids, mask = left_pad(encoded, pad_id, device)
    n = len(encoded)
    out: list[list[int]] = [[] for _ in range(n)]
    reasons = ["length"] * n
    active = [True] * n
    texts: list[str | None] = [None] * n
    if max_new_tokens:
        for step in generate_ids(model, ids, max_new_tokens, temperature=temperature, top_k=top_k, top_p=top_p,
                                 use_cache=use_cache, generator=generator, stop_token=eos_id,
                                 attention_mask=mask, processors=processors):
            for r in range(n):
                if not active[r]:
                    continue
                t = int(step[r, 0])
                if eos_id is not None and t == eos_id:
                    active[r], reasons[r] = False, "eos"
                    continue
                out[r].append(t)
                if stop:
                    text = tokenizer.decode(out[r])
                    hit = [text.find(s) for s in stop if s in text]
                    if hit:
                        active[r], reasons[r] = False, "stop"
                        texts[r] = text[:min(hit)]
            if not any(active):
                break
    results = []
    for r in range(n):
        text = texts[r] if texts[r] is not None else (tokenizer.decode(out[r]) if tokenizer is not None else None)
        results.append(Generation(out[r], text, reasons[r]))
    return results


# ---------------------------------------------------------------------------------- streaming
def stream(model: GPT, tokenizer, prompt: str, max_new_tokens: int = 200, **kwargs) -> Iterator[str]:
    """Yield text as it is generated. Pieces are emitted once they decode to whole characters."""
    device = next(model.parameters()).device
    ids = torch.tensor([tokenizer.encode(prompt)], dtype=torch.long, device=device)
    pending: list[int] = []
    for tok in generate_ids(model, ids, max_new_tokens, **kwargs):
        pending.append(int(tok[0, 0]))
        text = tokenizer.decode(pending)
        if "\ufffd" not in text:       # a multi-byte character may span several BPE tokens
            yield text
            pending = []
    if pending:
        yield tokenizer.decode(pending)


def complete(model: GPT, tokenizer, prompt: str, max_new_tokens: int = 200, **kwargs) -> str:
    """The prompt's continuation as one string."""
    return "".join(stream(model, tokenizer, prompt, max_new_tokens, **kwargs))
