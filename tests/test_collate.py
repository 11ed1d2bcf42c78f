"""Padding, attention masks and loss targets: shapes, where the pads go, where -100 goes."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gptlib.data import IGNORE_INDEX, collate_causal_lm, collate_classification, pad_sequences

PAD = 0


def test_right_padding():
    ids, mask = pad_sequences([[5, 6, 7], [8], [9, 10]], pad_id=PAD)
    assert ids.dtype == mask.dtype == torch.long and ids.shape == mask.shape == (3, 3)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0], [9, 10, 0]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0], [1, 1, 0]]


def test_left_padding_puts_every_last_token_in_the_last_column():
    ids, mask = pad_sequences([[5, 6, 7], [8], [9, 10]], pad_id=PAD, side="left")
    assert ids.tolist() == [[5, 6, 7], [0, 0, 8], [0, 9, 10]]
    assert mask.tolist() == [[1, 1, 1], [0, 0, 1], [0, 1, 1]]
    assert ids[:, -1].tolist() == [7, 8, 10]


def test_the_mask_comes_from_positions_not_from_the_pad_value():
    ids, mask = pad_sequences([[50256, 3], [4]], pad_id=50256)        # pad id is also a real token
    assert ids.tolist() == [[50256, 3], [4, 50256]] and mask.tolist() == [[1, 1], [1, 0]]


def test_truncation_keeps_the_first_tokens_on_either_side():
    seqs = [list(range(1, 8)), [1, 2]]
    for side in ("right", "left"):
        ids, mask = pad_sequences(seqs, pad_id=PAD, side=side, max_len=4)
        assert ids.shape == (2, 4)
        assert ids[0].tolist() == [1, 2, 3, 4]
        assert ids[1].tolist() == ([1, 2, 0, 0] if side == "right" else [0, 0, 1, 2])
    ids, _ = pad_sequences([[1, 2]], pad_id=PAD, max_len=10)          # max_len is a cap, not a width
    assert ids.shape == (1, 2)


def test_tensors_and_numpy_ids_are_accepted():
    ids, mask = pad_sequences([torch.tensor([1, 2]), np.array([3], dtype=np.int64), (4, 5, 6)], pad_id=PAD)
    assert ids.tolist() == [[1, 2, 0], [3, 0, 0], [4, 5, 6]] and mask.sum().item() == 6


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(seqs=[]), ValueError, "seqs is empty"),
    (dict(seqs=[[1], []]), ValueError, r"seqs\[1\] is empty"),
    (dict(seqs=[[1, 2.0]]), TypeError, r"seqs\[0\]\[1\] is 2.0 \(float\); token ids must be ints"),
    (dict(seqs=[[1, True]]), TypeError, r"seqs\[0\]\[1\] is True"),
    (dict(seqs=["hello"]), TypeError, r"seqs\[0\] is a str; pass token ids"),
    (dict(seqs=[torch.tensor([1.0, 2.0])]), TypeError, "integer token ids"),
    (dict(seqs=[torch.tensor([[1, 2]])]), ValueError, "must be 1-D"),
    (dict(seqs=[[1, -3]]), ValueError, "negative token id -3"),
    (dict(seqs=[[1]], side="middle"), ValueError, "side must be 'right' or 'left'"),
    (dict(seqs=[[1]], max_len=0), ValueError, "max_len must be >= 1"),
    (dict(seqs=[[1]], max_len=2.5), TypeError, "max_len must be an int or None"),
    (dict(seqs=[[1]], pad_id=-1), ValueError, "pad_id must be a token id >= 0"),
    (dict(seqs=[[1]], pad_id=None), TypeError, "pad_id must be an int"),
    (dict(seqs=5), TypeError, "seqs must be a list of examples"),
])
def test_pad_sequences_bad_inputs(kwargs, error, message):
    kwargs = {"pad_id": PAD, **kwargs}
    with pytest.raises(error, match=message):
        pad_sequences(**kwargs)


def test_collate_classification():
    out = collate_classification([([1, 2, 3], 1), ([4], 0)], pad_id=PAD, side="left")
    assert set(out) == {"input_ids", "attention_mask", "labels"}
    assert out["input_ids"].tolist() == [[1, 2, 3], [0, 0, 4]]
    assert out["attention_mask"].tolist() == [[1, 1, 1], [0, 0, 1]]
    assert out["labels"].dtype == torch.long and out["labels"].tolist() == [1, 0]
    out = collate_classification([([1, 2, 3], torch.tensor(2))], pad_id=PAD, max_len=2)
    assert out["input_ids"].tolist() == [[1, 2]] and out["labels"].tolist() == [2]


@pytest.mark.parametrize("batch, error, message", [
    ([], ValueError, "batch is empty"),
    ([[1, 2, 3]], TypeError, r"batch\[0\] must be an \(ids, label\) pair"),
    ([([1], "spam")], TypeError, r"batch\[0\] label is 'spam'"),
    ([([1], 1.0)], TypeError, "labels must be int class indices"),
    ([([1], -1)], ValueError, "class indices are >= 0"),
    ([([], 1)], ValueError, r"batch\[0\] ids is empty"),
])
def test_collate_classification_bad_inputs(batch, error, message):
    with pytest.raises(error, match=message):
        collate_classification(batch, pad_id=PAD)


def test_causal_lm_targets_are_shifted_inputs_with_prompt_and_padding_masked():
    batch = [([11, 12, 13], [21, 22]), ([14], [23, 24, 25, 26])]
    out = collate_causal_lm(batch, pad_id=PAD)
    assert set(out) == {"input_ids", "targets", "attention_mask"}
    # row 0: s = 11 12 13 21 22 -> inputs s[:-1], targets s[1:]; targets 12, 13 are prompt tokens
    # row 1: s = 14 23 24 25 26 -> nothing of a one-token prompt is ever a target
    assert out["input_ids"].tolist() == [[11, 12, 13, 21], [14, 23, 24, 25]]
    assert out["targets"].tolist() == [[-100, -100, 21, 22], [23, 24, 25, 26]]
    assert out["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 1, 1]]

    out = collate_causal_lm([([11, 12, 13], [21]), ([14], [23, 24, 25, 26, 27])], pad_id=PAD)
    assert out["input_ids"].tolist() == [[11, 12, 13, 0, 0], [14, 23, 24, 25, 26]]
    assert out["targets"].tolist() == [[-100, -100, 21, -100, -100], [23, 24, 25, 26, 27]]
    assert out["attention_mask"].tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]


def test_causal_lm_without_prompt_masking_and_left_padding():
    batch = [([11, 12], [21]), ([14, 15], [23, 24, 25])]
    out = collate_causal_lm(batch, pad_id=PAD, mask_prompt=False, side="left")
    assert out["input_ids"].tolist() == [[0, 0, 11, 12], [14, 15, 23, 24]]
    assert out["targets"].tolist() == [[-100, -100, 12, 21], [15, 23, 24, 25]]
    assert out["attention_mask"].tolist() == [[0, 0, 1, 1], [1, 1, 1, 1]]
    masked = collate_causal_lm(batch, pad_id=PAD, side="left")
    assert masked["targets"].tolist() == [[-100, -100, -100, 21], [-100, 23, 24, 25]]


def test_causal_lm_truncation_keeps_the_prompt_and_cuts_the_response():
    out = collate_causal_lm([([1, 2], [3, 4, 5, 6, 7])], pad_id=PAD, max_len=4)
    assert out["input_ids"].tolist() == [[1, 2, 3, 4]] and out["targets"].tolist() == [[-100, 3, 4, 5]]
    with pytest.raises(ValueError, match=r"batch\[0\]: with max_len=2 no response token is left"):
        collate_causal_lm([([1, 2, 3], [4])], pad_id=PAD, max_len=2)


def test_the_targets_give_the_loss_over_response_tokens_only():
    # cross_entropy skips -100: the loss is the mean over the response tokens and nothing else
    batch = [([1, 2, 3], [4, 5]), ([6], [7, 8, 9])]
    out = collate_causal_lm(batch, pad_id=PAD)
    logits = torch.randn(2, out["input_ids"].shape[1], 10, generator=torch.Generator().manual_seed(0))
    loss = F.cross_entropy(logits.flatten(0, 1), out["targets"].flatten())
    logp = logits.log_softmax(-1)
    by_hand = -torch.stack([logp[0, 2, 4], logp[0, 3, 5], logp[1, 0, 7], logp[1, 1, 8], logp[1, 2, 9]]).mean()
    torch.testing.assert_close(loss, by_hand)


@pytest.mark.parametrize("batch, kwargs, error, message", [
    ([], {}, ValueError, "batch is empty"),
    ([([1], [])], {}, ValueError, r"batch\[0\] response_ids is empty"),
    ([([], [5])], {}, ValueError, "at least 2"),
    ([([1], [2], [3])], {}, TypeError, r"batch\[0\] must be a \(prompt_ids, response_ids\) pair"),
    ([([1], [2.5])], {}, TypeError, r"batch\[0\] response_ids\[0\] is 2.5"),
    ([([1], [2])], {"mask_prompt": "yes"}, TypeError, "mask_prompt must be True or False"),
    ([([1], [2])], {"side": "up"}, ValueError, "side must be 'right' or 'left'"),
    ([([1], [2])], {"max_len": -4}, ValueError, "max_len must be >= 1"),
    ([([1], [2])], {"pad_id": -100}, ValueError, "pad_id must be a token id >= 0"),
])
def test_collate_causal_lm_bad_inputs(batch, kwargs, error, message):
    kwargs = {"pad_id": PAD, **kwargs}
    with pytest.raises(error, match=message):
        collate_causal_lm(batch, **kwargs)


def test_an_empty_prompt_is_plain_language_modelling():
    out = collate_causal_lm([([], [5, 6, 7])], pad_id=PAD)
    assert out["input_ids"].tolist() == [[5, 6]] and out["targets"].tolist() == [[6, 7]]
    assert IGNORE_INDEX == -100
