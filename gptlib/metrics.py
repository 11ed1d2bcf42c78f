"""How good is a model at a task? The standard scores, computed the standard way.

Where the field has a reference implementation, this module calls it, so the book's numbers
mean what the papers' numbers mean:

* classification: scikit-learn (accuracy, macro-F1, balanced accuracy, per-class scores, report,
  confusion matrix);
* translation: sacrebleu's corpus BLEU and chrF (scores from 0 to 100);
* named entities: seqeval's entity-level F1 (an entity counts only if its type and span match);
* summaries: Google's rouge-score for ROUGE-L.

Written here by hand, because each is a few lines and worth reading: SQuAD's exact match and token
F1, bits per byte, the text-diversity measures and the ranking metrics.

The libraries are imported only inside the functions that need them; a missing one raises
``ImportError`` saying which ``pip install`` to run.
"""
from __future__ import annotations

import importlib
import math
import re
import string
from collections import Counter

import numpy as np


def _require(module: str, package: str, what: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"gptlib.metrics.{what} needs the {package} package: pip install {package}") from None


def _pairs(y_true, y_pred, what: str) -> tuple[list, list]:
    y_true, y_pred = list(y_true), list(y_pred)
    if not y_true:
        raise ValueError(f"{what}: y_true is empty; pass one label per example")
    if len(y_true) != len(y_pred):
        raise ValueError(f"{what}: y_true has {len(y_true)} labels but y_pred has {len(y_pred)}; "
                         "pass one prediction per example")
    return y_true, y_pred


# ------------------------------------------------------------------------------ classification
def accuracy(y_true, y_pred) -> float:
    """Share of examples whose predicted label is the true one."""
    y_true, y_pred = _pairs(y_true, y_pred, "accuracy")
    return float(_require("sklearn.metrics", "scikit-learn", "accuracy").accuracy_score(y_true, y_pred))


def macro_f1(y_true, y_pred) -> float:
    """F1 of each class, averaged with equal weight per class (a rare class counts as much as a common one)."""
    y_true, y_pred = _pairs(y_true, y_pred, "macro_f1")
    sk = _require("sklearn.metrics", "scikit-learn", "macro_f1")
    return float(sk.f1_score(y_true, y_pred, average="macro", zero_division=0))


def balanced_accuracy(y_true, y_pred) -> float:
    """The mean over classes of each class's recall: 0.5 for a constant guess with two classes,
    however unbalanced they are."""
    y_true, y_pred = _pairs(y_true, y_pred, "balanced_accuracy")
    sk = _require("sklearn.metrics", "scikit-learn", "balanced_accuracy")
    return float(sk.balanced_accuracy_score(y_true, y_pred))


def precision_recall_f1(y_true, y_pred, labels=None) -> dict:
    """Per class: ``{label: {"precision", "recall", "f1", "support"}}``.

    precision = TP / (TP + FP), recall = TP / (TP + FN), F1 = their harmonic mean; support is
    the number of true examples of the class. A class never predicted has precision 0."""
    y_true, y_pred = _pairs(y_true, y_pred, "precision_recall_f1")
    sk = _require("sklearn.metrics", "scikit-learn", "precision_recall_f1")
    labels = sorted(set(y_true) | set(y_pred)) if labels is None else list(labels)
    p, r, f, s = sk.precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return {lbl: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, lbl in enumerate(labels)}


def classification_report(y_true, y_pred, target_names=None, digits: int = 3) -> str:
    """scikit-learn's text report: precision, recall, F1 and support per class, and their averages.
    With ``target_names``, labels are the class indices 0..len(target_names)-1 and
    ``target_names[i]`` names class i."""
    y_true, y_pred = _pairs(y_true, y_pred, "classification_report")
    sk = _require("sklearn.metrics", "scikit-learn", "classification_report")
    labels = None
    if target_names is not None:
        labels = list(range(len(target_names)))
    return sk.classification_report(y_true, y_pred, labels=labels, target_names=target_names,
                                    digits=digits, zero_division=0)


def confusion_matrix(y_true, y_pred, labels=None) -> np.ndarray:
    """``C[i, j]`` = number of examples of true class ``labels[i]`` predicted as ``labels[j]``."""
    y_true, y_pred = _pairs(y_true, y_pred, "confusion_matrix")
    sk = _require("sklearn.metrics", "scikit-learn", "confusion_matrix")
    return sk.confusion_matrix(y_true, y_pred, labels=labels)


