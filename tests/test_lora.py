"""LoRA adapters: a fresh adapter changes nothing, training moves only the adapters (and the
heads asked for), merging and unmerging are exact up to rounding, and bad arguments are refused."""
import pytest
import torch
import torch.nn as nn

from gptlib.heads import SequenceClassifier
from gptlib.lora import (LoRAError, LoRALinear, apply_lora, count_trainable, load_lora_state_dict,
                         lora_layers, lora_state_dict, merge_lora, unmerge_lora)
from gptlib.model import GPT, GPTConfig

CFG = dict(vocab_size=50, block_size=16, n_layer=2, n_head=2, n_embd=32, bias=True)


def _model(**extra):
    torch.manual_seed(0)
    return GPT(GPTConfig(**{**CFG, **extra}))


def _ids(B=4, T=12, seed=0):
    return torch.randint(0, 50, (B, T), generator=torch.Generator().manual_seed(seed))


def _train(model, steps=5, lr=1e-2, batch=None):
    batch = batch or {"input_ids": _ids(), "targets": _ids(seed=1)}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.0)
    model.train()
    losses = []
    for _ in range(steps):
        loss = model(**batch).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def _perturb_adapters(model):
    with torch.no_grad():
        for layer in lora_layers(model).values():
            layer.lora_B.normal_(0, 0.05)


def test_fresh_adapter_leaves_outputs_unchanged():
    model = _model().eval()
    x = _ids()
    with torch.no_grad():
        before = model(x).logits
    names = apply_lora(model, targets=("c_attn",), rank=4, alpha=8)
    assert names == ["blocks.0.attn.c_attn", "blocks.1.attn.c_attn"]
    assert all(isinstance(model.get_submodule(n), LoRALinear) for n in names)
    with torch.no_grad():
        torch.testing.assert_close(model(x).logits, before, rtol=0, atol=0)   # B = 0: exactly nothing


def test_training_moves_only_the_adapters():
    model = _model()
    apply_lora(model, targets=("c_attn", "c_fc"), rank=4, alpha=8)
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" not in n}
    adapters = {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n}
    x = _ids()
    model.eval()
    with torch.no_grad():
        before = model(x).logits
    losses = _train(model)
    assert losses[-1] < losses[0]
    for n, p in model.named_parameters():
        if "lora_" in n:
            assert p.requires_grad and p.grad is not None
        else:
            assert not p.requires_grad and p.grad is None, n
            assert torch.equal(p, frozen[n]), f"{n} changed"                  # bit-identical
    assert any(not torch.equal(p, adapters[n]) for n, p in model.named_parameters() if "lora_B" in n)
    model.eval()
    with torch.no_grad():
        assert not torch.allclose(model(x).logits, before)


def test_merged_equals_unmerged_and_the_adapter_goes_quiet():
    model = _model().eval()
    apply_lora(model, targets=("c_attn", "c_proj"), rank=3, alpha=6)
    _perturb_adapters(model)
    x = _ids()
    with torch.no_grad():
        unmerged = model(x).logits
        assert merge_lora(model) == 2 * 3        # c_attn, attn.c_proj and mlp.c_proj per block
        assert all(layer.merged for layer in lora_layers(model).values())
        torch.testing.assert_close(model(x).logits, unmerged, atol=1e-5, rtol=1e-5)
        for layer in lora_layers(model).values():     # a merged adapter adds nothing of its own
            layer.lora_B.add_(1.0)
        torch.testing.assert_close(model(x).logits, unmerged, atol=1e-5, rtol=1e-5)
    assert merge_lora(model) == 0                     # merging twice is a no-op


def test_merge_then_unmerge_restores_the_base_weights():
    model = _model()
    apply_lora(model, targets=("c_attn",), rank=4, alpha=16)
    _perturb_adapters(model)
    base = {n: layer.base.weight.detach().clone() for n, layer in lora_layers(model).items()}
    merge_lora(model)
    for n, layer in lora_layers(model).items():
        expected = base[n] + layer.scaling * layer.lora_B @ layer.lora_A
        torch.testing.assert_close(layer.base.weight, expected)
        assert not torch.allclose(layer.base.weight, base[n])
    assert unmerge_lora(model) == 2
    for n, layer in lora_layers(model).items():
        torch.testing.assert_close(layer.base.weight, base[n], atol=1e-6, rtol=0)
        assert not layer.merged


def test_trainable_count_is_rank_times_in_plus_out():
    model = _model()
    _, total_before = count_trainable(model)
    rank = 5
    names = apply_lora(model, targets=("c_attn", "c_fc", "c_proj"), rank=rank)
    trainable, total = count_trainable(model)
    layers = [model.get_submodule(n) for n in names]
    assert len(layers) == 2 * 4 and trainable > 0      # c_proj names two layers per block
    assert trainable == sum(rank * (m.in_features + m.out_features) for m in layers)
    assert total == total_before + trainable
    # c_attn alone: rank·(C + 3C) per block
    m2 = _model()
    apply_lora(m2, rank=8)
    assert count_trainable(m2)[0] == 2 * 8 * (32 + 96)


