"""gptlib.metrics against values worked out by hand (the arithmetic is in the comments)."""
import math
import subprocess
import sys

import numpy as np
import pytest

from gptlib import metrics as m

# ------------------------------------------------------------------------------ classification
# true 0 0 0 0 1 1 / predicted 0 0 0 1 1 0:
#   class 0: TP 3, FP 1, FN 1 -> precision 3/4, recall 3/4, F1 3/4
#   class 1: TP 1, FP 1, FN 1 -> precision 1/2, recall 1/2, F1 1/2
Y_TRUE, Y_PRED = [0, 0, 0, 0, 1, 1], [0, 0, 0, 1, 1, 0]


def test_classification_scores():
    assert m.accuracy(Y_TRUE, Y_PRED) == pytest.approx(4 / 6)
    assert m.macro_f1(Y_TRUE, Y_PRED) == pytest.approx((3 / 4 + 1 / 2) / 2)
    assert m.balanced_accuracy(Y_TRUE, Y_PRED) == pytest.approx((3 / 4 + 1 / 2) / 2)
    per = m.precision_recall_f1(Y_TRUE, Y_PRED)
    assert per[0] == pytest.approx({"precision": 0.75, "recall": 0.75, "f1": 0.75, "support": 4})
    assert per[1] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    np.testing.assert_array_equal(m.confusion_matrix(Y_TRUE, Y_PRED), [[3, 1], [1, 1]])
    np.testing.assert_array_equal(m.confusion_matrix(Y_TRUE, Y_PRED, labels=[1, 0]), [[1, 1], [1, 3]])


def test_a_constant_guess_on_unbalanced_data():
    y_true, y_pred = [0] * 9 + [1], [0] * 10
    assert m.accuracy(y_true, y_pred) == pytest.approx(0.9)              # looks good ...
    assert m.balanced_accuracy(y_true, y_pred) == pytest.approx(0.5)     # ... but is a coin toss
    # F1 of class 0: P 9/10, R 1 -> 18/19; class 1 never predicted: 0
    assert m.macro_f1(y_true, y_pred) == pytest.approx(18 / 19 / 2)
    assert m.precision_recall_f1(y_true, y_pred)[1]["precision"] == 0.0


def test_classification_report_names_the_classes():
    report = m.classification_report(Y_TRUE, Y_PRED, target_names=["ham", "spam"])
    lines = {line.split()[0]: line.split()[1:] for line in report.splitlines() if line.strip()}
    assert lines["ham"] == ["0.750", "0.750", "0.750", "4"] and lines["spam"] == ["0.500", "0.500", "0.500", "2"]


@pytest.mark.parametrize("fn", [m.accuracy, m.macro_f1, m.balanced_accuracy, m.precision_recall_f1,
                                m.classification_report, m.confusion_matrix])
def test_classification_bad_inputs(fn):
    with pytest.raises(ValueError, match="y_true is empty"):
        fn([], [])
    with pytest.raises(ValueError, match="y_true has 2 labels but y_pred has 1"):
        fn([0, 1], [0])


# --------------------------------------------------------------------------------- translation
def test_bleu_by_hand():
    # hypothesis "the cat sat on the red mat" (7 words), reference "the cat sat on the mat" (6):
    # n-gram precisions 6/7, 4/6, 3/5, 2/4; brevity penalty 1 (the hypothesis is longer)
    # BLEU = (6/7 * 4/6 * 3/5 * 2/4) ** (1/4) = (144/840) ** 0.25 = 0.64346
    assert m.bleu(["the cat sat on the red mat"], ["the cat sat on the mat"]) == pytest.approx(64.346, abs=1e-3)
    assert m.bleu(["the cat sat on the mat"], ["the cat sat on the mat"]) == pytest.approx(100)
    # a second reference that matches exactly makes it perfect
    assert m.bleu(["the cat sat on the red mat"],
                  [["the cat sat on the mat", "the cat sat on the red mat"]]) == pytest.approx(100)


def test_bleu_is_a_corpus_score_not_a_mean():
    hyps, refs = ["the cat sat on the red mat", "a b c d"], ["the cat sat on the mat", "a b c d"]
    corpus = m.bleu(hyps, refs)
    # pooled n-gram counts: (6+4)/(7+4), (4+3)/(6+3), (3+2)/(5+2), (2+1)/(4+1); lengths 11 vs 10
    by_hand = 100 * ((10 / 11) * (7 / 9) * (5 / 7) * (3 / 5)) ** 0.25
    assert corpus == pytest.approx(by_hand, abs=1e-3)
    assert corpus != pytest.approx((m.bleu(hyps[:1], refs[:1]) + m.bleu(hyps[1:], refs[1:])) / 2)


def test_chrf():
    assert m.chrf(["abc"], ["abc"]) == pytest.approx(100)
    assert m.chrf(["abc"], ["xyz"]) == pytest.approx(0)
    assert m.chrf(["the cat"], [["a dog", "the cat"]]) == pytest.approx(100)   # best reference counts
    assert 0 < m.chrf(["the cats"], ["the cat"]) < 100


