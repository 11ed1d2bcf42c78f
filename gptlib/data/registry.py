"""Every data file the book uses, in one registry: name → canonical URL(s), sha256, licence, citation.

``fetch_file(name, key)`` returns a local path, verified by sha256. It looks, in order, in

1. the cache (``$GPTLIB_CACHE_DIR``, default ``~/.cache/gptlib``);
2. each folder of ``$GPTLIB_DATA_DIR`` (an offline copy laid out as the registry's paths, e.g.
   ``../shared/data`` in this project's workplace): the file itself at ``DataFile.path``, or, when
   the offline copy is stored packed, the member of the archive named by ``DataFile.archive``;
3. the online sources, canonical first: each is streamed to a temporary file in chunks while its
   sha256 is computed, then renamed into the cache only if the hash matches (an archive is first
   checked against its own sha256 when one is known, then the member is unpacked and checked).

Nothing is ever written under a real name before it has passed its check, and a file whose
sha256 differs from the registry's raises :class:`ChecksumError` (offline copies) or is reported
in :class:`DataUnavailableError` after every source was tried (downloads).
"""
from __future__ import annotations

import contextlib
import gzip
import hashlib
import tarfile
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from .. import settings
from ..atomic import atomic_path, write_bytes

CHUNK = 1 << 20   # bytes read, hashed and written at a time


# ------------------------------------------------------------------------------------- errors
class DataError(RuntimeError):
    """Base class for data errors."""


class UnknownDatasetError(DataError, KeyError):
    def __str__(self):  # KeyError would repr() the message
        return self.args[0]


class ChecksumError(DataError):
    pass


class DataUnavailableError(DataError):
    pass


# ------------------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class Source:
    """An online place a file can be downloaded from.

    ``member`` names the file inside a .zip or .tar(.gz) archive at ``url``; ``sha256`` (optional)
    pins the downloaded file itself (the archive, when ``member`` is set); ``note`` says what a
    reader should know, e.g. that the URL is updated in place."""
    url: str
    member: str | None = None
    sha256: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Archive:
    """An offline copy stored packed: ``path`` (relative to a ``$GPTLIB_DATA_DIR`` folder) is a
    .zip or .tar(.gz) archive that holds the file as ``member``; ``sha256`` pins the archive."""
    path: str
    member: str
    sha256: str | None = None


@dataclass(frozen=True)
class DataFile:
    path: str                       # in the cache, and in $GPTLIB_DATA_DIR for a plain offline copy
    sha256: str                     # of the file itself (of the member, when it comes packed)
    sources: tuple[Source, ...] = ()   # online, in order of preference; empty = offline only
    archive: Archive | None = None  # where an offline copy is stored packed, if it is


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
_WNUT = "https://raw.githubusercontent.com/leondz/emerging_entities_17/master/"
_WNUT_PINNED = ("https://raw.githubusercontent.com/leondz/emerging_entities_17/"
                "e52a2d2a71ac1a051ca2d532eef28653c5c02603/")
_FRA_PINNED = ("https://raw.githubusercontent.com/genimind/seq2seq/"
               "4f3f8eb0adde54fcc8b89394336b002e7961244c/fra-eng.zip")
_FRA_CANONICAL = "http://www.manythings.org/anki/fra-eng.zip"
_FRA_ZIP_SHA = "16c4f7d0df9e7c5e6c54cdb0447f3f4a18a55052ff5e2e0b27dd4a06c0e49d04"
_MT = "https://raw.githubusercontent.com/sidooms/MovieTweetings/master/snapshots/100K/"
_MT_PINNED = ("https://raw.githubusercontent.com/RodolfoViana/MovieTweetings/"
              "004a80f1b271e900eea5a5e4b8b7ac6111db8095/snapshots/100K/")


def _uci_sentiment_file(fname: str, sha: str) -> DataFile:
    return DataFile(f"sentiment/uci_sentiment_labelled_sentences/{fname}", sha,
                    (Source(_UCI_SENT, member=f"sentiment labelled sentences/{fname}", sha256=_UCI_SENT_SHA),))


def _wnut_file(fname: str, sha: str) -> DataFile:
    return DataFile(f"ner/wnut17/{fname}", sha, (Source(_WNUT + fname), Source(_WNUT_PINNED + fname)))


