"""The GPT model: both attention paths agree, causality holds, it learns, and it counts itself."""
import itertools

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from gptlib.model import GPT, GPTConfig, count_params

SMALL = dict(vocab_size=23, block_size=16, n_layer=2, n_head=2, n_embd=16)


@pytest.mark.parametrize("pos,norm,placement",
                         list(itertools.product(["learned", "sinusoidal", "rope", "none"],
                                                ["layernorm", "rmsnorm", "none"], ["pre", "post"])))
def test_fused_and_explicit_attention_agree(pos, norm, placement):
    model = GPT(GPTConfig(**SMALL, pos=pos, norm=norm, norm_placement=placement)).eval()
    x = torch.randint(0, 23, (3, 12))
    fused = model(x).logits
    out = model(x, return_attn=True)
    explicit, attn = out.logits, out.attentions
    assert model(x).attentions is None
    torch.testing.assert_close(fused, explicit, atol=1e-5, rtol=1e-4)
    assert len(attn) == 2 and attn[0].shape == (3, 2, 12, 12)
    torch.testing.assert_close(attn[1].sum(-1), torch.ones(3, 2, 12))
    assert (attn[0].triu(1) == 0).all()


def test_attention_weights_shape_and_values():
    model = GPT(GPTConfig(**SMALL))
    ids = torch.randint(0, 23, (10,))
    w = model.attention_weights(ids)
    assert w.shape == (2, 2, 10, 10) and w.dtype == torch.float32
    assert model.training, "attention_weights must restore training mode"


@pytest.mark.parametrize("pos", ["learned", "rope", "none"])
def test_no_position_depends_on_a_later_token(pos):
    model = GPT(GPTConfig(**SMALL, pos=pos)).eval()
    x = torch.randint(0, 23, (1, 10))
    captured = {}

    def keep(module, inputs, output):
        output.retain_grad()
        captured["emb"] = output

    model.wte.register_forward_hook(keep)
    logits = model(x).logits
    t = 4
    logits[0, t].sum().backward()
    g = captured["emb"].grad[0].abs().sum(-1)      # gradient size per input position
    assert (g[t + 1:] == 0).all(), f"output at {t} depends on later positions: {g}"
    assert (g[: t + 1] > 0).all()


def test_overfits_one_batch():
    torch.manual_seed(0)
    model = GPT(GPTConfig(**SMALL))
    x = torch.randint(0, 23, (4, 16))
    y = torch.roll(x, -1, dims=1)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(300):
        loss = model(x, y).loss
        first = first or loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert first > 2.5 and loss.item() < 0.05, (first, loss.item())


@pytest.mark.parametrize("cfg", [dict(SMALL), dict(SMALL, bias=True, tie_weights=False), dict(SMALL, mlp_ratio=0),
                                 dict(SMALL, mlp_ratio=0, bias=True, norm_placement="post"),
                                 dict(SMALL, pos="rope", norm="rmsnorm"), dict(SMALL, norm_placement="post")])
def test_count_params_matches_model(cfg):
    c = GPTConfig(**cfg)
    assert count_params(c)["total"] == GPT(c).num_params()


def test_tied_weights_share_storage():
    m = GPT(GPTConfig(**SMALL))
    assert m.lm_head.weight.data_ptr() == m.wte.weight.data_ptr()
    untied = GPT(GPTConfig(**SMALL, tie_weights=False))
    assert untied.num_params() == m.num_params() + 23 * 16


def test_flops_per_token_matches_counted_forward_flops():
    cfg = GPTConfig(vocab_size=100, block_size=32, n_layer=3, n_head=4, n_embd=64)
    model = GPT(cfg).eval()
    x = torch.randint(0, 100, (1, 32))
    with FlopCounterMode(display=False) as counter:
        model(x, return_attn=True)       # the explicit path: every matmul is visible to the counter
    counted = counter.get_total_flops() / 32
    estimate = model.flops_per_token(training=False)
    assert abs(counted - estimate) / estimate < 0.05, (counted, estimate)
    assert model.flops_per_token(training=True) == 3 * estimate


