"""The CUDA paths: bf16 and fp16 + GradScaler training, fused AdamW, torch.compile, the KV cache, DDP.

Every test here needs CUDA and is skipped, with that reason, where there is none; on the GPU
machine ``tools/gpu_check.sh`` runs them (``GPTLIB_DEVICE=cuda``). To rehearse their logic on a
CPU (what can run there does, with the same assertions), set ``CUDA_TESTS_ON_CPU=1`` (not a
``GPTLIB_*`` name: tests/conftest.py clears those).
"""
import copy
import math
import os
import socket
import warnings

import pytest
import torch
import torch.distributed as dist

from gptlib.generation import generate
from gptlib.model import GPT, GPTConfig
from gptlib.runtime import detect_profile, get_runtime, resolve_precision
from gptlib.training import TrainConfig, Trainer, configure_optimizer

CUDA = torch.cuda.is_available()
REHEARSAL = not CUDA and os.environ.get("CUDA_TESTS_ON_CPU", "") not in ("", "0")
DEV = "cuda" if CUDA else "cpu"
pytestmark = pytest.mark.skipif(not (CUDA or REHEARSAL),
                                reason="needs CUDA (torch.cuda.is_available() is False on this machine); "
                                       "tools/gpu_check.sh runs these on a GPU machine")
only_real_cuda = pytest.mark.skipif(not CUDA, reason="checks CUDA itself (not rehearsed on the CPU)")

CFG = dict(vocab_size=32, block_size=32, n_layer=2, n_head=2, n_embd=64)
STREAM = (torch.arange(4096) * 7 + torch.arange(4096) // 97) % 32    # a learnable token stream


def logits_loss(out):
    """(logits, loss) from a forward pass: a ModelOutput, or the older (logits, loss) tuple."""
    if isinstance(out, (tuple, list)):
        return out[0], out[1]
    return out.logits, out.loss


def bf16_ok() -> bool:
    return torch.cuda.is_bf16_supported() if CUDA else True


@pytest.fixture
def exact_matmuls():
    """fp32 matmuls without TF32 for the comparisons (a CUDA runtime switches TF32 on)."""
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def no_tf32():
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def train(precision: str, steps: int = 40, **cfg):
    rt = get_runtime("smoke", DEV, precision)
    torch.manual_seed(0)
    model = GPT(GPTConfig(**CFG))
    tcfg = TrainConfig(**{**dict(max_steps=steps, batch_size=8, lr=3e-3, min_lr=3e-4, warmup_steps=5,
                                 eval_interval=0, eval_iters=2, progress=False, log_interval=1), **cfg})
    trainer = Trainer(model, tcfg, rt, train_data=STREAM[:3600], val_data=STREAM[3600:])
    losses = [float(trainer.train_step()) for _ in range(steps)]
    return trainer, losses


def assert_learns(losses):
    assert all(math.isfinite(v) for v in losses), losses
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < first - 0.5, f"loss did not fall: first steps {first:.3f}, last steps {last:.3f}"


# ------------------------------------------------------------------------------------ precision
@only_real_cuda
def test_runtime_policy_on_cuda(monkeypatch):
    monkeypatch.delenv("GPTLIB_PROFILE", raising=False)
    monkeypatch.delenv("GPTLIB_PRECISION", raising=False)
    cuda = torch.device("cuda")
    assert detect_profile(cuda) == "gpu"
    assert resolve_precision(cuda, "auto") == ("bf16" if torch.cuda.is_bf16_supported() else "fp16")
    rt = get_runtime(device="cuda")
    assert rt.profile == "gpu" and rt.device.type == "cuda"
    assert torch.backends.cuda.matmul.allow_tf32, "a CUDA runtime switches TF32 matmuls on"


def test_bf16_autocast_training_step():
    if not bf16_ok():
        pytest.skip("this GPU has no bf16 (e.g. a T4): the policy uses fp16 + GradScaler there")
    trainer, losses = train("bf16")
    rt = trainer.rt
    assert rt.precision == "bf16" and not rt.use_grad_scaler and not trainer.scaler.is_enabled()
    assert_learns(losses)
    x = STREAM[:16].view(1, 16).to(DEV)
    with torch.no_grad(), rt.autocast():
        logits, _ = logits_loss(trainer.model(x))
    assert logits.dtype == torch.bfloat16, "autocast should run the model in bf16"
    assert all(p.dtype == torch.float32 for p in trainer.model.parameters()), "weights stay fp32"


def test_fp16_grad_scaler_training_step():
    trainer, losses = train("fp16")
    rt = trainer.rt
    assert rt.precision == "fp16" and rt.use_grad_scaler and trainer.scaler.is_enabled()
    assert_learns(losses)
    scale = trainer.scaler.get_scale()
    assert math.isfinite(scale) and scale > 0
    x = STREAM[:16].view(1, 16).to(DEV)
    with torch.no_grad(), rt.autocast():
        logits, _ = logits_loss(trainer.model(x))
    assert logits.dtype == torch.float16
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())