def _movietweetings_file(fname: str, sha: str) -> DataFile:
    return DataFile(f"recommendation/movietweetings-100k/{fname}", sha,
                    (Source(_MT + fname), Source(_MT_PINNED + fname, note="pinned fork of the same snapshot")))


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
    Dataset(
        "wnut17", "WNUT-17 Emerging and Rare Entities: tweets, Reddit, YouTube and Stack Overflow "
                  "comments tagged in BIO over six entity types (train 3,394 / dev 1,009 / test 1,287 sentences).",
        "CC BY 4.0",
        "Derczynski et al. (2017), Results of the WNUT2017 Shared Task on Novel and Emerging Entity Recognition",
        {"train": _wnut_file("wnut17train.conll", "731820e13f71af324c6b55a1575ec2ce59fbaa2a0806f8f0400b98d56cd6a7a5"),
         "dev": _wnut_file("emerging.dev.conll", "e053b752b8155113ca66e7db08af5f2f5f43ab993694e4774f1ec5bad42312d8"),
         "test": _wnut_file("emerging.test.annotated",
                            "2aa79b764e56ec9264a1b30fdd9b70195bd00ff400b62edd8f399d5f13c178f0")}),
    Dataset(
        "fra-eng", "142,787 English-French sentence pairs from Tatoeba, as packaged by manythings.org "
                   "(the version of 2017-09-29).",
        "CC BY 2.0 FR; attribute tatoeba.org and manythings.org/anki",
        "Tatoeba (tatoeba.org), sentence pairs packaged by manythings.org/anki",
        {"fra.txt": DataFile(
            "translation/fra-eng/fra.txt", "2546838ae46e0eac4c02ab7032ea0a02a006074a5340077a36a9444f41e02888",
            (Source(_FRA_PINNED, member="fra.txt", sha256=_FRA_ZIP_SHA,
                    note="the 2017-09-29 zip, pinned by commit"),
             Source(_FRA_CANONICAL, member="fra.txt",
                    note="canonical, but updated in place: it may now serve a newer file whose hash differs")),
            archive=Archive("translation/fra-eng.zip", "fra.txt", _FRA_ZIP_SHA))}),
    Dataset(
        "squad-v1.1-dev", "SQuAD v1.1 development set: 10,570 questions on 2,067 paragraphs of 48 "
                          "Wikipedia articles, answers as character spans.",
        "CC BY-SA 4.0",
        "Rajpurkar et al. (2016), SQuAD: 100,000+ Questions for Machine Comprehension of Text",
        {"json": DataFile(
            "qa/squad-v1.1/dev-v1.1.json", "95aa6a52d5d6a735563366753ca50492a658031da74f301ac5238b03966972c9",
            (Source("https://rajpurkar.github.io/SQuAD-explorer/dataset/dev-v1.1.json"),),
            archive=Archive("qa/squad-v1.1/dev-v1.1.json.zip", "dev-v1.1.json",
                            "6cf38c56fc7341bab8a5132f205dd7198148a6be9073ccd8ef07d55ca73b09b7"))}),
    Dataset(
        "movietweetings-100k", "MovieTweetings 100K snapshot: 100,000 IMDb ratings (0-10) by 16,554 "
                               "Twitter users of 10,506 movies, 2013-02-28 to 2013-09-01.",
        "MIT (the repository's licence)",
        "Dooms et al. (2013), MovieTweetings: a Movie Rating Dataset Collected From Twitter",
        {"ratings": _movietweetings_file("ratings.dat",
                                         "c0dd868c2632d10002ebc928ddc5345f33adeaa59eca52c2941c26a2c5e36fd6"),
         "movies": _movietweetings_file("movies.dat",
                                        "e63fb84bc734e3c574f135634a40d3cbafab22b8f94f5fc0b80f80d1d2076efc")}),
]}


# ----------------------------------------------------------------------------------- locations
def cache_dir() -> Path:
    """Where fetched files are kept: ``$GPTLIB_CACHE_DIR``, else ``~/.cache/gptlib``."""
    return settings.cache_dir()


def data_dirs() -> list[Path]:
    """The offline folders of ``$GPTLIB_DATA_DIR``, in order."""
    return settings.data_dirs()