def test_bad_inputs_say_what_to_do():
    model = GPT(GPTConfig(**SMALL))
    with pytest.raises(ValueError, match="exceeds the model's context.*crop"):
        model(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(TypeError, match="integer token ids"):
        model(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="unsqueeze"):
        model(torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="targets shape"):
        model(torch.zeros(1, 4, dtype=torch.long), torch.zeros(1, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="pos must be one of"):
        GPTConfig(pos="absolute")
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(n_embd=10, n_head=3)
    with pytest.raises(ValueError, match="unknown GPTConfig fields"):
        GPTConfig.from_dict({"n_layers": 2})
    with pytest.raises(ValueError, match="gelu must be one of"):
        GPTConfig(gelu="relu")


@pytest.mark.parametrize("bad", [23, 1000, -1])
def test_token_ids_outside_the_vocabulary_are_named(bad):
    model = GPT(GPTConfig(**SMALL))
    x = torch.zeros(1, 4, dtype=torch.long)
    x[0, 2] = bad
    with pytest.raises(ValueError, match=f"token id {bad} is outside this model's vocabulary 0..22"):
        model(x)


def test_bad_masks_positions_and_embeddings_say_what_to_do():
    model = GPT(GPTConfig(**SMALL))
    x = torch.zeros(2, 4, dtype=torch.long)
    with pytest.raises(ValueError, match="attention_mask must have shape"):
        model(x, attention_mask=torch.ones(2, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="only 0 .padding. and 1"):
        model(x, attention_mask=torch.full((2, 4), 2))
    with pytest.raises(ValueError, match="position_ids must have shape"):
        model(x, position_ids=torch.arange(3))
    with pytest.raises(ValueError, match="position ids must lie in 0..15"):
        model(x, position_ids=torch.arange(4) + 13)
    with pytest.raises(ValueError, match="exactly one of input_ids"):
        model(x, inputs_embeds=torch.zeros(2, 4, 16))
    with pytest.raises(ValueError, match="exactly one of input_ids"):
        model()
    with pytest.raises(ValueError, match="n_embd=16"):
        model(inputs_embeds=torch.zeros(2, 4, 8))
    with pytest.raises(ValueError, match="no tokens"):
        model(torch.zeros(2, 0, dtype=torch.long))


def test_inputs_embeds_equal_token_ids():
    model = GPT(GPTConfig(**SMALL)).eval()
    x = torch.randint(0, 23, (2, 7))
    torch.testing.assert_close(model(inputs_embeds=model.wte(x)).logits, model(x).logits)


@pytest.mark.parametrize("pos", ["learned", "sinusoidal", "rope", "none"])
@pytest.mark.parametrize("return_attn", [False, True])
def test_left_and_right_padding_leave_real_tokens_unchanged(pos, return_attn):
    """A padded row's real tokens get exactly the outputs they get alone (mask + positions)."""
    torch.manual_seed(0)
    model = GPT(GPTConfig(**SMALL, pos=pos)).eval()
    a, b = torch.randint(1, 23, (1, 7)), torch.randint(1, 23, (1, 4))
    alone_a = model(a, return_attn=return_attn).logits[0]
    alone_b = model(b, return_attn=return_attn).logits[0]
    pad = torch.zeros(1, 3, dtype=torch.long)
    left = torch.cat([torch.cat([pad, b], 1), a], 0)                  # b is left-padded
    left_mask = (torch.arange(7) >= 3).long()[None].repeat(2, 1)
    left_mask[1] = 1
    out = model(left, attention_mask=left_mask, return_attn=return_attn)
    torch.testing.assert_close(out.logits[0, 3:], alone_b, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out.logits[1], alone_a, atol=1e-5, rtol=1e-4)
    assert torch.isfinite(out.logits).all(), "padding queries must not produce NaN"
    right = torch.cat([torch.cat([b, pad], 1), a], 0)
    right_mask = (torch.arange(7) < 4).long()[None].repeat(2, 1)
    right_mask[1] = 1
    out = model(right, attention_mask=right_mask, return_attn=return_attn)
    torch.testing.assert_close(out.logits[0, :4], alone_b, atol=1e-5, rtol=1e-4)
    if return_attn:   # no real query attends to a padding key
        assert (out.attentions[0][0, :, 3:, 3:].triu(1) == 0).all()
        assert (out.attentions[0][0, :, :4, 4:] == 0).all()


def test_targets_minus_100_are_not_counted():
    model = GPT(GPTConfig(**SMALL)).eval()
    x = torch.randint(0, 23, (1, 8))
    y = torch.randint(0, 23, (1, 8))
    masked = y.clone()
    masked[0, :5] = -100
    expected = torch.nn.functional.cross_entropy(model(x).logits[0, 5:], y[0, 5:])
    torch.testing.assert_close(model(x, masked).loss, expected)


def test_gelu_form_is_configurable():
    import torch.nn.functional as F
    x = torch.linspace(-4, 4, 101)
    tanh_mlp = GPT(GPTConfig(**SMALL)).blocks[0].mlp.gelu           # GPT-2's form by default
    exact_mlp = GPT(GPTConfig(**SMALL, gelu="exact")).blocks[0].mlp.gelu
    torch.testing.assert_close(tanh_mlp(x), F.gelu(x, approximate="tanh"))
    torch.testing.assert_close(exact_mlp(x), F.gelu(x))
    assert not torch.allclose(tanh_mlp(x), exact_mlp(x), atol=1e-5, rtol=0)


def test_attention_only_blocks():
    m = GPT(GPTConfig(**SMALL, mlp_ratio=0))
    assert all(b.mlp is None and b.ln_2 is None for b in m.blocks)
    assert not any("mlp" in n for n, _ in m.named_parameters())
    x = torch.randint(0, 23, (2, 9))
    assert m(x, torch.roll(x, -1, 1)).loss.isfinite()
    with pytest.raises(ValueError, match="mlp_ratio must be an int ≥ 0"):
        GPTConfig(mlp_ratio=-1)
