"""Task heads: last-real-token pooling, token labels, and clear errors."""
import pytest
import torch
import torch.nn.functional as F

from gptlib.heads import SequenceClassifier, TokenClassifier, last_token_index
from gptlib.model import GPT, GPTConfig

CFG = dict(vocab_size=30, block_size=16, n_layer=2, n_head=2, n_embd=16)


def test_last_token_index_right_and_left_padding():
    right = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]])
    assert last_token_index(right).tolist() == [2, 4, 0]
    left = right.flip(-1)
    assert last_token_index(left).tolist() == [4, 4, 4]
    with pytest.raises(ValueError, match="no real token"):
        last_token_index(torch.tensor([[0, 0], [1, 0]]))


@pytest.mark.parametrize("side", ["right", "left"])
def test_sequence_classifier_reads_the_last_real_token(side):
    torch.manual_seed(0)
    clf = SequenceClassifier(GPT(GPTConfig(**CFG)), num_classes=3).eval()
    a, b = torch.randint(1, 30, (1, 6)), torch.randint(1, 30, (1, 3))
    pad = torch.zeros(1, 3, dtype=torch.long)
    if side == "right":
        rows, mask_b = torch.cat([b, pad], 1), torch.tensor([[1, 1, 1, 0, 0, 0]])
    else:
        rows, mask_b = torch.cat([pad, b], 1), torch.tensor([[0, 0, 0, 1, 1, 1]])
    batch = torch.cat([rows, a], 0)
    mask = torch.cat([mask_b, torch.ones(1, 6, dtype=torch.long)], 0)
    out = clf(batch, torch.tensor([2, 0]), attention_mask=mask)
    alone_b, alone_a = clf(b).logits[0], clf(a).logits[0]
    torch.testing.assert_close(out.logits[0], alone_b, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out.logits[1], alone_a, atol=1e-5, rtol=1e-4)
    # the pooled state is the trunk's state at the last real token, scored by one Linear
    hidden = clf.backbone.trunk(a)[0]
    torch.testing.assert_close(alone_a, clf.score(hidden[0, -1]))
    torch.testing.assert_close(out.loss, F.cross_entropy(out.logits, torch.tensor([2, 0])))


def test_token_classifier_ignores_minus_100():
    torch.manual_seed(0)
    tc = TokenClassifier(GPT(GPTConfig(**CFG)), num_labels=5, dropout=0.0).eval()
    x = torch.randint(0, 30, (2, 7))
    labels = torch.randint(0, 5, (2, 7))
    labels[:, :2] = -100
    out = tc(x, labels)
    assert out.logits.shape == (2, 7, 5)
    expected = F.cross_entropy(out.logits[:, 2:].reshape(-1, 5), labels[:, 2:].reshape(-1))
    torch.testing.assert_close(out.loss, expected)


def test_heads_train_end_to_end():
    torch.manual_seed(0)
    clf = SequenceClassifier(GPT(GPTConfig(**CFG)), 2)
    x = torch.randint(1, 30, (16, 8))
    y = (x[:, 0] > 15).long()                      # the label is visible in the first token
    opt = torch.optim.AdamW(clf.parameters(), lr=3e-3)
    for _ in range(60):
        loss = clf(x, y).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert (clf(x).logits.argmax(-1) == y).float().mean() == 1.0


def test_bad_inputs_name_the_argument():
    gpt = GPT(GPTConfig(**CFG))
    with pytest.raises(TypeError, match="backbone must be a gptlib.GPT"):
        SequenceClassifier(torch.nn.Linear(2, 2), 2)
    with pytest.raises(ValueError, match="num_classes must be an int ≥ 2"):
        SequenceClassifier(gpt, 1)
    with pytest.raises(ValueError, match="num_labels must be an int ≥ 2"):
        TokenClassifier(gpt, 0)
    clf = SequenceClassifier(gpt, 2)
    x = torch.randint(0, 30, (2, 5))
    with pytest.raises(ValueError, match=r"labels must have shape \(batch,\)"):
        clf(x, torch.zeros(2, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="labels must lie in 0..1"):
        clf(x, torch.tensor([0, 2]))
    tc = TokenClassifier(gpt, 3)
    with pytest.raises(ValueError, match="use -100 where a token has no label"):
        tc(x, torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="labels must lie in 0..2"):
        tc(x, torch.full((2, 5), 3))