def sha256_of(path) -> str:
    """The sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def get_dataset(name: str) -> Dataset:
    if name not in REGISTRY:
        raise UnknownDatasetError(f"unknown dataset {name!r}; known datasets: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def get_file(name: str, key: str | None = None) -> DataFile:
    """The registry entry of one file (``key`` may be omitted when the dataset has one file)."""
    ds = get_dataset(name)
    if key is None:
        if len(ds.files) != 1:
            raise ValueError(f"dataset {name!r} has several files {list(ds.files)}; pass key=")
        key = next(iter(ds.files))
    if key not in ds.files:
        raise KeyError(f"dataset {name!r} has no file {key!r}; files: {list(ds.files)}")
    return ds.files[key]


# ---------------------------------------------------------------------- streaming and checking
def _open_url(url: str, timeout: float = 60.0) -> BinaryIO:
    """An open HTTP response (a binary file object) for ``url``."""
    return urllib.request.urlopen(urllib.request.Request(url, headers={"User-Agent": "gptlib"}), timeout=timeout)


def _copy_hashing(src: BinaryIO, dest: Path) -> str:
    """Copy ``src`` into the file ``dest`` in chunks; return the sha256 of what was copied."""
    h = hashlib.sha256()
    with open(dest, "wb") as out:
        for chunk in iter(lambda: src.read(CHUNK), b""):
            h.update(chunk)
            out.write(chunk)
    return h.hexdigest()


_ARCHIVE_ERRORS = (zipfile.BadZipFile, tarfile.TarError, gzip.BadGzipFile, zlib.error, EOFError, KeyError)


def _unpack_hashing(archive: Path, member: str, dest: Path) -> str:
    """Copy ``member`` of a .zip or .tar(.gz) ``archive`` into the file ``dest``; return its sha256.

    A damaged archive, or one without ``member``, raises :class:`ChecksumError`."""
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z, z.open(member) as src:
                return _copy_hashing(src, dest)
        with tarfile.open(archive) as tar:
            src = tar.extractfile(member)
            if src is None:
                raise KeyError(f"{member} is not a regular file")
            with src:
                return _copy_hashing(src, dest)
    except _ARCHIVE_ERRORS as e:
        raise ChecksumError(f"{archive}: cannot read member {member!r} ({type(e).__name__}: {e}); "
                            "the archive is damaged or is not the published one") from None


def _install_member(archive: Path, member: str, f: DataFile, dest: Path) -> Path:
    """Unpack ``member`` of ``archive`` to ``dest`` if its sha256 is the registry's (else nothing is written)."""
    with atomic_path(dest) as tmp:
        got = _unpack_hashing(archive, member, tmp)
        if got != f.sha256:
            raise ChecksumError(f"{archive}: member {member} has sha256 {got}, not the registry's {f.sha256} "
                                f"for {f.path}. Nothing was written; replace the archive with the published one.")
    return dest


def _download(src: Source, f: DataFile, dest: Path) -> Path:
    """Stream ``src`` to a temporary file while hashing it; install it (or its member) at ``dest``."""
    with atomic_path(dest) as tmp:
        with contextlib.closing(_open_url(src.url)) as response:
            got = _copy_hashing(response, tmp)
        if src.member is None:
            if got != f.sha256:
                raise ChecksumError(f"{src.url}: sha256 {got} does not match the registry's {f.sha256}")
            return dest
        if src.sha256 and got != src.sha256:
            raise ChecksumError(f"{src.url}: archive sha256 {got} does not match the registry's {src.sha256}")
        archive = tmp.with_name(tmp.name + ".archive")   # the archive aside; its member goes to tmp
        try:
            tmp.replace(archive)
            got = _unpack_hashing(archive, src.member, tmp)
        finally:
            archive.unlink(missing_ok=True)
        if got != f.sha256:
            raise ChecksumError(f"{src.url}: member {src.member} has sha256 {got}, not the registry's {f.sha256}")
    return dest


def install_bytes(data: bytes, f: DataFile, dest: Path) -> Path:
    """Check ``data`` against the registry's sha256, then write it to ``dest`` atomically."""
    got = hashlib.sha256(data).hexdigest()
    if got != f.sha256:
        raise ChecksumError(f"{f.path}: sha256 {got} does not match the registry's {f.sha256}; "
                            "the download is corrupt or the source changed. Nothing was written. "
                            "Retry, or place a verified copy under $GPTLIB_DATA_DIR.")
    return write_bytes(dest, data)


# -------------------------------------------------------------------------------------- fetch
def fetch_file(name: str, key: str | None = None, *, offline: bool | None = None) -> Path:
    """Local, verified path of one file of dataset ``name`` (``key`` may be omitted if it has one).

    ``offline=None`` follows ``$GPTLIB_OFFLINE``; ``True`` never downloads."""
    f = get_file(name, key)
    key = key or next(iter(get_dataset(name).files))
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
        if f.archive is not None and (d / f.archive.path).exists():
            packed = d / f.archive.path
            if f.archive.sha256:
                got = sha256_of(packed)
                if got != f.archive.sha256:
                    raise ChecksumError(f"{packed}: sha256 {got} does not match the registry's "
                                        f"{f.archive.sha256}. This offline copy is not the published "
                                        "archive; replace it. Nothing was written.")
            return _install_member(packed, f.archive.member, f, cached)
    if offline is None:
        offline = settings.offline()
    errors = []
    if not offline:
        for src in f.sources:
            try:
                return _download(src, f, cached)
            except Exception as e:  # try the next source, report all at the end
                errors.append(f"{src.url}: {e}" + (f" ({src.note})" if src.note else ""))
    where = ", ".join(str(d) for d in data_dirs()) or "(GPTLIB_DATA_DIR not set)"
    tried = "; ".join(errors) if errors else ("offline mode" if offline else "no download source")
    packed = f" (or {f.archive.path})" if f.archive else ""
    raise DataUnavailableError(
        f"could not get {name}/{key} ({f.path}). Looked in the cache {cache_dir()}, in {where}, "
        f"and tried: {tried}. Connect to the internet, or set GPTLIB_DATA_DIR to a folder holding "
        f"{f.path}{packed}.")


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
