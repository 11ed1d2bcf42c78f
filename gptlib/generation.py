"""Turning a trained model into text: greedy, temperature, top-k and top-p sampling, with a KV cache.

Each step feeds only the newest token and reuses the keys and values the model computed for
the earlier ones (:class:`~gptlib.model.KVCache`). When the text outgrows the context window,
the window slides: the model re-reads the last ``block_size`` tokens, exactly as a full recompute.
"""
from __future__ import annotations

from typing import Iterator

import torch

from .model import GPT, KVCache


def filter_logits(logits: torch.Tensor, top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """Set to −inf every logit outside the top-k, and outside the smallest set whose probability ≥ top_p."""
    if top_k is not None:
        if top_k < 1:
            raise ValueError(f"top_k must be ≥ 1, got {top_k}")
        k = min(top_k, logits.size(-1))
        kth = torch.topk(logits, k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None:
        if not 0.0 < top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        cum = sorted_logits.softmax(-1).cumsum(-1)
        # drop a token if the tokens before it already reach top_p (always keep the first)
        drop_sorted = (cum - sorted_logits.softmax(-1)) >= top_p
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
    return torch.multinomial(probs, 1, generator=generator)


@torch.no_grad()
def generate_ids(model: GPT, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None, use_cache: bool = True,
                 generator: torch.Generator | None = None, stop_token: int | None = None) -> Iterator[torch.Tensor]:
    """Yield new token ids (B, 1) one at a time, continuing ``idx`` (B, T)."""
    block = model.config.block_size
    if idx.dim() == 1:
        idx = idx.unsqueeze(0)
    if idx.size(1) > block:
        raise ValueError(f"the prompt has {idx.size(1)} tokens but the model's context is {block}; "
                         f"shorten the prompt or keep only its last {block} tokens")
    if idx.size(1) == 0:
        raise ValueError("the prompt is empty; give at least one token")
    was_training = model.training
    model.eval()
    try:
        cache = KVCache(model.config.n_layer) if use_cache else None
        logits, _ = model(idx, cache=cache)
        for _ in range(max_new_tokens):
            nxt = next_token(logits[:, -1, :], temperature, top_k, top_p, generator)
            yield nxt
            if stop_token is not None and bool((nxt == stop_token).all()):
                return
            idx = torch.cat([idx, nxt], dim=1)
            if use_cache and cache.length < block:
                logits, _ = model(nxt, cache=cache)
            else:  # no cache, or the window is full: re-read the last block_size tokens
                window = idx[:, -block:]
                cache = KVCache(model.config.n_layer) if use_cache else None
                logits, _ = model(window, cache=cache)
    finally:
        model.train(was_training)


def generate(model: GPT, idx: torch.Tensor, max_new_tokens: int, **kwargs) -> torch.Tensor:
    """Return ``idx`` followed by ``max_new_tokens`` generated ids (see :func:`generate_ids`)."""
    if idx.dim() == 1:
        idx = idx.unsqueeze(0)
    new = list(generate_ids(model, idx, max_new_tokens, **kwargs))
    return torch.cat([idx] + new, dim=1) if new else idx


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
