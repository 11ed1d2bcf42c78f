"""The teaching references agree with torch's own implementations."""
import math

import pytest
import torch
import torch.nn.functional as F

from gptlib import reference as ref


@pytest.mark.parametrize("causal", [False, True])
def test_attention_matches_sdpa(causal):
    q, k, v = (torch.randn(2, 3, 7, 8) for _ in range(3))
    mask = ref.causal_mask(7) if causal else None
    out, w = ref.attention(q, k, v, mask)
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 3, 7))
    if causal:
        assert (w.triu(1) == 0).all(), "a query attended to a later key"


def test_attention_is_not_divided_by_v():
    # softmax(QKᵀ/√d_k)·V: scaling V scales the output linearly
    q, k, v = (torch.randn(1, 4, 8) for _ in range(3))
    out1, _ = ref.attention(q, k, v)
    out2, _ = ref.attention(q, k, 3 * v)
    torch.testing.assert_close(out2, 3 * out1)


def test_softmax_matches_torch_and_is_stable():
    x = torch.randn(4, 10) * 50
    torch.testing.assert_close(ref.softmax(x), torch.softmax(x, -1))
    assert torch.isfinite(ref.softmax(torch.tensor([1000.0, 1001.0]))).all()


def test_layer_norm_matches_nn():
    x = torch.randn(3, 5, 16)
    ln = torch.nn.LayerNorm(16)
    with torch.no_grad():
        ln.weight.normal_()
        ln.bias.normal_()
    torch.testing.assert_close(ref.layer_norm(x, ln.weight, ln.bias, eps=ln.eps), ln(x), atol=1e-5, rtol=1e-5)


def test_rms_norm_matches_nn():
    x = torch.randn(3, 16)
    rms = torch.nn.RMSNorm(16, eps=1e-6)
    with torch.no_grad():
        rms.weight.normal_()
    torch.testing.assert_close(ref.rms_norm(x, rms.weight, eps=1e-6), rms(x), atol=1e-5, rtol=1e-5)


def test_sinusoidal_values_match_formula():
    T, d = 50, 16
    pe = ref.sinusoidal_encoding(T, d)
    for pos in (0, 1, 17, 49):
        for i in range(d // 2):
            angle = pos / 10000 ** (2 * i / d)
            assert math.isclose(pe[pos, 2 * i].item(), math.sin(angle), abs_tol=1e-5)
            assert math.isclose(pe[pos, 2 * i + 1].item(), math.cos(angle), abs_tol=1e-5)
    with pytest.raises(ValueError, match="even"):
        ref.sinusoidal_encoding(4, 5)


def test_rope_dot_product_depends_only_on_offset():
    d = 8
    q, k = torch.randn(d), torch.randn(d)
    cos, sin = ref.rope_angles(40, d)
    rq = ref.apply_rope(q.expand(40, d), cos, sin)
    rk = ref.apply_rope(k.expand(40, d), cos, sin)
    # q at position m, k at position n: the score is the same for every pair with m - n = 5
    scores = [rq[m] @ rk[m - 5] for m in range(5, 40)]
    torch.testing.assert_close(torch.stack(scores), scores[0].expand(35), atol=1e-4, rtol=1e-4)


def test_gelu_matches_torch():
    x = torch.linspace(-5, 5, 101)
    torch.testing.assert_close(ref.gelu(x), F.gelu(x))
    torch.testing.assert_close(ref.gelu(x, "tanh"), F.gelu(x, approximate="tanh"))


def test_next_token_loss_matches_cross_entropy():
    logits, targets = torch.randn(2, 5, 11), torch.randint(0, 11, (2, 5))
    expected = F.cross_entropy(logits.view(-1, 11), targets.view(-1))
    torch.testing.assert_close(ref.next_token_loss(logits, targets), expected)
    assert math.isclose(ref.perplexity(math.log(11)), 11.0, rel_tol=1e-9)
