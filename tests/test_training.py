"""Training: schedules, precision paths, checkpoints that resume the same run, clear failures."""
import math

import pytest
import torch

from gptlib.checkpoints import CheckpointError, load_checkpoint, load_or_train, save_checkpoint
from gptlib.model import GPT, GPTConfig
from gptlib.runtime import get_runtime
from gptlib.training import TrainConfig, Trainer, configure_optimizer, lr_at

CFG = dict(vocab_size=20, block_size=16, n_layer=2, n_head=2, n_embd=16)


def stream(n=2000, seed=0):
    # a learnable sequence: a repeating pattern with noise
    g = torch.Generator().manual_seed(seed)
    base = torch.arange(n) % 7
    noise = torch.randint(0, 20, (n,), generator=g)
    return torch.where(torch.rand(n, generator=g) < 0.1, noise, base)


def make_trainer(rt=None, **overrides):
    torch.manual_seed(0)
    cfg = TrainConfig(**{**dict(max_steps=20, batch_size=4, lr=3e-3, warmup_steps=3, eval_interval=0,
                               eval_iters=2, progress=False, log_interval=1), **overrides})
    data = stream()
    model = GPT(GPTConfig(**CFG, dropout=0.1))
    return Trainer(model, cfg, rt or get_runtime("smoke", "cpu"), train_data=data[:1800], val_data=data[1800:])


def test_lr_schedule_warmup_then_cosine_to_min():
    cfg = TrainConfig(max_steps=100, lr=1e-3, min_lr=1e-4, warmup_steps=10)
    assert lr_at(0, cfg) == pytest.approx(1e-4)
    assert lr_at(9, cfg) == pytest.approx(1e-3)
    assert lr_at(99, cfg) == pytest.approx(1e-4)
    lrs = [lr_at(s, cfg) for s in range(10, 100)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:])), "cosine part must not increase"


def test_weight_decay_only_on_matrices():
    model = GPT(GPTConfig(**CFG, bias=True))
    opt = configure_optimizer(model, TrainConfig(weight_decay=0.1), torch.device("cpu"))
    decayed, plain = opt.param_groups
    assert decayed["weight_decay"] == 0.1 and all(p.dim() >= 2 for p in decayed["params"])
    assert plain["weight_decay"] == 0.0 and all(p.dim() == 1 for p in plain["params"])


def test_training_lowers_the_loss():
    t = make_trainer(max_steps=60)
    before = t.evaluate()["val"]
    hist = t.fit()
    assert hist.final_val < before - 0.5, (before, hist.final_val)
    assert hist.eval_steps == [60] and len(hist.steps) == 60 and hist.tokens_seen == 60 * 4 * 16


def test_grad_accumulation_matches_a_bigger_batch():
    # one step of batch 4 with 2 accumulation micro-batches of 2 == one step of batch 4, same data
    fixed = torch.randint(0, 20, (4, 17), generator=torch.Generator().manual_seed(1))
    grads = []
    for accum in (1, 2):
        torch.manual_seed(0)
        model = GPT(GPTConfig(**CFG))
        chunks = iter(fixed.chunk(accum))

        def batch_fn(split, gen, chunks=chunks):
            b = next(chunks)
            return b[:, :-1], b[:, 1:]
        t = Trainer(model, TrainConfig(max_steps=1, batch_size=4 // accum, grad_accum=accum, grad_clip=0,
                                       eval_interval=0, progress=False), get_runtime("smoke", "cpu"),
                    batch_fn=batch_fn)
        t.train_step()
        grads.append(torch.cat([s["exp_avg"].flatten() for s in t.optimizer.state.values()]))
    torch.testing.assert_close(grads[0], grads[1], atol=1e-7, rtol=1e-4)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_reduced_precision_paths_run_on_cpu(precision):
    rt = get_runtime("smoke", "cpu", precision=precision)
    assert rt.use_grad_scaler == (precision == "fp16")
    t = make_trainer(rt, max_steps=40)
    assert t.scaler.is_enabled() == (precision == "fp16")
    with rt.autocast():
        logits = t.model(torch.zeros(1, 4, dtype=torch.long)).logits
    assert logits.dtype == rt.dtype, "autocast did not run the matmuls in reduced precision"
    before = t.evaluate()["val"]
    hist = t.fit()
    assert math.isfinite(hist.final_val) and hist.final_val < before
    if precision == "fp16":
        assert t.scaler.get_scale() > 0


