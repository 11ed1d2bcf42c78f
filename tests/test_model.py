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
    fused, _ = model(x)
    explicit, _, attn = model(x, return_attn=True)
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
    logits, _ = model(x)
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
        _, loss = model(x, y)
        first = first or loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert first > 2.5 and loss.item() < 0.05, (first, loss.item())


@pytest.mark.parametrize("cfg", [dict(SMALL), dict(SMALL, bias=True, tie_weights=False),
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


def test_gelu_form_is_configurable():
    import torch.nn.functional as F
    x = torch.linspace(-4, 4, 101)
    tanh_mlp = GPT(GPTConfig(**SMALL)).blocks[0].mlp.gelu           # GPT-2's form by default
    exact_mlp = GPT(GPTConfig(**SMALL, gelu="exact")).blocks[0].mlp.gelu
    torch.testing.assert_close(tanh_mlp(x), F.gelu(x, approximate="tanh"))
    torch.testing.assert_close(exact_mlp(x), F.gelu(x))
    assert not torch.allclose(tanh_mlp(x), exact_mlp(x), atol=1e-5, rtol=0)
