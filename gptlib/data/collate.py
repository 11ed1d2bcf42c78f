"""Turning examples of different lengths into one rectangular batch: padding, masks and loss targets.

Rules, the same everywhere in this module:

* **Padding** fills each row up to the longest row of the batch with ``pad_id``, after the tokens
  (``side="right"``) or before them (``side="left"``; then the last column holds every row's last
  token, which is what generation and last-token classification want).
* **The attention mask** is 1 on real tokens and 0 on padding. It is built from the positions, not
  from the values, so ``pad_id`` may be a real token id (GPT-2 books often pad with ``<|endoftext|>``).
* **Truncation**: with ``max_len`` set, a row longer than ``max_len`` keeps its first ``max_len``
  tokens (the end is cut), whichever side is padded. :func:`collate_causal_lm` cuts the joined
  prompt + response the same way, so the prompt is kept and the response is shortened.
* **Ignored targets** are ``IGNORE_INDEX = -100``, the value ``torch.nn.functional.cross_entropy``
  skips by default.

Every bad input raises ``ValueError`` or ``TypeError`` naming the argument and saying what to pass.
"""
from __future__ import annotations

import numbers

import torch

IGNORE_INDEX = -100
SIDES = ("right", "left")


def _check_common(pad_id, side, max_len) -> None:
    if isinstance(pad_id, bool) or not isinstance(pad_id, numbers.Integral):
        raise TypeError(f"pad_id must be an int token id, got {type(pad_id).__name__}")
    if pad_id < 0:
        raise ValueError(f"pad_id must be a token id >= 0, got {pad_id}; use e.g. the tokenizer's "
                         "end-of-text id (the attention mask marks padding, not the id)")
    if side not in SIDES:
        raise ValueError(f"side must be 'right' or 'left', got {side!r}")
    if max_len is not None:
        if isinstance(max_len, bool) or not isinstance(max_len, numbers.Integral):
            raise TypeError(f"max_len must be an int or None, got {type(max_len).__name__}")
        if max_len < 1:
            raise ValueError(f"max_len must be >= 1 (or None for no limit), got {max_len}")


def _as_ids(seq, what: str, allow_empty: bool = False) -> list[int]:
    """A sequence of token ids as a list of ints, or a clear error naming ``what``."""
    if isinstance(seq, torch.Tensor):
        if seq.dim() != 1:
            raise ValueError(f"{what} must be 1-D, got a tensor of shape {tuple(seq.shape)}")
        if seq.dtype.is_floating_point or seq.dtype.is_complex or seq.dtype == torch.bool:
            raise TypeError(f"{what} must hold integer token ids, got dtype {seq.dtype}; "
                            "encode text with a tokenizer first")
        ids = seq.tolist()
    elif isinstance(seq, (str, bytes)):
        raise TypeError(f"{what} is a {type(seq).__name__}; pass token ids (tokenizer.encode(text))")
    else:
        try:
            ids = list(seq)
        except TypeError:
            raise TypeError(f"{what} must be a list or 1-D tensor of token ids, "
                            f"got {type(seq).__name__}") from None
        for j, t in enumerate(ids):
            if isinstance(t, bool) or not isinstance(t, numbers.Integral):
                raise TypeError(f"{what}[{j}] is {t!r} ({type(t).__name__}); token ids must be ints")
        ids = [int(t) for t in ids]
    if not ids and not allow_empty:
        raise ValueError(f"{what} is empty; every example needs at least one token")
    negative = [t for t in ids if t < 0]
    if negative:
        raise ValueError(f"{what} holds negative token id {negative[0]}; token ids are >= 0")
    return ids


def _check_batch(batch, what: str) -> list:
    if isinstance(batch, (str, bytes)) or not hasattr(batch, "__len__"):
        raise TypeError(f"{what} must be a list of examples, got {type(batch).__name__}")
    batch = list(batch)
    if not batch:
        raise ValueError(f"{what} is empty; pass at least one example")
    return batch


def _pad_rows(rows: list[list[int]], fill: int, side: str, width: int) -> torch.Tensor:
    out = torch.full((len(rows), width), fill, dtype=torch.long)
    for b, row in enumerate(rows):
        if row:
            if side == "right":
                out[b, :len(row)] = torch.tensor(row, dtype=torch.long)
            else:
                out[b, width - len(row):] = torch.tensor(row, dtype=torch.long)
    return out


def _mask(lengths: list[int], side: str, width: int) -> torch.Tensor:
    pos = torch.arange(width)[None, :]
    n = torch.tensor(lengths, dtype=torch.long)[:, None]
    real = pos < n if side == "right" else pos >= width - n
    return real.long()