def test_precision_policy():
    assert get_runtime("cpu", "cpu").precision == "fp32"
    assert get_runtime("cpu", "cpu", precision="bf16").dtype == torch.bfloat16
    with pytest.raises(ValueError, match="precision must be one of"):
        get_runtime("cpu", "cpu", precision="fp8")
    with pytest.raises(ValueError, match="profile must be one of"):
        get_runtime("huge", "cpu")
    rt = get_runtime("smoke", "cpu")
    assert rt.choose(gpu=3, cpu=2, smoke=1) == 1 and rt.choose(gpu=3, cpu=2) == 2
    assert "profile=smoke" in rt.summary()


def test_checkpoint_resume_continues_the_same_run(tmp_path):
    straight = make_trainer()
    straight.fit()

    first = make_trainer()
    first.fit(steps=10)
    first.save(tmp_path / "run.pt")
    torch.manual_seed(123)                      # different global RNG state before resuming
    resumed = make_trainer(seed=999)             # different init seed too: load() must restore all
    resumed.cfg.seed = 1337
    resumed.load(tmp_path / "run.pt")
    assert resumed.step == 10
    resumed.fit()
    for (name, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        torch.testing.assert_close(a, b, msg=f"{name} differs after resume")
    assert straight.history.train_loss == resumed.history.train_loss


def test_trainer_resumes_from_checkpoint_path(tmp_path):
    path = tmp_path / "auto.pt"
    t = make_trainer(max_steps=10, eval_interval=5)
    t.checkpoint_path = path
    t.fit()
    assert load_checkpoint(path)["step"] == 10
    again = Trainer(GPT(GPTConfig(**CFG, dropout=0.1)), t.cfg, t.rt, train_data=stream()[:1800],
                    val_data=stream()[1800:], checkpoint_path=path)
    assert again.step == 0, "the constructor must not resume behind the caller's back"
    assert again.resume(path) and again.step == 10
    assert not again.resume(tmp_path / "missing.pt")


def test_constructor_has_no_hidden_effects():
    import torch.distributed as dist
    t = make_trainer(max_steps=3)
    assert not dist.is_initialized() and t.world == 1 and not t.compiled
    with pytest.raises(RuntimeError, match="init_distributed"):
        Trainer(GPT(GPTConfig(**CFG)), TrainConfig(progress=False), get_runtime("smoke", "cpu"),
                train_data=stream()[:1800], val_data=stream()[1800:], ddp=True)


def _toy_classification(n=64):
    """Label = whether token 3 occurs in the sequence; lengths vary, so batches are padded."""
    g = torch.Generator().manual_seed(0)
    out = []
    for i in range(n):
        length = int(torch.randint(3, 9, (1,), generator=g))
        ids = torch.randint(4, 20, (length,), generator=g)
        if i % 2:
            ids[int(torch.randint(0, length, (1,), generator=g))] = 3
        out.append((ids.tolist(), i % 2))
    return out


def _collate(batch):
    T = max(len(ids) for ids, _ in batch)
    x = torch.zeros(len(batch), T, dtype=torch.long)
    m = torch.zeros(len(batch), T, dtype=torch.long)
    for r, (ids, _) in enumerate(batch):
        x[r, :len(ids)] = torch.tensor(ids)
        m[r, :len(ids)] = 1
    return {"input_ids": x, "attention_mask": m, "labels": torch.tensor([y for _, y in batch])}


def test_epochs_over_a_finite_dataset_with_metrics():
    from sklearn.metrics import accuracy_score
    from gptlib.heads import SequenceClassifier
    data = _toy_classification(96)
    splits = {"train": data[:64], "validation": data[64:80], "test": data[80:]}
    torch.manual_seed(0)
    clf = SequenceClassifier(GPT(GPTConfig(**CFG)), 2)
    cfg = TrainConfig(epochs=8, batch_size=16, lr=3e-3, warmup_steps=2, eval_interval=8, progress=False,
                      log_interval=1)
    t = Trainer(clf, cfg, get_runtime("smoke", "cpu"), datasets=splits, collate_fn=_collate)
    assert t.steps_per_epoch == 4 and cfg.max_steps == 32
    before = t.evaluate("test", metrics={"accuracy": accuracy_score})
    hist = t.fit()
    after = t.evaluate("test", metrics={"accuracy": accuracy_score})
    assert set(after) == {"loss", "accuracy"} and after["loss"] < before["loss"]
    assert hist.eval_steps == [8, 16, 24, 32] and len(hist.eval_val) == 4
    # tokens counted from the batches' masks: every real token of 8 epochs of the training split
    assert hist.tokens_seen == 8 * sum(len(ids) for ids, _ in splits["train"])
    # the metric is computed on the predictions, checked here independently
    preds = []
    with torch.no_grad():
        for b in t.batches("test"):
            preds += clf(**b).logits.argmax(-1).tolist()
    assert after["accuracy"] == accuracy_score([y for _, y in splits["test"]], preds)
    with pytest.raises(KeyError, match="no finite split 'dev'"):
        t.evaluate("dev")
    with pytest.raises(ValueError, match="exactly one source of data"):
        Trainer(clf, cfg, get_runtime("smoke", "cpu"), datasets=splits, collate_fn=_collate,
                batch_fn=lambda s, g: None)
    with pytest.raises(ValueError, match="collate_fn"):
        Trainer(clf, cfg, get_runtime("smoke", "cpu"), datasets=splits)


def test_tokens_seen_counts_the_batch_not_the_config():
    t = make_trainer(max_steps=3)
    t.fit()
    x, _ = t.batch_fn("train", torch.Generator())
    assert t.history.tokens_seen == 3 * x.numel()


def test_corrupt_checkpoint_says_what_to_do(tmp_path):
    p = save_checkpoint(tmp_path / "m.pt", {"w": torch.ones(3)})
    assert torch.equal(load_checkpoint(p)["w"], torch.ones(3))
    assert [q.name for q in tmp_path.iterdir()] == ["m.pt"], "temporary file left behind"
    p.write_bytes(p.read_bytes()[:40])
    with pytest.raises(CheckpointError, match="corrupt.*Delete it and run again"):
        load_checkpoint(p)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")


def test_checkpoints_do_not_execute_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))
    p = tmp_path / "evil.pt"
    torch.save({"x": Evil()}, p)
    with pytest.raises(CheckpointError):
        load_checkpoint(p)


