"""Parsers for the registry's files: each takes its file(s) through :func:`fetch_file` (so every hash is
checked) and handles the quirks that ``shared/data/MANIFEST.md`` documents."""
from __future__ import annotations

import json
import tarfile

from .registry import fetch_file

WNUT17_TYPES = ("corporation", "creative-work", "group", "location", "person", "product")

# French typography puts a (narrow) no-break space before ! ? : ; and inside « »; Tatoeba also has
# thin spaces, zero-width spaces and soft hyphens. Spaces become plain spaces, invisible ones go.
_FRENCH_SPACING = str.maketrans({"\u202f": " ", "\u00a0": " ", "\u2009": " ", "\u200b": None, "\u00ad": None})


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


def load_wnut17(split: str = "train") -> list[tuple[list[str], list[str]]]:
    """WNUT-17 sentences as (tokens, BIO tags) pairs; ``split`` is ``train``, ``dev`` or ``test``.

    A line that is empty after stripping separates sentences (train uses a lone tab 2,394 times).
    Tokens are kept exactly as written, zero-width characters (U+200B, U+FEFF) and emoji included.
    """
    if split not in ("train", "dev", "test"):
        raise ValueError(f"split must be 'train', 'dev' or 'test', got {split!r}")
    path = fetch_file("wnut17", split)
    sentences, tokens, tags = [], [], []
    for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if not line.strip():
            if tokens:
                sentences.append((tokens, tags))
                tokens, tags = [], []
            continue
        token, sep, tag = line.rpartition("\t")
        if not sep:
            raise ValueError(f"{path}:{n}: expected 'token<TAB>tag', got {line!r}")
        tokens.append(token)
        tags.append(tag)
    if tokens:
        sentences.append((tokens, tags))
    return sentences


def normalize_french_spacing(text: str) -> str:
    """U+202F, U+00A0 and U+2009 become plain spaces; U+200B and U+00AD are removed."""
    return text.translate(_FRENCH_SPACING)


def load_fra_eng() -> list[tuple[str, str]]:
    """Tatoeba's English–French pairs (manythings.org, 2017-09-29) as (english, french).

    Read from member ``fra.txt`` of the zip (its sha256 checked), in the file's order (sorted by
    length); French spacing characters normalised by :func:`normalize_french_spacing`. Many English
    sentences have several translations: split by English sentence, or the test set leaks.
    """
    path = fetch_file("fra-eng", "fra.txt")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if not line:
            continue
        parts = line.split("\t")
        if len(parts) < 2:
            raise ValueError(f"{path}:{n}: expected 'english<TAB>french', got {line!r}")
        out.append((normalize_french_spacing(parts[0]), normalize_french_spacing(parts[1])))
    return out


def load_squad_dev() -> list[dict]:
    """SQuAD v1.1's development set, one dict per question:
    ``{id, title, context, question, answers: [{"text", "answer_start"}, ...]}`` (several answers
    per question; ``answer_start`` is a character offset into ``context``)."""
    raw = json.loads(fetch_file("squad-v1.1-dev").read_text(encoding="utf-8"))
    out = []
    for article in raw["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                out.append({"id": qa["id"], "title": article["title"], "context": paragraph["context"],
                            "question": qa["question"],
                            "answers": [{"text": a["text"], "answer_start": a["answer_start"]}
                                        for a in qa["answers"]]})
    return out


def load_movietweetings() -> tuple[list[tuple[int, int, int, int]], dict[int, tuple[str, tuple[str, ...]]]]:
    """MovieTweetings 100K: ``(ratings, movies)``.

    ``ratings``: (user, item, rating 0–10, unix time) tuples, sorted by user and then by time
    (the file is sorted by user only; same-time ties keep the file's order). ``movies``: item →
    (title with year, tuple of genres; empty for the 66 movies without one). Items are IMDb ids.
    """
    ratings = []
    for line in fetch_file("movietweetings-100k", "ratings").read_text(encoding="ascii").split("\n"):
        if line:
            user, item, rating, ts = line.split("::")
            ratings.append((int(user), int(item), int(rating), int(ts)))
    ratings.sort(key=lambda r: (r[0], r[3]))
    movies = {}
    for line in fetch_file("movietweetings-100k", "movies").read_text(encoding="utf-8").split("\n"):
        if line:
            item, title, genres = line.split("::")
            movies[int(item)] = (title, tuple(g for g in genres.split("|") if g))
    return ratings, movies