@pytest.mark.parametrize("fn", [m.bleu, m.chrf])
def test_translation_bad_inputs(fn):
    with pytest.raises(ValueError, match="hypotheses is empty"):
        fn([], [])
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        fn(["a", "b"], ["a"])
    with pytest.raises(TypeError, match="not one string"):
        fn("a b", ["a b"])
    with pytest.raises(ValueError, match="same number"):
        fn(["a", "b"], [["a"], ["b", "c"]])


# ------------------------------------------------------------------------------------------ NER
def test_entity_scores_need_the_type_and_the_exact_span():
    true = [["B-person", "I-person", "O", "B-location"]]
    wrong_type = [["B-person", "I-person", "O", "B-group"]]        # 1 of 2 right
    wrong_span = [["B-person", "O", "O", "B-location"]]            # person span too short: 1 of 2
    assert m.entity_scores(true, wrong_type) == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5})
    assert m.entity_f1(true, wrong_span) == pytest.approx(0.5)
    assert m.entity_f1(true, true) == pytest.approx(1.0)
    # 2 true entities, 3 predicted, 1 right: P 1/3, R 1/2, F1 = 2/5
    extra = [["B-person", "O", "B-group", "B-location"]]
    assert m.entity_scores(true, [["B-person", "I-person", "B-group", "B-group"]]) == \
        pytest.approx({"precision": 1 / 3, "recall": 1 / 2, "f1": 0.4})
    assert m.entity_f1(true, extra) == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))


