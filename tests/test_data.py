"""The data registry: verified files, atomic downloads, clear errors, correct parsers, splits."""
import hashlib
import io
import json
import random
import zipfile
from collections import Counter
from pathlib import Path

import pytest
import torch

from gptlib import data
from gptlib.data import registry


def serve(monkeypatch, payloads: dict):
    """Make downloads return ``payloads[url]`` (bytes) and record which URLs were asked for."""
    asked = []

    def open_url(url, timeout=60.0):
        asked.append(url)
        if url not in payloads:
            raise OSError(f"no route to {url}")
        return io.BytesIO(payloads[url])
    monkeypatch.setattr(registry, "_open_url", open_url)
    return asked


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def zip_bytes(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, blob in members.items():
            z.writestr(name, blob)
    return buf.getvalue()


# --------------------------------------------------------------------------------- registry
def test_unknown_dataset_names_the_known_ones():
    with pytest.raises(data.UnknownDatasetError, match="unknown dataset 'shakespear'.*tinyshakespeare"):
        data.fetch("shakespear")


def test_every_entry_is_complete():
    for name, ds in data.REGISTRY.items():
        assert ds.name == name and ds.description and ds.license and ds.citation and ds.files, name
        for key, f in ds.files.items():
            assert len(f.sha256) == 64 and int(f.sha256, 16) >= 0, (name, key)
            assert f.sources or f.archive, f"{name}/{key} can be had from nowhere"
            for src in f.sources:
                assert src.url.startswith(("https://", "http://")), src.url
                assert src.sha256 is None or len(src.sha256) == 64


def test_the_new_entries_follow_the_manifest():
    fra = data.get_file("fra-eng", "fra.txt")
    assert fra.sources[0].url.startswith("https://raw.githubusercontent.com/genimind/seq2seq/4f3f8eb")
    assert fra.sources[1].url == "http://www.manythings.org/anki/fra-eng.zip" and "updated in place" in fra.sources[1].note
    assert fra.archive == data.Archive("translation/fra-eng.zip", "fra.txt",
                                       "16c4f7d0df9e7c5e6c54cdb0447f3f4a18a55052ff5e2e0b27dd4a06c0e49d04")
    squad = data.get_file("squad-v1.1-dev")
    assert squad.sources[0].url == "https://rajpurkar.github.io/SQuAD-explorer/dataset/dev-v1.1.json"
    assert squad.sha256 == "95aa6a52d5d6a735563366753ca50492a658031da74f301ac5238b03966972c9"
    assert squad.archive.path == "qa/squad-v1.1/dev-v1.1.json.zip" and squad.archive.member == "dev-v1.1.json"
    assert set(data.REGISTRY["wnut17"].files) == {"train", "dev", "test"}
    assert set(data.REGISTRY["movietweetings-100k"].files) == {"ratings", "movies"}


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
    assert files_under(data.cache_dir()) == []


def test_corrupted_offline_archive_raises_and_writes_nothing(tmp_path, monkeypatch):
    shared = data.data_dirs()[0]
    copy = tmp_path / "offline" / "qa" / "squad-v1.1" / "dev-v1.1.json.zip"
    copy.parent.mkdir(parents=True)
    blob = bytearray((shared / "qa/squad-v1.1/dev-v1.1.json.zip").read_bytes())
    blob[len(blob) // 2] ^= 0xFF                                  # one flipped byte
    copy.write_bytes(bytes(blob))
    monkeypatch.setenv("GPTLIB_DATA_DIR", str(tmp_path / "offline"))
    with pytest.raises(data.ChecksumError, match="not the published archive"):
        data.load_squad_dev()
    assert files_under(data.cache_dir()) == []


def test_offline_archive_member_is_checked_and_nothing_written(tmp_path, monkeypatch):
    # An archive with no pinned hash of its own: the member's sha256 still decides.
    good = b"the real member\n"
    entry = data.Dataset("toy", "a toy", "CC0", "nobody", {"f": data.DataFile(
        "toy/file.txt", hashlib.sha256(good).hexdigest(), archive=data.Archive("toy/packed.zip", "file.txt"))})
    monkeypatch.setitem(data.REGISTRY, "toy", entry)
    offline = tmp_path / "offline"
    (offline / "toy").mkdir(parents=True)
    monkeypatch.setenv("GPTLIB_DATA_DIR", str(offline))
    (offline / "toy/packed.zip").write_bytes(zip_bytes({"file.txt": b"a changed member\n"}))
    with pytest.raises(data.ChecksumError, match="member file.txt has sha256"):
        data.fetch_file("toy")
    assert files_under(data.cache_dir()) == []
    (offline / "toy/packed.zip").write_bytes(zip_bytes({"other.txt": good}))
    with pytest.raises(data.ChecksumError, match="cannot read member 'file.txt'"):
        data.fetch_file("toy")
    (offline / "toy/packed.zip").write_bytes(b"not a zip at all")
    with pytest.raises(data.ChecksumError, match="cannot read member"):
        data.fetch_file("toy")
    assert files_under(data.cache_dir()) == []
    (offline / "toy/packed.zip").write_bytes(zip_bytes({"file.txt": good}))
    p = data.fetch_file("toy")
    assert p == data.cache_dir() / "toy/file.txt" and p.read_bytes() == good
    assert files_under(data.cache_dir()) == [p]


def test_download_with_wrong_sha256_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setenv("GPTLIB_DATA_DIR", str(tmp_path / "empty"))
    url = data.get_file("tinyshakespeare").sources[0].url
    asked = serve(monkeypatch, {url: b"tampered bytes"})
    with pytest.raises(data.DataUnavailableError, match="sha256"):
        data.fetch_file("tinyshakespeare")
    assert asked == [url] and files_under(data.cache_dir()) == []


def test_download_is_streamed_verified_then_renamed(tmp_path, monkeypatch):
    real = data.fetch_file("instruction-data").read_bytes()
    monkeypatch.setenv("GPTLIB_DATA_DIR", str(tmp_path / "empty"))
    reads = []

    class Response(io.BytesIO):                    # records the size of every read
        def read(self, n=-1):
            reads.append(n)
            return super().read(n)
    monkeypatch.setattr(registry, "CHUNK", 4096)
    monkeypatch.setattr(registry, "_open_url", lambda url, timeout=60.0: Response(real))
    p = data.fetch_file("instruction-data")
    assert p.is_relative_to(data.cache_dir()) and hashlib.sha256(p.read_bytes()).hexdigest() == \
        data.REGISTRY["instruction-data"].files["json"].sha256
    assert reads and all(0 < n <= 4096 for n in reads), f"not read in chunks: {reads[:5]}"
    assert len(reads) > len(real) // 4096
    assert [q.name for q in p.parent.iterdir()] == [p.name], "temporary files left behind"
    # a damaged cache entry is not used: it is fetched again
    p.write_bytes(b"garbage")
    assert data.fetch_file("instruction-data").read_bytes() == real


def test_download_of_an_archive_member_falls_back_to_the_next_source(tmp_path, monkeypatch):
    shared = data.data_dirs()[0]
    monkeypatch.setenv("GPTLIB_DATA_DIR", str(tmp_path / "empty"))
    pinned, canonical = (s.url for s in data.get_file("fra-eng", "fra.txt").sources)
    real_zip = (shared / "translation/fra-eng.zip").read_bytes()
    newer_zip = zip_bytes({"fra.txt": b"Go.\tVa !\tCC-BY 2.0 (France) Attribution: tatoeba.org\n"})
    asked = serve(monkeypatch, {canonical: newer_zip})          # the pinned copy is down
    with pytest.raises(data.DataUnavailableError) as e:
        data.fetch_file("fra-eng", "fra.txt")
    assert asked == [pinned, canonical]
    assert "no route" in str(e.value) and "member fra.txt has sha256" in str(e.value)
    assert "updated in place" in str(e.value)                  # the source's note is reported
    assert files_under(data.cache_dir()) == []
    serve(monkeypatch, {pinned: real_zip[:-100]})               # truncated archive
    with pytest.raises(data.DataUnavailableError, match="archive sha256"):
        data.fetch_file("fra-eng", "fra.txt")
    assert files_under(data.cache_dir()) == []
    serve(monkeypatch, {pinned: real_zip})
    p = data.fetch_file("fra-eng", "fra.txt")
    assert data.sha256_of(p) == data.get_file("fra-eng", "fra.txt").sha256
    assert files_under(data.cache_dir()) == [p]


def test_offline_without_copy_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("GPTLIB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GPTLIB_OFFLINE", "1")
    asked = serve(monkeypatch, {})
    with pytest.raises(data.DataUnavailableError, match="set GPTLIB_DATA_DIR"):
        data.load_wikitext2("train")
    with pytest.raises(data.DataUnavailableError, match=r"dev-v1\.1\.json \(or qa/squad-v1\.1/dev-v1\.1\.json\.zip\)"):
        data.load_squad_dev()
    assert asked == []


def test_install_bytes_checks_then_writes(tmp_path):
    f = data.DataFile("x.txt", hashlib.sha256(b"right").hexdigest())
    with pytest.raises(data.ChecksumError, match="Nothing was written"):
        data.install_bytes(b"wrong", f, tmp_path / "x.txt")
    assert files_under(tmp_path) == []
    assert data.install_bytes(b"right", f, tmp_path / "x.txt").read_bytes() == b"right"


# ---------------------------------------------------------------------------------- loaders
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


def entities(tags):
    return Counter(t[2:] for t in tags if t.startswith("B-"))


@pytest.mark.parametrize("split, sentences, tokens, n_entities, per_type", [
    ("train", 3394, 62730, 1975, (221, 140, 264, 548, 660, 142)),
    ("dev", 1009, 15733, 836, (34, 105, 39, 74, 470, 114)),
    ("test", 1287, 23394, 1079, (66, 142, 165, 150, 429, 127)),
])
def test_wnut17_counts_match_the_manifest(split, sentences, tokens, n_entities, per_type):
    rows = data.load_wnut17(split)
    assert len(rows) == sentences
    assert sum(len(toks) for toks, _ in rows) == tokens
    assert all(len(toks) == len(tags) and toks for toks, tags in rows)
    counts = entities(t for _, tags in rows for t in tags)
    assert sum(counts.values()) == n_entities
    assert tuple(counts[t] for t in data.WNUT17_TYPES) == per_type
    assert {t for _, tags in rows for t in tags} <= {"O"} | {f"{p}-{t}" for p in "BI" for t in data.WNUT17_TYPES}


def test_wnut17_keeps_zero_width_characters():
    toks = [t for toks, _ in data.load_wnut17("dev") for t in toks]
    assert "watched\u200bwas" in toks and "Dubbz\ufeff" in toks
    with pytest.raises(ValueError, match="split must be 'train', 'dev' or 'test'"):
        data.load_wnut17("validation")


def test_fra_eng_counts_and_spacing():
    pairs = data.load_fra_eng()
    # 142,782 distinct lines; 129 more pairs become equal once their spacing is normalised
    assert len(pairs) == 142787 and len(set(pairs)) == 142653
    assert pairs[0] == ("Go.", "Va !") and pairs[1] == ("Run!", "Cours !")
    assert sum(len(en.split()) <= 5 for en, _ in pairs[:20000]) == 20000
    assert sum(len(en.split()) <= 10 for en, _ in pairs) == 134549
    odd = "\u202f\u00a0\u2009\u200b\u00ad"
    assert not any(c in en + fr for en, fr in pairs for c in odd)
    assert data.normalize_french_spacing("Quoi\u202f? «\u00a0oui\u00a0» co\u00adop\u200b") == "Quoi ? « oui » coop"


def test_squad_dev_counts():
    qs = data.load_squad_dev()
    assert len(qs) == 10570 and len({q["id"] for q in qs}) == 10570
    assert sum(len(q["answers"]) for q in qs) == 34726
    assert len({q["title"] for q in qs}) == 48 and len({q["context"] for q in qs}) == 2067
    for q in qs:   # every answer is the span of the context it points at
        assert set(q) == {"id", "title", "context", "question", "answers"}
        for a in q["answers"]:
            assert q["context"][a["answer_start"]:a["answer_start"] + len(a["text"])] == a["text"]


def test_movietweetings_counts_and_order():
    ratings, movies = data.load_movietweetings()
    assert len(ratings) == 100000
    assert len({u for u, *_ in ratings}) == 16554 and len({i for _, i, *_ in ratings}) == 10506
    assert len(movies) == 10506 and sum(not genres for _, genres in movies.values()) == 66
    assert {i for _, i, *_ in ratings} <= set(movies)
    assert min(r for *_, r, _ in ratings) >= 0 and max(r for *_, r, _ in ratings) <= 10
    assert len({(u, i) for u, i, *_ in ratings}) == 100000                 # no duplicate pairs
    assert ratings == sorted(ratings, key=lambda r: (r[0], r[3]))           # by user, then time
    per_user = Counter(u for u, *_ in ratings)
    assert sorted(per_user.values())[len(per_user) // 2] == 2 and sum(n >= 5 for n in per_user.values()) == 4692
    title, genres = movies[ratings[0][1]]
    assert title.endswith(")") and all(isinstance(g, str) and g for g in genres)


# ----------------------------------------------------------------------------------- splits
def test_stratified_split_is_deterministic_stratified_disjoint_and_complete():
    rng = random.Random(1)
    labels = [rng.choice("aab") for _ in range(1003)] + ["rare"] * 3
    a = data.stratified_split(labels, seed=7)
    assert a == data.stratified_split(labels, seed=7)
    assert a != data.stratified_split(labels, seed=8)
    assert list(a) == ["train", "validation", "test"]
    every = [i for ids in a.values() for i in ids]
    assert sorted(every) == list(range(len(labels)))                      # complete and disjoint
    counts = Counter(labels)
    for split, frac in zip(a, (0.8, 0.1, 0.1)):
        got = Counter(labels[i] for i in a[split])
        for lbl in ("a", "b"):
            assert abs(got[lbl] - frac * counts[lbl]) < 1, (split, lbl)   # each label in its share
    # 3 rare examples: 2.4 / 0.3 / 0.3 -> 2 / 0 / 0, and the one left over goes to train (remainder 0.4)
    assert Counter(labels[i] for i in a["train"])["rare"] == 3
    assert a["train"] != sorted(a["train"])                               # shuffled within the split
    # largest remainders: 3 x (0.5, 0.25, 0.25) = 1.5 / 0.75 / 0.75 -> 1 / 0 / 0, then +1 to each 0.75
    small = data.stratified_split(["x"] * 3, fractions=(0.5, 0.25, 0.25))
    assert {k: len(v) for k, v in small.items()} == {"train": 1, "validation": 1, "test": 1}


def test_stratified_split_bad_inputs():
    with pytest.raises(ValueError, match="labels is empty"):
        data.stratified_split([])
    with pytest.raises(ValueError, match="sum to 1"):
        data.stratified_split([0, 1], fractions=(0.8, 0.1, 0.2))
    with pytest.raises(ValueError, match="one fraction per split"):
        data.stratified_split([0, 1], fractions=(0.5, 0.5))
    with pytest.raises(ValueError, match="between 0 and 1"):
        data.stratified_split([0, 1], fractions=(1.2, -0.1, -0.1))
    with pytest.raises(TypeError, match="seed must be an int"):
        data.stratified_split([0, 1], seed="0")


@pytest.mark.parametrize("name, n, positives, label_names", [
    ("sms-spam", 5574, 747, ("ham", "spam")),
    ("rt-polarity", 10662, 5331, ("negative", "positive")),
    ("uci-sentiment", 3000, 1500, ("negative", "positive")),
])
def test_classification_data(name, n, positives, label_names):
    cd = data.classification_data(name, seed=0)
    assert cd.label_names == label_names and cd.num_labels == 2
    sizes = {s: len(rows) for s, rows in cd.splits.items()}
    assert sum(sizes.values()) == n and list(sizes) == ["train", "validation", "test"]
    assert abs(sizes["train"] - 0.8 * n) <= 2 and abs(sizes["test"] - 0.1 * n) <= 2
    for split, rows in cd.splits.items():
        share = sum(lbl for _, lbl in rows) / len(rows)
        assert abs(share - positives / n) < 0.01, (split, share)
    assert cd["train"] == data.classification_data(name, seed=0)["train"]
    assert cd["train"] != data.classification_data(name, seed=1)["train"]
    all_rows = Counter(r for rows in cd.splits.values() for r in rows)
    loader = {"sms-spam": data.load_sms_spam, "rt-polarity": data.load_rt_polarity,
              "uci-sentiment": lambda: [(s, lbl) for s, lbl, _ in data.load_uci_sentiment()]}[name]
    assert all_rows == Counter(loader())                                    # every example, once
    with pytest.raises(KeyError, match="no split 'dev'"):
        cd["dev"]


def test_classification_data_unknown_name_lists_the_known_ones():
    with pytest.raises(data.UnknownDatasetError, match="'imdb'.*rt-polarity, sms-spam, uci-sentiment"):
        data.classification_data("imdb")


def test_instruction_splits_are_fixed_85_5_10():
    s = data.instruction_splits()
    assert {k: len(v) for k, v in s.items()} == {"train": 935, "validation": 55, "test": 110}
    assert s == data.instruction_splits(seed=0) and s != data.instruction_splits(seed=1)
    key = lambda x: json.dumps(x, sort_keys=True)   # noqa: E731
    everything = [key(x) for part in s.values() for x in part]
    assert sorted(everything) == sorted(key(x) for x in data.load_instructions())
    with pytest.raises(TypeError, match="seed must be an int"):
        data.instruction_splits(seed=0.5)


# ------------------------------------------------------------------------------ LM batches
def test_batches_are_shifted_windows():
    ids = torch.arange(100)
    train, val = data.train_val_split(ids, 0.1)
    assert len(train) == 90 and val[0] == 90
    x, y = data.get_batch(train, 8, 4, generator=torch.Generator().manual_seed(0))
    assert x.shape == (4, 8) and torch.equal(y, x + 1)
    with pytest.raises(ValueError, match="more than block_size"):
        data.get_batch(torch.arange(5), 8, 2)
    with pytest.raises(ValueError, match="val_fraction"):
        data.train_val_split(ids, 1.0)


def test_the_package_keeps_the_old_names():
    for name in ("load_text", "load_wikitext2", "load_rt_polarity", "load_uci_sentiment", "load_sms_spam",
                 "load_instructions", "train_val_split", "get_batch", "fetch_file", "fetch", "REGISTRY",
                 "get_dataset", "ChecksumError", "DataUnavailableError", "UnknownDatasetError", "DataError",
                 "install_bytes", "cache_dir", "data_dirs", "sha256_of", "Source", "DataFile", "Dataset"):
        assert hasattr(data, name), name