# --------------------------------------------------------------------------------- translation
def _references(hypotheses, references, what: str) -> tuple[list[str], list[list[str]]]:
    """Hypotheses and, per hypothesis, its references (one string or a list of them) → sacrebleu's
    layout: one list per reference position, each as long as the hypotheses."""
    if isinstance(hypotheses, str):
        raise TypeError(f"{what}: hypotheses must be a list of strings, not one string")
    hyps = list(hypotheses)
    refs = [[r] if isinstance(r, str) else list(r) for r in references]
    if not hyps:
        raise ValueError(f"{what}: hypotheses is empty")
    if len(refs) != len(hyps):
        raise ValueError(f"{what}: {len(hyps)} hypotheses but {len(refs)} references; pass one "
                         "reference (or a list of references) per hypothesis")
    n = {len(r) for r in refs}
    if len(n) != 1 or 0 in n:
        raise ValueError(f"{what}: every hypothesis needs the same number (>= 1) of references")
    if not all(isinstance(x, str) for x in hyps) or not all(isinstance(x, str) for r in refs for x in r):
        raise TypeError(f"{what}: hypotheses and references must be strings (detokenized text)")
    return hyps, [list(col) for col in zip(*refs)]


def bleu(hypotheses, references) -> float:
    """Corpus BLEU (sacrebleu's defaults: 13a tokenization, 4-grams), 0 to 100.

    ``references[i]`` is the reference for ``hypotheses[i]``, or a list of references. BLEU is a
    corpus score: it is not the mean of sentence scores."""
    hyps, refs = _references(hypotheses, references, "bleu")
    sacrebleu = _require("sacrebleu", "sacrebleu", "bleu")
    return float(sacrebleu.corpus_bleu(hyps, refs).score)


def chrf(hypotheses, references) -> float:
    """Corpus chrF (character 6-gram F-score, β = 2; sacrebleu's defaults), 0 to 100."""
    hyps, refs = _references(hypotheses, references, "chrf")
    sacrebleu = _require("sacrebleu", "sacrebleu", "chrf")
    return float(sacrebleu.corpus_chrf(hyps, refs).score)


# ------------------------------------------------------------------------------------------ NER
def _tag_lists(true_tags, pred_tags, what: str):
    true_tags, pred_tags = [list(s) for s in true_tags], [list(s) for s in pred_tags]
    if not true_tags:
        raise ValueError(f"{what}: true_tags is empty; pass one list of BIO tags per sentence")
    if len(true_tags) != len(pred_tags):
        raise ValueError(f"{what}: {len(true_tags)} true sentences but {len(pred_tags)} predicted")
    for i, (t, p) in enumerate(zip(true_tags, pred_tags)):
        if len(t) != len(p):
            raise ValueError(f"{what}: sentence {i} has {len(t)} true tags but {len(p)} predicted; "
                             "predict one tag per token")
    return true_tags, pred_tags


def entity_scores(true_tags, pred_tags) -> dict:
    """Entity-level precision, recall and F1 (seqeval, CoNLL rules): an entity is right only if its
    type and its exact span are right. Inputs: one list of BIO tags per sentence."""
    true_tags, pred_tags = _tag_lists(true_tags, pred_tags, "entity_scores")
    seqeval = _require("seqeval.metrics", "seqeval", "entity_scores")
    return {"precision": float(seqeval.precision_score(true_tags, pred_tags, zero_division=0)),
            "recall": float(seqeval.recall_score(true_tags, pred_tags, zero_division=0)),
            "f1": float(seqeval.f1_score(true_tags, pred_tags, zero_division=0))}


def entity_f1(true_tags, pred_tags) -> float:
    """Entity-level F1 (see :func:`entity_scores`)."""
    return entity_scores(true_tags, pred_tags)["f1"]