def test_lora_on_a_sequence_classifier_trains_adapters_and_head():
    torch.manual_seed(0)
    clf = SequenceClassifier(GPT(GPTConfig(**CFG)), num_classes=2)
    names = apply_lora(clf, targets=("c_attn",), rank=4, alpha=8, trainable=("score",))
    assert names == ["backbone.blocks.0.attn.c_attn", "backbone.blocks.1.attn.c_attn"]
    trainable, _ = count_trainable(clf)
    assert trainable == 2 * 4 * (32 + 96) + clf.score.weight.numel()
    backbone = {n: p.detach().clone() for n, p in clf.backbone.named_parameters() if "lora_" not in n}
    score = clf.score.weight.detach().clone()
    x = _ids(B=8)
    mask = torch.ones_like(x)
    mask[4:, 8:] = 0
    labels = torch.tensor([0, 1, 0, 1, 1, 0, 1, 0])
    batch = {"input_ids": x, "attention_mask": mask, "labels": labels}
    losses = _train(clf, steps=15, lr=2e-2, batch=batch)
    assert losses[-1] < losses[0]
    assert not torch.equal(clf.score.weight, score)
    for n, p in clf.backbone.named_parameters():
        if "lora_" not in n:
            assert torch.equal(p, backbone[n]), n


def test_lora_state_dict_round_trip():
    model = _model()
    apply_lora(model, rank=2)
    _perturb_adapters(model)
    sd = lora_state_dict(model)
    assert sorted(sd) == ["blocks.0.attn.c_attn.lora_A", "blocks.0.attn.c_attn.lora_B",
                          "blocks.1.attn.c_attn.lora_A", "blocks.1.attn.c_attn.lora_B"]
    other = _model()
    apply_lora(other, rank=2)
    load_lora_state_dict(other, sd)
    x = _ids()
    model.eval(), other.eval()
    with torch.no_grad():
        torch.testing.assert_close(other(x).logits, model(x).logits)
    third = _model()
    apply_lora(third, rank=3)
    with pytest.raises(LoRAError, match="different rank"):
        load_lora_state_dict(third, sd)
    with pytest.raises(LoRAError, match="missing"):
        load_lora_state_dict(other, {})


def test_dropout_acts_in_training_only():
    model = _model()
    apply_lora(model, rank=4, dropout=0.5)
    _perturb_adapters(model)
    x = _ids()
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(x).logits, model(x).logits, rtol=0, atol=0)
        model.train()
        assert not torch.equal(model(x).logits, model(x).logits)


def test_lora_linear_alone():
    base = nn.Linear(6, 5)
    layer = LoRALinear(base, rank=2, alpha=4)
    assert layer.scaling == 2.0 and layer.lora_A.shape == (2, 6) and layer.lora_B.shape == (5, 2)
    assert not base.weight.requires_grad and not base.bias.requires_grad
    x = torch.randn(3, 6)
    torch.testing.assert_close(layer(x), base(x), rtol=0, atol=0)
    with pytest.raises(LoRAError, match="wraps an nn.Linear"):
        LoRALinear(nn.Conv1d(2, 2, 1))


@pytest.mark.parametrize("kwargs,message", [
    ({"rank": 0}, "rank must be an int ≥ 1"),
    ({"rank": 2.5}, "rank must be an int ≥ 1"),
    ({"rank": True}, "rank must be an int ≥ 1"),
    ({"alpha": 0}, "alpha must be a positive number"),
    ({"alpha": -1.0}, "alpha must be a positive number"),
    ({"alpha": float("nan")}, "alpha must be a positive number"),
    ({"dropout": 1.0}, r"dropout must be a probability in \[0, 1\)"),
    ({"dropout": -0.1}, r"dropout must be a probability in \[0, 1\)"),
    ({"targets": ("ln_1",)}, "'ln_1' matches 'blocks.0.ln_1', a LayerNorm, not an nn.Linear"),
    ({"targets": ("q_proj",)}, r"match no layer.*\['c_attn', 'c_fc', 'c_proj', 'lm_head'\]"),
    ({"targets": ()}, "targets is empty"),
    ({"targets": ("lm_head",)}, "'lm_head' shares its weight with 'wte'"),
    ({"trainable": ("head",)}, r"trainable=\['head'\] match no module"),
])
def test_bad_arguments_are_refused_and_leave_the_model_alone(kwargs, message):
    model = _model()
    with pytest.raises(LoRAError, match=message):
        apply_lora(model, **kwargs)
    assert not lora_layers(model)
    assert all(p.requires_grad for p in model.parameters())


def test_applying_twice_is_refused():
    model = _model()
    apply_lora(model)
    with pytest.raises(LoRAError, match="already has LoRA adapters"):
        apply_lora(model)
    with pytest.raises(LoRAError, match="already has LoRA adapters"):
        apply_lora(model, targets=("c_fc",))


def test_operations_need_adapters():
    model = _model()
    for fn in (merge_lora, unmerge_lora, lora_state_dict):
        with pytest.raises(LoRAError, match="no LoRA adapters; call apply_lora"):
            fn(model)


def test_untied_head_can_be_adapted():
    model = _model(tie_weights=False)
    assert apply_lora(model, targets=("lm_head",), rank=2) == ["lm_head"]
