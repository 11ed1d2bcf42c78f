"""optimizer="muon": Muon (torch.optim.Muon) on the hidden matrices, AdamW on the rest."""
import pytest
import torch

from gptlib.model import GPT, GPTConfig
from gptlib.runtime import get_runtime
from gptlib.training import MuonAdamW, TrainConfig, Trainer, configure_optimizer, muon_split

pytestmark = pytest.mark.skipif(not hasattr(torch.optim, "Muon"), reason="torch.optim.Muon needs torch >= 2.9")

CFG = dict(vocab_size=20, block_size=16, n_layer=2, n_head=2, n_embd=16)


def stream(n=2000, seed=0):
    g = torch.Generator().manual_seed(seed)
    base = torch.arange(n) % 7
    noise = torch.randint(0, 20, (n,), generator=g)
    return torch.where(torch.rand(n, generator=g) < 0.1, noise, base)


def make_trainer(**overrides):
    torch.manual_seed(0)
    cfg = TrainConfig(**{**dict(max_steps=20, batch_size=4, lr=3e-3, warmup_steps=3, eval_interval=0,
                               eval_iters=2, progress=False, log_interval=1, optimizer="muon",
                               muon_lr=0.02), **overrides})
    data = stream()
    return Trainer(GPT(GPTConfig(**CFG)), cfg, get_runtime("smoke", "cpu"),
                   train_data=data[:1800], val_data=data[1800:])


@pytest.mark.parametrize("tie", [True, False])
def test_muon_takes_the_block_matrices_and_adamw_the_rest(tie):
    model = GPT(GPTConfig(**CFG, tie_weights=tie))
    names = {id(p): n for n, p in model.named_parameters()}
    muon, rest = muon_split(model)
    muon_names = sorted(names[id(p)] for p in muon)
    rest_names = sorted(names[id(p)] for p in rest)
    expected = sorted(f"blocks.{i}.{w}.weight" for i in range(2)
                      for w in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"))
    assert muon_names == expected
    assert "wte.weight" in rest_names and "wpe.weight" in rest_names
    assert all(n.startswith(("blocks.", "ln_f", "wte", "wpe", "lm_head")) for n in rest_names)
    assert any("ln_1" in n for n in rest_names) and "ln_f.weight" in rest_names
    assert ("lm_head.weight" in rest_names) == (not tie)     # tied: it *is* wte.weight
    # every parameter exactly once
    assert len(muon) + len(rest) == len(list(model.parameters()))


def test_configure_optimizer_builds_muon_plus_adamw():
    model = GPT(GPTConfig(**CFG))
    opt = configure_optimizer(model, TrainConfig(optimizer="muon", lr=1e-2, muon_lr=0.05, weight_decay=0.1),
                              torch.device("cpu"))
    assert isinstance(opt, MuonAdamW)
    assert isinstance(opt.muon, torch.optim.Muon) and isinstance(opt.adamw, torch.optim.AdamW)
    muon_ids = {id(p) for g in opt.muon.param_groups for p in g["params"]}
    assert muon_ids == {id(p) for p in muon_split(model)[0]}
    assert all(p.dim() == 2 for g in opt.muon.param_groups for p in g["params"])
    assert opt.muon.param_groups[0]["lr_scale"] == pytest.approx(5.0)
    adam_no_decay = [g for g in opt.adamw.param_groups if g["weight_decay"] == 0.0]
    assert all(p.dim() < 2 for g in adam_no_decay for p in g["params"])
    with pytest.raises(ValueError, match="optimizer must be one of"):
        configure_optimizer(model, TrainConfig(optimizer="sgd"), torch.device("cpu"))


def test_muon_schedule_scales_its_own_lr_and_trains():
    t = make_trainer()
    t.fit(steps=5)
    adam_lr = t.optimizer.adamw.param_groups[0]["lr"]
    muon_lr = t.optimizer.muon.param_groups[0]["lr"]
    assert muon_lr == pytest.approx(adam_lr * 0.02 / 3e-3)
    before = t.evaluate("val", iters=2)["loss"]
    t.fit()
    assert t.evaluate("val", iters=2)["loss"] < before


def test_muon_checkpoint_resume_continues_the_same_run(tmp_path):
    straight = make_trainer()
    straight.fit()
    first = make_trainer()
    first.fit(steps=10)
    first.save(tmp_path / "run.pt")
    resumed = make_trainer(seed=999)
    resumed.cfg.seed = 1337
    resumed.load(tmp_path / "run.pt")
    assert resumed.step == 10
    assert resumed.optimizer.muon.state, "Muon's momentum buffers were not restored"
    resumed.fit()
    for (name, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        torch.testing.assert_close(a, b, msg=f"{name} differs after resume")


def test_adamw_checkpoint_does_not_load_into_muon(tmp_path):
    adam = make_trainer(optimizer="adamw")
    adam.fit(steps=2)
    adam.save(tmp_path / "adam.pt")
    with pytest.raises(ValueError, match="Muon"):
        make_trainer().load(tmp_path / "adam.pt")
