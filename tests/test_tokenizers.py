"""Tokenizers round-trip, work offline, and match published encodings."""
import socket

import pytest
import tiktoken.registry

from gptlib.tokenizers import BPETokenizer, CharTokenizer, CompactVocab, from_dict

SAMPLES = ["Hello, world! The quick brown fox.", "中文文本也可以。", "def f(x):\n    return x ** 2\n", "naïve café — 3.14"]


def test_char_round_trip_and_unknown_character():
    tok = CharTokenizer.from_text("hello world")
    assert tok.decode(tok.encode("hello")) == "hello"
    assert tok.vocab_size == len(set("hello world"))
    with pytest.raises(ValueError, match="not in this tokenizer's vocabulary"):
        tok.encode("hello!")


def block_network(monkeypatch):
    """Any attempt to open a connection raises, so a test passes only if it needs no network."""
    def refuse(*args, **kwargs):
        raise OSError("this test must not touch the network")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("name", ["gpt2", "cl100k_base"])
def test_bpe_round_trip_offline(name, monkeypatch):
    monkeypatch.setenv("GPTLIB_OFFLINE", "1")
    block_network(monkeypatch)
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})   # load the files afresh, not from memory
    with pytest.raises(OSError, match="must not touch the network"):
        socket.create_connection(("example.com", 80))          # the block is in place
    tok = BPETokenizer(name)
    for s in SAMPLES:
        assert tok.decode(tok.encode(s)) == s


def test_gpt2_known_encoding():
    tok = BPETokenizer("gpt2")
    assert tok.vocab_size == 50257 and tok.eot == 50256
    assert tok.encode("Hello, world! The quick brown fox.") == [15496, 11, 995, 0, 383, 2068, 7586, 21831, 13]


def test_cl100k_is_gpt4s_tokenizer():
    tok = BPETokenizer("cl100k_base")
    assert tok.vocab_size == 100277
    assert tok.encode("hello world") == [15339, 1917]


def test_compact_vocab_round_trip_and_unknown():
    base = BPETokenizer("gpt2")
    text = "to be or not to be, that is the question"
    cv = CompactVocab.from_text(base, text)
    ids = cv.encode(text)
    assert max(ids) < cv.vocab_size < 20 and cv.decode(ids) == text
    assert cv.unk in cv.encode("zebra")
    assert "<unk>" in cv.decode(cv.encode("to be a zebra"))
    capped = CompactVocab.from_text(base, text, max_size=5)
    assert capped.vocab_size == 5
    assert from_dict(cv.to_dict()).encode(text) == ids