# -------------------------------------------------------------------------------------- ROUGE-L
def rouge_l(predictions, references, use_stemmer: bool = True) -> float:
    """Mean ROUGE-L F-measure (longest common subsequence of words) over the pairs, 0 to 1."""
    if isinstance(predictions, str) or isinstance(references, str):
        raise TypeError("rouge_l: pass lists of strings, not one string")
    predictions, references = list(predictions), list(references)
    if not predictions or len(predictions) != len(references):
        raise ValueError(f"rouge_l: need as many references as predictions (>= 1), got "
                         f"{len(predictions)} and {len(references)}")
    rs = _require("rouge_score.rouge_scorer", "rouge-score", "rouge_l")
    scorer = rs.RougeScorer(["rougeL"], use_stemmer=use_stemmer)
    return float(np.mean([scorer.score(ref, pred)["rougeL"].fmeasure
                          for pred, ref in zip(predictions, references)]))


# ---------------------------------------------------------------------------------------- SQuAD
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def squad_normalize(text: str) -> str:
    """SQuAD v1.1's answer normalisation: "Lower text and remove punctuation, articles and extra
    whitespace" (lower-case; drop ASCII punctuation; drop the words a, an, the; collapse spaces)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _golds(gold_answers, what: str) -> list[str]:
    golds = [gold_answers] if isinstance(gold_answers, str) else list(gold_answers)
    if not golds:
        raise ValueError(f"{what}: gold_answers is empty; pass the question's reference answers")
    return golds


def squad_exact_match(prediction: str, gold_answers) -> float:
    """1.0 if the normalised prediction equals any normalised gold answer, else 0.0.

    SQuAD v1.1 (Rajpurkar et al., 2016): "Exact match. This metric measures the percentage of
    predictions that match any one of the ground truth answers exactly." Normalisation:
    :func:`squad_normalize`."""
    pred = squad_normalize(prediction)
    return float(max(pred == squad_normalize(g) for g in _golds(gold_answers, "squad_exact_match")))


def _token_f1(prediction: str, gold: str) -> float:
    pred, ref = squad_normalize(prediction).split(), squad_normalize(gold).split()
    same = sum((Counter(pred) & Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def squad_f1(prediction: str, gold_answers) -> float:
    """Token F1 between prediction and gold answer, the maximum over the gold answers.

    SQuAD v1.1: "(Macro-averaged) F1 score. This metric measures the average overlap between the
    prediction and ground truth answer. We treat the prediction and ground truth as bags of
    tokens, and compute their F1. We take the maximum F1 over all of the ground truth answers for
    a given question, and then average over all of the questions." Tokens are the words of the
    normalised strings; shared tokens are counted with multiplicity; no shared token gives 0."""
    return max(_token_f1(prediction, g) for g in _golds(gold_answers, "squad_f1"))


def squad_scores(predictions, gold_answers) -> dict:
    """``{"exact_match", "f1"}`` in percent, averaged over questions as the official script does.
    ``gold_answers[i]`` is the list of reference answers of question i."""
    predictions, gold_answers = list(predictions), list(gold_answers)
    if not predictions or len(predictions) != len(gold_answers):
        raise ValueError(f"squad_scores: need one prediction per question (>= 1), got {len(predictions)} "
                         f"predictions and {len(gold_answers)} answer lists")
    em = [squad_exact_match(p, g) for p, g in zip(predictions, gold_answers)]
    f1 = [squad_f1(p, g) for p, g in zip(predictions, gold_answers)]
    return {"exact_match": 100 * sum(em) / len(em), "f1": 100 * sum(f1) / len(f1)}


# ------------------------------------------------------------------------------ language models
def bits_per_byte(mean_loss_nats_per_token: float, n_tokens: int, n_bytes: int) -> float:
    """Bits per byte: loss · n_tokens / (ln 2 · n_bytes).

    The total loss of a text in nats (mean loss per token × tokens), converted to bits, per UTF-8
    byte of the text. Unlike loss per token it does not depend on the tokenizer, so a character
    model and a BPE model of the same text can be compared."""
    for name, v in (("n_tokens", n_tokens), ("n_bytes", n_bytes)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    loss = float(mean_loss_nats_per_token)
    if not math.isfinite(loss) or loss < 0:
        raise ValueError(f"mean_loss_nats_per_token must be a finite loss >= 0, got {mean_loss_nats_per_token!r}")
    return loss * n_tokens / (math.log(2) * n_bytes)


def _tokens(text_or_tokens, what: str) -> list:
    if isinstance(text_or_tokens, str):
        return text_or_tokens.split()
    try:
        return list(text_or_tokens)
    except TypeError:
        raise TypeError(f"{what}: pass a string (split on whitespace) or a list of tokens, "
                        f"got {type(text_or_tokens).__name__}") from None


def _ngrams(tokens: list, n: int) -> list[tuple]:
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def _check_n(n, what: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{what}: n must be an int >= 1, got {n!r}")


def distinct_n(texts, n: int) -> float:
    """Distinct-n (Li et al., 2016): distinct n-grams / all n-grams, pooled over ``texts``.

    1.0 means no n-gram repeats anywhere; low values mean repetitive samples. Each text is a string
    (split on whitespace) or a list of tokens. No n-gram at all gives 0.0."""
    _check_n(n, "distinct_n")
    if isinstance(texts, str):
        raise TypeError("distinct_n: texts must be a list of texts; wrap a single text in a list")
    texts = list(texts)
    if not texts:
        raise ValueError("distinct_n: texts is empty")
    grams = [g for t in texts for g in _ngrams(_tokens(t, "distinct_n"), n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def repeated_ngram_rate(text_or_tokens, n: int) -> float:
    """Share of the n-grams of one text that already occurred earlier in it: (all − distinct) / all.

    0.0 for a text without repeats; close to 1.0 for a sample stuck in a loop. Fewer than ``n``
    tokens gives 0.0."""
    _check_n(n, "repeated_ngram_rate")
    grams = _ngrams(_tokens(text_or_tokens, "repeated_ngram_rate"), n)
    return (len(grams) - len(set(grams))) / len(grams) if grams else 0.0


# -------------------------------------------------------------------------------------- ranking
def _rankings(rankings, relevant, k, what: str):
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"{what}: k must be an int >= 1, got {k!r}")
    rankings, relevant = [list(r) for r in rankings], list(relevant)
    if not rankings:
        raise ValueError(f"{what}: rankings is empty; pass one ranked list of items per query")
    if len(rankings) != len(relevant):
        raise ValueError(f"{what}: {len(rankings)} rankings but {len(relevant)} relevant sets; "
                         "pass one per query")
    rel_sets = []
    for q, r in enumerate(relevant):
        if isinstance(r, dict):
            gains = {item: float(g) for item, g in r.items()}
        elif isinstance(r, (str, bytes, int, np.integer)):
            gains = {r: 1.0}                      # one relevant item
        else:
            gains = {item: 1.0 for item in r}
        if not gains or all(g <= 0 for g in gains.values()):
            raise ValueError(f"{what}: query {q} has no relevant item; drop it or give it one")
        rel_sets.append(gains)
    return rankings, rel_sets


def hit_rate_at_k(rankings, relevant, k: int) -> float:
    """Share of queries with at least one relevant item among their top ``k``.

    ``rankings[q]`` lists items best first; ``relevant[q]`` is the relevant item, a collection of
    them, or a dict item → gain."""
    rankings, rel = _rankings(rankings, relevant, k, "hit_rate_at_k")
    return float(np.mean([any(rel[q].get(item, 0) > 0 for item in r[:k]) for q, r in enumerate(rankings)]))


def recall_at_k(rankings, relevant, k: int) -> float:
    """Mean over queries of |relevant ∩ top k| / |relevant|."""
    rankings, rel = _rankings(rankings, relevant, k, "recall_at_k")
    out = []
    for q, r in enumerate(rankings):
        wanted = {item for item, g in rel[q].items() if g > 0}
        out.append(len(wanted & set(r[:k])) / len(wanted))
    return float(np.mean(out))


def ndcg_at_k(rankings, relevant, k: int) -> float:
    """Mean over queries of DCG@k / ideal DCG@k, with DCG@k = Σ_{i=1..k} gain_i / log2(i + 1).

    Gains are 1 for relevant items (or the dict's values), 0 otherwise; the ideal DCG ranks the
    relevant items by gain, best first. 1.0 means the best possible order."""
    rankings, rel = _rankings(rankings, relevant, k, "ndcg_at_k")
    out = []
    for q, r in enumerate(rankings):
        seen, dcg = set(), 0.0
        for i, item in enumerate(r[:k]):
            if item not in seen:                  # an item listed twice earns its gain once
                dcg += rel[q].get(item, 0.0) / math.log2(i + 2)
                seen.add(item)
        ideal = sorted((g for g in rel[q].values() if g > 0), reverse=True)[:k]
        idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
        out.append(dcg / idcg)
    return float(np.mean(out))
