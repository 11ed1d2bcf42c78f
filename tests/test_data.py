"""The data registry: verified files, atomic downloads, clear errors, correct parsers."""
import hashlib

import pytest
import torch

from gptlib import data


def test_unknown_dataset_names_the_known_ones():
    with pytest.raises(data.UnknownDatasetError, match="unknown dataset 'shakespear'.*tinyshakespeare"):
        data.fetch("shakespear")


def test_offline_copy_is_verified_and_used():
    p = data.fetch_file("tinyshakespeare")
    assert data.sha256_of(p) == data.REGISTRY["tinyshakespeare"].files["text"].sha256
    text = data.load_text("tinyshakespeare")
    assert len(text) == 1115394 and text.startswith("First Citizen:")


def test_wrong_offline_copy_is_rejected(tmp_path, monkeypatch):
    bad = tmp_path / "bad" / "tinyshakespeare.txt"
    bad.parent.mkdir()
    bad.write_text("not shakespeare")
    monkeypatch.setenv("GPTLIB_DATA_DIR", str(bad.parent))
    with pytest.raises(data.ChecksumError, match="does not match"):
        data.fetch_file("tinyshakespeare")


def test_download_with_wrong_sha256_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setenv("GPTLIB_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setattr(data, "_download", lambda url, timeout=60.0: b"tampered bytes")
    with pytest.raises(data.DataUnavailableError, match="sha256"):
        data.fetch_file("tinyshakespeare")
    cache = data.cache_dir()
    assert not any(p.is_file() for p in cache.rglob("*")) if cache.exists() else True


def test_download_is_verified_then_renamed(tmp_path, monkeypatch):
    real = data.fetch_file("instruction-data").read_bytes()
    monkeypatch.setenv("GPTLIB_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setattr(data, "_download", lambda url, timeout=60.0: real)
    p = data.fetch_file("instruction-data")
    assert p.is_relative_to(data.cache_dir()) and hashlib.sha256(p.read_bytes()).hexdigest() == \
        data.REGISTRY["instruction-data"].files["json"].sha256
    assert [q.name for q in p.parent.iterdir()] == [p.name], "temporary files left behind"
    # a damaged cache entry is not used: it is fetched again
    p.write_bytes(b"garbage")
    assert data.fetch_file("instruction-data").read_bytes() == real


def test_offline_without_copy_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("GPTLIB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GPTLIB_OFFLINE", "1")
    with pytest.raises(data.DataUnavailableError, match="set GPTLIB_DATA_DIR"):
        data.load_wikitext2("train")


def test_loaders_parse_the_documented_quirks():
    rt = data.load_rt_polarity()
    assert len(rt) == 10662 and sum(lbl for _, lbl in rt) == 5331
    uci = data.load_uci_sentiment()
    assert len(uci) == 3000 and sum(lbl for _, lbl, _ in uci) == 1500
    sms = data.load_sms_spam()
    assert len(sms) == 5574 and sum(lbl for _, lbl in sms) == 747
    ins = data.load_instructions()
    assert len(ins) == 1100 and sum(bool(x["input"]) for x in ins) == 325
    valid = data.load_wikitext2("valid")
    assert len(valid.split("\n")) - 1 == 3760


def test_batches_are_shifted_windows():
    ids = torch.arange(100)
    train, val = data.train_val_split(ids, 0.1)
    assert len(train) == 90 and val[0] == 90
    x, y = data.get_batch(train, 8, 4, generator=torch.Generator().manual_seed(0))
    assert x.shape == (4, 8) and torch.equal(y, x + 1)
    with pytest.raises(ValueError, match="more than block_size"):
        data.get_batch(torch.arange(5), 8, 2)
