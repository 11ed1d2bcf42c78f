"""Every data file the book uses, in one registry: name → canonical URL(s), sha256, license, parser.

``fetch(name)`` returns local paths, verified by sha256. It looks, in order, in

1. the cache (``$GPTLIB_CACHE_DIR``, default ``~/.cache/gptlib``),
2. each folder of ``$GPTLIB_DATA_DIR`` (``os.pathsep``-separated; an offline copy with the same
   layout as the registry's paths, e.g. ``../shared/data`` in this project's workplace),
3. the canonical URL and its mirrors: downloaded to a temporary file, checked, then renamed into
   the cache, so an interrupted or wrong download never leaves a half-written file behind.

A file whose sha256 differs from the registry's raises :class:`ChecksumError`.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch


class DataError(RuntimeError):
    """Base class for data errors."""


class UnknownDatasetError(DataError, KeyError):
    def __str__(self):  # KeyError would repr() the message
        return self.args[0]


class ChecksumError(DataError):
    pass


class DataUnavailableError(DataError):
    pass


@dataclass(frozen=True)
class Source:
    """Where a file can be downloaded. ``member`` names the file inside a .zip at ``url``;
    ``sha256`` (optional) pins the archive itself."""
    url: str
    member: str | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class DataFile:
    path: str                    # relative path in the cache and in $GPTLIB_DATA_DIR
    sha256: str
    sources: tuple[Source, ...]  # canonical first; empty = not downloadable


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    license: str
    citation: str
    files: dict[str, DataFile] = field(default_factory=dict)


_UCI_SENT = "https://archive.ics.uci.edu/static/public/331/sentiment+labelled+sentences.zip"
_UCI_SENT_SHA = "afc26626d710899948693e1a61405dce197f57ffa719fa1130d346b4cc095343"
_UCI_SPAM = "https://archive.ics.uci.edu/static/public/228/sms+spam+collection.zip"
_UCI_SPAM_SHA = "1587ea43e58e82b14ff1f5425c88e17f8496bfcdb67a583dbff9eefaf9963ce3"
_WT2 = "https://raw.githubusercontent.com/pytorch/examples/main/word_language_model/data/wikitext-2/"
_GPT2 = "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/"


def _uci_sentiment_file(fname: str, sha: str) -> DataFile:
    return DataFile(f"sentiment/uci_sentiment_labelled_sentences/{fname}", sha,
                    (Source(_UCI_SENT, member=f"sentiment labelled sentences/{fname}", sha256=_UCI_SENT_SHA),))


REGISTRY: dict[str, Dataset] = {d.name: d for d in [
    Dataset(
        "tinyshakespeare", "40,000 lines of Shakespeare (1.1 MB), Karpathy's char-rnn corpus.",
        "public domain text", "Karpathy (2015), The Unreasonable Effectiveness of RNNs",
        {"text": DataFile("tinyshakespeare.txt",
                          "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                          (Source("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"),))}),
    Dataset(
        "wikitext-2", "WikiText-2 (tokenized v1): Wikipedia Good and Featured articles.",
        "CC BY-SA 3.0", "Merity et al. (2016), Pointer Sentinel Mixture Models",
        {"train": DataFile("corpus/wikitext-2/train.txt",
                           "9e9fa1ad55b1c2c95b08e37dd8e653f638fac2c6de904b79e813611eefbc985f",
                           (Source(_WT2 + "train.txt"),)),
         "valid": DataFile("corpus/wikitext-2/valid.txt",
                           "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8",
                           (Source(_WT2 + "valid.txt"),)),
         "test": DataFile("corpus/wikitext-2/test.txt",
                          "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0",
                          (Source(_WT2 + "test.txt"),))}),
    Dataset(
        "rt-polarity", "Cornell sentence polarity v1.0: 5,331 positive and 5,331 negative snippets.",
        "no explicit license; distributed for research, cite Pang & Lee (2005)",
        "Pang & Lee (2005), Seeing stars", 
        {"tarball": DataFile("sentiment/rt-polaritydata.tar.gz",
                             "a05befe52aafda71d458d188a1c54506a998b1308613ba76bbda2e5029409ce9",
                             (Source("https://www.cs.cornell.edu/people/pabo/movie-review-data/rt-polaritydata.tar.gz"),))}),
    Dataset(
        "uci-sentiment", "UCI Sentiment Labelled Sentences: 1,000 each from Amazon, IMDb, Yelp.",
        "CC BY 4.0", "Kotzias et al. (2015), From group to individual labels using deep features",
        {"amazon": _uci_sentiment_file("amazon_cells_labelled.txt",
                                       "47003fc0a0d4840b00e96e715b6189bad09e7443a3da41c4cbe12ffc79f86ae3"),
         "imdb": _uci_sentiment_file("imdb_labelled.txt",
                                     "aef2e49e3da25714d61175e3a6e68eeef74a20a2f914318dc3be9947ea86512d"),
         "yelp": _uci_sentiment_file("yelp_labelled.txt",
                                     "c76468b7b5c6e56a0804d728345c5f84aa2142ddb214420f61cc9cfd4c00d2ea")}),
    Dataset(
        "sms-spam", "SMS Spam Collection v.1: 5,574 messages, 747 spam.",
        "CC BY 4.0", "Almeida & Gómez Hidalgo (2011), Contributions to the study of SMS spam filtering",
        {"messages": DataFile("spam/sms_spam_collection/SMSSpamCollection",
                              "7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d",
                              (Source(_UCI_SPAM, member="SMSSpamCollection", sha256=_UCI_SPAM_SHA),))}),
    Dataset(
        "instruction-data", "1,100 Alpaca-style instruction/input/output examples (LLMs-from-scratch ch07).",
        "Apache-2.0", "Raschka (2024), Build a Large Language Model (From Scratch)",
        {"json": DataFile("instruct/instruction-data.json",
                          "7e09a9af353722ca15c18bc580f093f9c39d3178335a75177319cb1e1d163944",
                          (Source("https://raw.githubusercontent.com/rasbt/LLMs-from-scratch/main/ch07/"
                                  "01_main-chapter-code/instruction-data.json"),))}),
    Dataset(
        "gpt2-bpe", "GPT-2's byte-pair encoding files (OpenAI).", "MIT",
        "Radford et al. (2019), Language Models are Unsupervised Multitask Learners",
        {"encoder.json": DataFile("gpt2/encoder.json",
                                  "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
                                  (Source(_GPT2 + "encoder.json"),)),
         "vocab.bpe": DataFile("gpt2/vocab.bpe",
                               "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
                               (Source(_GPT2 + "vocab.bpe"),)),
         "r50k_base.tiktoken": DataFile("gpt2/r50k_base.tiktoken",
                                        "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
                                        (Source("https://openaipublic.blob.core.windows.net/encodings/r50k_base.tiktoken"),))}),
]}


# ------------------------------------------------------------------------------------ locations
def cache_dir() -> Path:
    return Path(os.environ.get("GPTLIB_CACHE_DIR", Path.home() / ".cache" / "gptlib")).expanduser()


def data_dirs() -> list[Path]:
    raw = os.environ.get("GPTLIB_DATA_DIR", "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p]


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def get_dataset(name: str) -> Dataset:
    if name not in REGISTRY:
        raise UnknownDatasetError(f"unknown dataset {name!r}; known datasets: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def _download(url: str, timeout: float = 60.0) -> bytes:
    req = urllib.request.Request(url, headers={"User-Agent": "gptlib"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read()


def _write_atomically(data: bytes, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def install_bytes(data: bytes, f: DataFile, dest: Path) -> Path:
    """Check ``data`` against the registry's sha256, then write it to ``dest`` atomically."""
    got = hashlib.sha256(data).hexdigest()
    if got != f.sha256:
        raise ChecksumError(f"{f.path}: sha256 {got} does not match the registry's {f.sha256}; "
                            "the download is corrupt or the source changed. Nothing was written. "
                            "Retry, or place a verified copy under $GPTLIB_DATA_DIR.")
    _write_atomically(data, dest)
    return dest