def test_entity_scores_bad_inputs():
    with pytest.raises(ValueError, match="true_tags is empty"):
        m.entity_f1([], [])
    with pytest.raises(ValueError, match="1 true sentences but 2 predicted"):
        m.entity_f1([["O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match="sentence 0 has 2 true tags but 1 predicted"):
        m.entity_f1([["O", "O"]], [["O"]])


# -------------------------------------------------------------------------------------- ROUGE-L
def test_rouge_l():
    # LCS of "the cat sat" and "the cat was sat" is 3 words: P 3/3, R 3/4, F = 6/7
    assert m.rouge_l(["the cat sat"], ["the cat was sat"]) == pytest.approx(6 / 7)
    assert m.rouge_l(["the cat sat", "x"], ["the cat was sat", "y"]) == pytest.approx(3 / 7)   # mean
    with pytest.raises(ValueError, match="as many references as predictions"):
        m.rouge_l(["a"], [])
    with pytest.raises(TypeError, match="lists of strings"):
        m.rouge_l("a", "a")


# ---------------------------------------------------------------------------------------- SQuAD
def test_squad_normalisation():
    assert m.squad_normalize("The  Eiffel-Tower!") == "eiffeltower"
    assert m.squad_normalize("An apple, a pear and THE plum.") == "apple pear and plum"
    assert m.squad_normalize("theatre") == "theatre"                    # whole words only


def test_squad_exact_match_and_f1():
    assert m.squad_exact_match("the Eiffel Tower", ["Eiffel Tower."]) == 1.0
    assert m.squad_exact_match("Eiffel", ["Eiffel Tower", "Paris"]) == 0.0
    # pred {eiffel, tower, in, paris}: vs "Eiffel Tower" P 2/4 R 1 -> 2/3; vs "Paris" P 1/4 R 1 -> 2/5
    assert m.squad_f1("Eiffel Tower in Paris", ["the Eiffel Tower", "Paris"]) == pytest.approx(2 / 3)
    # bags of tokens: dog dog cat vs dog cat cat share one dog and one cat: P = R = 2/3
    assert m.squad_f1("dog dog cat", "dog cat cat") == pytest.approx(2 / 3)
    assert m.squad_f1("nothing shared", ["Paris"]) == 0.0
    scores = m.squad_scores(["Paris", "Eiffel Tower in Paris"], [["Paris"], ["Eiffel Tower"]])
    assert scores == pytest.approx({"exact_match": 50.0, "f1": 100 * (1 + 2 / 3) / 2})


def test_squad_bad_inputs():
    with pytest.raises(ValueError, match="gold_answers is empty"):
        m.squad_f1("x", [])
    with pytest.raises(ValueError, match="gold_answers is empty"):
        m.squad_exact_match("x", [])
    with pytest.raises(ValueError, match="one prediction per question"):
        m.squad_scores(["a"], [["a"], ["b"]])


# ------------------------------------------------------------------------------ language models
def test_bits_per_byte():
    assert m.bits_per_byte(1.0, 100, 100) == pytest.approx(1 / math.log(2))
    # a BPE model: 3.0 nats/token over 250 tokens of a 1,000-byte text = 750 nats = 1082.0 bits
    assert m.bits_per_byte(3.0, 250, 1000) == pytest.approx(1.082021, abs=1e-6)
    # the same text with a char model at 0.75 nats/char: same total, same bits per byte
    assert m.bits_per_byte(0.75, 1000, 1000) == pytest.approx(m.bits_per_byte(3.0, 250, 1000))
    for bad in [dict(n_tokens=0), dict(n_bytes=-1), dict(n_tokens=2.5), dict(mean_loss_nats_per_token=float("nan")),
                dict(mean_loss_nats_per_token=-1.0)]:
        kwargs = {"mean_loss_nats_per_token": 1.0, "n_tokens": 10, "n_bytes": 10, **bad}
        with pytest.raises(ValueError, match=next(iter(bad))):
            m.bits_per_byte(**kwargs)


def test_text_diversity():
    # bigrams: "a b a b" -> ab ba ab; "a b c" -> ab bc: 5 in all, 3 distinct
    assert m.distinct_n(["a b a b", "a b c"], 2) == pytest.approx(3 / 5)
    assert m.distinct_n(["a b a b", "a b c"], 1) == pytest.approx(3 / 7)
    assert m.distinct_n([["x", "y"], ["y", "x"]], 1) == pytest.approx(2 / 4)
    assert m.distinct_n(["a"], 2) == 0.0
    # "a b a b a b": bigrams ab ba ab ba ab; 3 of the 5 repeat an earlier one
    assert m.repeated_ngram_rate("a b a b a b", 2) == pytest.approx(3 / 5)
    assert m.repeated_ngram_rate(["the", "cat", "sat"], 2) == 0.0
    assert m.repeated_ngram_rate("a", 3) == 0.0
    with pytest.raises(ValueError, match="n must be an int >= 1"):
        m.distinct_n(["a"], 0)
    with pytest.raises(ValueError, match="n must be an int >= 1"):
        m.repeated_ngram_rate("a b", 1.5)
    with pytest.raises(ValueError, match="texts is empty"):
        m.distinct_n([], 1)
    with pytest.raises(TypeError, match="wrap a single text in a list"):
        m.distinct_n("a b", 1)


# -------------------------------------------------------------------------------------- ranking
def test_ranking_metrics():
    rankings = [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert m.hit_rate_at_k(rankings, [3, 9], k=2) == 0.0
    assert m.hit_rate_at_k(rankings, [3, 9], k=3) == 0.5
    assert m.recall_at_k(rankings, [{3}, {9}], k=3) == 0.5
    assert m.recall_at_k([[1, 2, 3, 4]], [{2, 4}], k=2) == 0.5
    assert m.recall_at_k([[1, 2, 3, 4]], [{2, 4}], k=4) == 1.0
    # relevant 2 and 4 at ranks 2 and 4: DCG = 1/log2(3) + 1/log2(5) = 0.63093 + 0.43068 = 1.06161;
    # ideal: ranks 1 and 2, 1 + 0.63093 = 1.63093; nDCG = 0.65092
    assert m.ndcg_at_k([[1, 2, 3, 4]], [{2, 4}], k=4) == pytest.approx(0.65092, abs=1e-5)
    assert m.ndcg_at_k([[2, 4, 1, 3]], [{2, 4}], k=4) == pytest.approx(1.0)
    # graded gains a: 1, c: 3 in the order a b c: DCG = 1 + 3/2 = 2.5; ideal 3 + 1/log2(3) = 3.63093
    assert m.ndcg_at_k([["a", "b", "c"]], [{"a": 1, "c": 3}], k=3) == pytest.approx(0.68853, abs=1e-5)
    assert m.ndcg_at_k([[1, 1, 2]], [{1, 2}], k=3) < 1.0          # a repeated item earns nothing twice


@pytest.mark.parametrize("fn", [m.hit_rate_at_k, m.recall_at_k, m.ndcg_at_k])
def test_ranking_bad_inputs(fn):
    with pytest.raises(ValueError, match="k must be an int >= 1"):
        fn([[1]], [{1}], k=0)
    with pytest.raises(ValueError, match="rankings is empty"):
        fn([], [], k=1)
    with pytest.raises(ValueError, match="2 rankings but 1 relevant"):
        fn([[1], [2]], [{1}], k=1)
    with pytest.raises(ValueError, match="query 0 has no relevant item"):
        fn([[1]], [set()], k=1)


# --------------------------------------------------------------------------------- lazy imports
def test_heavy_libraries_are_imported_lazily():
    code = ("import sys, gptlib.metrics; "
            "print(sorted(m for m in ('sklearn', 'sacrebleu', 'seqeval', 'rouge_score') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("module, package, call", [
    ("sacrebleu", "sacrebleu", lambda: m.bleu(["a"], ["a"])),
    ("sklearn.metrics", "scikit-learn", lambda: m.accuracy([0], [0])),
    ("seqeval.metrics", "seqeval", lambda: m.entity_f1([["O"]], [["O"]])),
    ("rouge_score.rouge_scorer", "rouge-score", lambda: m.rouge_l(["a"], ["a"])),
])
def test_a_missing_library_says_what_to_install(monkeypatch, module, package, call):
    monkeypatch.setitem(sys.modules, module, None)      # import now raises ImportError
    with pytest.raises(ImportError, match=f"pip install {package}"):
        call()