def pad_sequences(seqs, pad_id: int, side: str = "right",
                  max_len: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad token-id sequences into ``(ids, attention_mask)``, both LongTensors of shape (B, T).

    T is the longest row after truncation to ``max_len``; ``attention_mask`` is 1 on real tokens
    and 0 on padding. See the module docstring for the padding and truncation rules.
    """
    _check_common(pad_id, side, max_len)
    seqs = _check_batch(seqs, "seqs")
    rows = [_as_ids(s, f"seqs[{b}]") for b, s in enumerate(seqs)]
    if max_len is not None:
        rows = [r[:max_len] for r in rows]
    width = max(len(r) for r in rows)
    lengths = [len(r) for r in rows]
    return _pad_rows(rows, pad_id, side, width), _mask(lengths, side, width)


def collate_classification(batch, pad_id: int, side: str = "right",
                           max_len: int | None = None) -> dict[str, torch.Tensor]:
    """A batch of ``(ids, label)`` pairs → ``{"input_ids", "attention_mask"}`` (B, T) and
    ``{"labels"}`` (B,), all LongTensors. Labels are class indices >= 0."""
    _check_common(pad_id, side, max_len)
    batch = _check_batch(batch, "batch")
    seqs, labels = [], []
    for b, example in enumerate(batch):
        if not isinstance(example, (tuple, list)) or len(example) != 2:
            raise TypeError(f"batch[{b}] must be an (ids, label) pair, got {type(example).__name__}")
        ids, label = example
        if isinstance(label, torch.Tensor) and label.dim() == 0 and not label.dtype.is_floating_point:
            label = int(label)
        if isinstance(label, bool) or not isinstance(label, numbers.Integral):
            raise TypeError(f"batch[{b}] label is {label!r} ({type(label).__name__}); labels must be "
                            "int class indices (map names to 0, 1, ... first)")
        if label < 0:
            raise ValueError(f"batch[{b}] label is {label}; class indices are >= 0")
        seqs.append(_as_ids(ids, f"batch[{b}] ids"))
        labels.append(int(label))
    input_ids, attention_mask = pad_sequences(seqs, pad_id, side=side, max_len=max_len)
    return {"input_ids": input_ids, "attention_mask": attention_mask,
            "labels": torch.tensor(labels, dtype=torch.long)}


def collate_causal_lm(batch, pad_id: int, mask_prompt: bool = True, max_len: int | None = None,
                      side: str = "right") -> dict[str, torch.Tensor]:
    """A batch of ``(prompt_ids, response_ids)`` pairs → next-token training tensors (B, T):

    * ``input_ids``: the joined sequence s = prompt + response without its last token, s[:-1];
    * ``targets``: the same sequence shifted left by one, s[1:], so ``targets[b, t]`` is the token
      that follows ``input_ids[b, t]``; ``-100`` wherever the loss must not look: at padding, and,
      with ``mask_prompt``, wherever the target is still a prompt token (the first target counted
      is the first response token);
    * ``attention_mask``: 1 on real input tokens, 0 on padding.

    ``max_len`` caps T: s is cut to its first ``max_len + 1`` tokens (prompt kept, response
    shortened). A row left with no target to learn raises ``ValueError``. The prompt may be empty
    (plain language modelling); the response may not.
    """
    _check_common(pad_id, side, max_len)
    if not isinstance(mask_prompt, bool):
        raise TypeError(f"mask_prompt must be True or False, got {mask_prompt!r}")
    batch = _check_batch(batch, "batch")
    inputs, targets = [], []
    for b, example in enumerate(batch):
        if not isinstance(example, (tuple, list)) or len(example) != 2:
            raise TypeError(f"batch[{b}] must be a (prompt_ids, response_ids) pair, got {type(example).__name__}")
        prompt = _as_ids(example[0], f"batch[{b}] prompt_ids", allow_empty=True)
        response = _as_ids(example[1], f"batch[{b}] response_ids")
        seq = prompt + response
        if len(seq) < 2:
            raise ValueError(f"batch[{b}] has {len(seq)} token in all; next-token training needs at least 2")
        if max_len is not None:
            seq = seq[:max_len + 1]
        x, y = seq[:-1], seq[1:]
        if mask_prompt:
            # y[t] is seq[t + 1]: a prompt token while t + 1 < len(prompt)
            n_prompt_targets = min(max(len(prompt) - 1, 0), len(y))
            y = [IGNORE_INDEX] * n_prompt_targets + y[n_prompt_targets:]
        if all(t == IGNORE_INDEX for t in y):
            raise ValueError(f"batch[{b}]: with max_len={max_len} no response token is left to train on "
                             f"(prompt of {len(prompt)} tokens); raise max_len or shorten the prompt")
        inputs.append(x)
        targets.append(y)
    width = max(len(x) for x in inputs)
    lengths = [len(x) for x in inputs]
    return {"input_ids": _pad_rows(inputs, pad_id, side, width),
            "targets": _pad_rows(targets, IGNORE_INDEX, side, width),
            "attention_mask": _mask(lengths, side, width)}