def fetch_file(name: str, key: str | None = None, *, offline: bool | None = None) -> Path:
    """Local, verified path of one file of dataset ``name`` (``key`` may be omitted if it has one)."""
    ds = get_dataset(name)
    if key is None:
        if len(ds.files) != 1:
            raise ValueError(f"dataset {name!r} has several files {list(ds.files)}; pass key=")
        key = next(iter(ds.files))
    if key not in ds.files:
        raise KeyError(f"dataset {name!r} has no file {key!r}; files: {list(ds.files)}")
    f = ds.files[key]
    cached = cache_dir() / f.path
    if cached.exists():
        if sha256_of(cached) == f.sha256:
            return cached
        cached.unlink()  # a damaged cache entry is re-fetched, never used
    for d in data_dirs():
        local = d / f.path
        if local.exists():
            got = sha256_of(local)
            if got != f.sha256:
                raise ChecksumError(f"{local}: sha256 {got} does not match the registry's {f.sha256}. "
                                    "This offline copy is not the published file; replace it.")
            return local
    if offline is None:
        offline = os.environ.get("GPTLIB_OFFLINE", "") not in ("", "0")
    errors = []
    if not offline:
        for src in f.sources:
            try:
                blob = _download(src.url)
                if src.sha256 and hashlib.sha256(blob).hexdigest() != src.sha256:
                    raise ChecksumError(f"archive {src.url} has an unexpected sha256")
                if src.member:
                    with zipfile.ZipFile(io.BytesIO(blob)) as z:
                        blob = z.read(src.member)
                return install_bytes(blob, f, cached)
            except Exception as e:  # try the next mirror, report all at the end
                errors.append(f"{src.url}: {e}")
    where = ", ".join(str(d) for d in data_dirs()) or "(GPTLIB_DATA_DIR not set)"
    tried = "; ".join(errors) if errors else ("offline mode" if offline else "no download source")
    raise DataUnavailableError(
        f"could not get {name}/{key} ({f.path}). Looked in the cache {cache_dir()}, in {where}, "
        f"and tried: {tried}. Connect to the internet, or set GPTLIB_DATA_DIR to a folder holding {f.path}.")