# ----------------------------------------------------------------------------------- optimiser
def test_fused_adamw_is_fused_on_this_device():
    model = GPT(GPTConfig(**CFG)).to(DEV)
    opt = configure_optimizer(model, TrainConfig(), torch.device(DEV))
    assert opt.defaults.get("fused") is True, f"AdamW is not fused on {DEV}: {opt.defaults}"
    trainer, losses = train("fp32", steps=3)
    assert trainer.optimizer.defaults.get("fused") is True
    state = next(iter(trainer.optimizer.state.values()))
    assert state["exp_avg"].device.type == DEV


def test_fused_adamw_equals_foreach():
    torch.manual_seed(0)
    a = GPT(GPTConfig(**CFG)).to(DEV)
    b = copy.deepcopy(a)
    opt_a = configure_optimizer(a, TrainConfig(fused_adamw=True), torch.device(DEV))
    opt_b = configure_optimizer(b, TrainConfig(fused_adamw=False), torch.device(DEV))
    assert opt_a.defaults.get("fused") and not opt_b.defaults.get("fused")
    g = torch.Generator().manual_seed(1)
    for _ in range(3):
        for pa, pb in zip(a.parameters(), b.parameters()):
            grad = torch.randn(pa.shape, generator=g).to(DEV)
            pa.grad, pb.grad = grad.clone(), grad.clone()
        opt_a.step()
        opt_b.step()
    for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=1e-5, atol=1e-6, msg=f"{name} differs")


# ------------------------------------------------------------------------------------- compile
@pytest.mark.slow
def test_compiled_training_equals_eager(monkeypatch, exact_matmuls):
    monkeypatch.delenv("GPTLIB_NO_COMPILE", raising=False)
    get_runtime("smoke", DEV, "fp32")
    no_tf32()
    torch.manual_seed(0)
    eager = GPT(GPTConfig(**CFG)).to(DEV)
    twin = copy.deepcopy(eager)
    compiled = torch.compile(twin)
    x = STREAM[:8 * 32].view(8, 32).to(DEV)
    y = STREAM[1:8 * 32 + 1].view(8, 32).to(DEV)
    _, loss_e = logits_loss(eager(x, y))
    _, loss_c = logits_loss(compiled(x, y))
    torch.testing.assert_close(loss_c, loss_e, rtol=1e-4, atol=1e-5)
    loss_e.backward()
    loss_c.backward()
    for (name, pe), pc in zip(eager.named_parameters(), twin.parameters()):
        torch.testing.assert_close(pc.grad, pe.grad, rtol=1e-3, atol=1e-5, msg=f"gradient of {name}")

    # The Trainer's own compile path: it must really compile (no fallback) and train the same.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t_c, losses_c = train("fp32", steps=4, compile=True)
        no_tf32()
    assert t_c.compiled, f"Trainer fell back to eager: {[str(w.message) for w in caught]}"
    assert not [w for w in caught if "training without it" in str(w.message)]
    t_e, losses_e = train("fp32", steps=4, compile=False)
    assert not t_e.compiled
    for step, (c, e) in enumerate(zip(losses_c, losses_e)):
        assert math.isclose(c, e, rel_tol=2e-3, abs_tol=1e-4), f"step {step}: compiled {c} vs eager {e}"