def test_load_or_train_trains_once_then_loads(tmp_path):
    calls = []

    def train():
        calls.append(1)
        return {"w": torch.arange(3)}
    recipe = {"model": CFG, "steps": 5}
    a = load_or_train("toy", recipe, train, directory=tmp_path, verbose=False)
    b = load_or_train("toy", recipe, train, directory=tmp_path, verbose=False)
    assert len(calls) == 1 and torch.equal(a["w"], b["w"]) and b["recipe"] == recipe
    load_or_train("toy", {**recipe, "steps": 6}, train, directory=tmp_path, verbose=False)
    assert len(calls) == 2, "a different recipe must not reuse the checkpoint"
    # a corrupt checkpoint is retrained, not used
    for p in tmp_path.glob("toy-*.pt"):
        p.write_bytes(b"junk")
    load_or_train("toy", recipe, train, directory=tmp_path, verbose=False)
    assert len(calls) == 3


def test_diverging_loss_is_reported():
    t = make_trainer(max_steps=5, lr=1e6, grad_clip=0, warmup_steps=0)
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        t.fit()


def test_trainer_needs_data():
    with pytest.raises(ValueError, match="train_data and val_data"):
        Trainer(GPT(GPTConfig(**CFG)), TrainConfig(progress=False), get_runtime("smoke", "cpu"))


def test_compile_failure_at_creation_falls_back_to_eager(monkeypatch):
    def broken_compile(model, **kwargs):
        raise RuntimeError("no compiler on this platform")
    monkeypatch.setattr(torch, "compile", broken_compile)
    with pytest.warns(UserWarning, match="torch.compile unavailable"):
        t = make_trainer(compile=True)
    assert not t.compiled
    hist = t.fit()
    assert hist.train_loss[-1] < hist.train_loss[0]


def test_compile_failure_at_first_step_redoes_the_step_eagerly(monkeypatch):
    """The compiler runs at the first call; if it fails there (e.g. no C++ compiler), the Trainer
    warns, redoes that step without it on the same batch, and trains exactly like an eager run."""
    calls = []

    def lazy_broken_compile(model, **kwargs):
        def compiled(*args, **kw):
            calls.append(1)
            raise RuntimeError("InductorError: C++ compile error\ndetails")
        return compiled
    eager = make_trainer()
    eager.fit()
    monkeypatch.setattr(torch, "compile", lazy_broken_compile)
    t = make_trainer(compile=True)
    assert t.compiled
    with pytest.warns(UserWarning, match="failed at the first step .*C\\+\\+ compile error"):
        hist = t.fit()
    assert len(calls) == 1 and not t.compiled and t.step == 20
    assert hist.train_loss == eager.history.train_loss   # same batches, same updates


def test_no_compile_environment_switch(monkeypatch):
    monkeypatch.setenv("GPTLIB_NO_COMPILE", "1")
    with pytest.warns(UserWarning, match="GPTLIB_NO_COMPILE"):
        t = make_trainer(compile=True)
    assert not t.compiled