def fetch(name: str) -> dict[str, Path]:
    """Verified local paths of every file of dataset ``name`` that can be had.

    Raises if none can; files that are online-only (like WikiText-2's train split) are left out
    when offline. Use :func:`fetch_file` to require one file."""
    ds = get_dataset(name)
    out, last = {}, None
    for key in ds.files:
        try:
            out[key] = fetch_file(name, key)
        except DataUnavailableError as e:
            last = e
    if not out:
        raise last
    return out


# -------------------------------------------------------------------------------------- loaders
def load_text(name: str = "tinyshakespeare") -> str:
    """A plain-text corpus as one string (UTF-8)."""
    return fetch_file(name, "text").read_text(encoding="utf-8")


def load_wikitext2(split: str = "valid") -> str:
    """One WikiText-2 split as text. ``train`` needs the internet (or a copy in $GPTLIB_DATA_DIR)."""
    if split not in ("train", "valid", "test"):
        raise ValueError(f"split must be 'train', 'valid' or 'test', got {split!r}")
    return fetch_file("wikitext-2", split).read_text(encoding="utf-8")


def load_rt_polarity() -> list[tuple[str, int]]:
    """(snippet, label) pairs, label 1 = positive. Decoded as cp1252 and split on '\\n' only
    (latin-1 + splitlines() would break lines at the 0x85 bytes)."""
    out = []
    with tarfile.open(fetch_file("rt-polarity"), "r:gz") as tar:
        for label, member in ((1, "rt-polaritydata/rt-polarity.pos"), (0, "rt-polaritydata/rt-polarity.neg")):
            text = tar.extractfile(member).read().decode("cp1252")
            out += [(line.strip(), label) for line in text.split("\n") if line.strip()]
    return out


def load_uci_sentiment(sources=("amazon", "imdb", "yelp")) -> list[tuple[str, int, str]]:
    """(sentence, label, source) triples, label 1 = positive. Split on '\\n' (IMDb holds U+0085)."""
    out = []
    for src in sources:
        text = fetch_file("uci-sentiment", src).read_text(encoding="utf-8")
        for line in text.split("\n"):
            if line.strip():
                sentence, label = line.rsplit("\t", 1)
                out.append((sentence.strip(), int(label), src))
    return out


def load_sms_spam() -> list[tuple[str, int]]:
    """(message, label) pairs, label 1 = spam."""
    text = fetch_file("sms-spam").read_text(encoding="utf-8")
    out = []
    for line in text.split("\n"):
        if line:
            label, msg = line.split("\t", 1)
            out.append((msg, int(label == "spam")))
    return out


def load_instructions() -> list[dict]:
    """The instruction data: a list of {instruction, input, output}."""
    return json.loads(fetch_file("instruction-data").read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------ LM batches/splits
def train_val_split(ids, val_fraction: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """First (1 − val_fraction) of the token stream for training, the rest for validation."""
    ids = torch.as_tensor(ids, dtype=torch.long)
    n = int(len(ids) * (1 - val_fraction))
    return ids[:n], ids[n:]


def get_batch(data: torch.Tensor, block_size: int, batch_size: int, device="cpu",
              generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Random windows of ``block_size`` tokens: x = data[i:i+T], y = data[i+1:i+T+1] (next tokens)."""
    if len(data) <= block_size:
        raise ValueError(f"need more than block_size={block_size} tokens to make a batch, got {len(data)}")
    ix = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    offsets = torch.arange(block_size)
    x = data[ix[:, None] + offsets]
    y = data[ix[:, None] + offsets + 1]
    device = torch.device(device)
    if device.type == "cuda":
        return x.pin_memory().to(device, non_blocking=True), y.pin_memory().to(device, non_blocking=True)
    return x.to(device), y.to(device)