# ------------------------------------------------------------------------------------ KV cache
def test_kv_cache_generation_equals_full_recompute(exact_matmuls):
    get_runtime("smoke", DEV, "fp32")
    no_tf32()
    torch.manual_seed(0)
    model = GPT(GPTConfig(**CFG)).to(DEV).eval()
    prompt = STREAM[:5 * 3].view(3, 5).to(DEV)
    n = 40                                            # past the context of 32: the window slides
    cached = generate(model, prompt, n, temperature=0, use_cache=True)
    full = generate(model, prompt, n, temperature=0, use_cache=False)
    assert cached.device.type == DEV and cached.shape == (3, 5 + n)
    assert torch.equal(cached, full), "greedy tokens differ between the KV cache and a full recompute"
    # the logits themselves: a prompt, then one token at a time through the cache == one full pass
    new_cache = getattr(model, "new_cache", None)
    if new_cache is not None:
        seq, cache = full[:, :20], new_cache()
        with torch.no_grad():
            step, _ = logits_loss(model(seq[:, :10], cache=cache))
            for t in range(10, 20):
                step, _ = logits_loss(model(seq[:, t:t + 1], cache=cache))
            whole, _ = logits_loss(model(seq))
        torch.testing.assert_close(step[:, -1], whole[:, -1], rtol=1e-4, atol=1e-5)


def test_sampling_with_a_device_generator_is_reproducible():
    torch.manual_seed(0)
    model = GPT(GPTConfig(**CFG)).to(DEV).eval()
    prompt = STREAM[:4].view(1, 4).to(DEV)
    runs = [generate(model, prompt, 20, temperature=0.8, top_k=10,
                     generator=torch.Generator(device=DEV).manual_seed(0)) for _ in range(2)]
    assert torch.equal(runs[0], runs[1])


# ----------------------------------------------------------------------------------------- DDP
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("backend", ["nccl", "gloo"])
def test_ddp_one_process_equals_plain_step(backend, exact_matmuls):
    if backend == "nccl" and not (CUDA and dist.is_nccl_available()):
        pytest.skip("NCCL needs CUDA and a torch built with it")
    if dist.is_initialized():
        pytest.skip("a process group is already initialised in this process")
    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{_free_port()}", rank=0, world_size=1)
    try:
        rt = get_runtime("smoke", DEV, "fp32")
        no_tf32()
        torch.manual_seed(0)
        plain = GPT(GPTConfig(**CFG)).to(DEV)
        inner = copy.deepcopy(plain)
        net = torch.nn.parallel.DistributedDataParallel(inner, device_ids=[0] if DEV == "cuda" else None)
        x = STREAM[:8 * 32].view(8, 32).to(DEV)
        y = STREAM[1:8 * 32 + 1].view(8, 32).to(DEV)
        for m in (plain, net):
            with rt.autocast():
                _, loss = logits_loss(m(x, y))
            loss.backward()
        for (name, p), q in zip(plain.named_parameters(), inner.parameters()):
            torch.testing.assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-6, msg=f"gradient of {name}")

        # the Trainer inside the process group (world size 1): trains and evaluates
        tcfg = TrainConfig(max_steps=3, batch_size=4, eval_interval=0, eval_iters=1, progress=False, log_interval=1)
        kwargs = dict(train_data=STREAM[:3600], val_data=STREAM[3600:])
        try:
            trainer = Trainer(GPT(GPTConfig(**CFG)), tcfg, rt, ddp=True, **kwargs)
        except TypeError:                                   # a Trainer without the ddp= switch
            trainer = Trainer(GPT(GPTConfig(**CFG)), tcfg, rt, **kwargs)
        hist = trainer.fit()
        assert (trainer.rank, trainer.world) == (0, 1)
        assert all(math.isfinite(v) for v in hist.train_loss) and math.isfinite(hist.final_val)
    finally:
        dist.destroy_process_group()
