"""gptlib.bench: presets, arithmetic and the JSON it prints (no timing is asserted here)."""
import json
import time

import pytest
import torch

from gptlib import bench, recipes


def test_nanogpt_preset_is_nanogpts_cpu_recipe():
    model, t, precision = recipes.spec("nanogpt-cpu", "cpu")
    assert model == dict(n_layer=4, n_head=4, n_embd=128, block_size=64, dropout=0.0, bias=False,
                         tie_weights=True, gelu="exact")   # nanoGPT's MLP uses nn.GELU(): exact
    assert (t["batch_size"], t["lr"], t["min_lr"], t["warmup_steps"], t["max_steps"]) == (12, 1e-3, 1e-4, 100, 2000)
    assert (t["beta1"], t["beta2"], t["weight_decay"], t["grad_clip"]) == (0.9, 0.99, 0.1, 1.0)
    assert (t["eval_interval"], t["eval_iters"]) == (250, 20)
    assert precision == "bf16-if-native"      # a lever of the loop; --precision fp32 for nanoGPT's
    assert recipes.get_recipe("gpu") is recipes.get_recipe("shakespeare-gpu")
    assert recipes.spec("gpu", "gpu")[1]["compile"] is True
    assert set(bench.PRESETS) <= set(recipes.RECIPES) | set(recipes.ALIASES)


def test_zoo_gpu_profile_is_the_gpu_preset():
    """One registry: the book's shared Shakespeare model on a GPU is nanoGPT's GPU recipe exactly."""
    assert recipes.spec("shakespeare-char", "gpu")[:2] == recipes.spec("shakespeare-gpu", "any")[:2]


def test_mfu_arithmetic():
    assert bench.mfu(1000.0, 6e6, 6e9) == pytest.approx(1.0)
    # Worked by hand: GPT-2 small's 6N = 6 x 124e6 = 7.44e8 FLOPs per token; at 100,000 tokens/s
    # that is 7.44e13 FLOP/s, which is 23.85% of an A100's 312 TFLOP/s bf16 peak.
    assert bench.mfu(100_000, 7.44e8, 312e12) == pytest.approx(0.23846, abs=1e-5)
    # Twice the throughput at the same peak is twice the utilisation; twice the peak, half of it.
    assert bench.mfu(2_000, 5e6, 1e11) == pytest.approx(2 * bench.mfu(1_000, 5e6, 1e11))
    assert bench.mfu(1_000, 5e6, 2e11) == pytest.approx(bench.mfu(1_000, 5e6, 1e11) / 2)


def test_parse_overrides_types_and_errors():
    out = bench.parse_overrides(["batch_size=32", "lr=3e-3", "compile=true", "grad-clip=0.5"])
    assert out == {"batch_size": 32, "lr": 0.003, "compile": True, "grad_clip": 0.5}
    assert isinstance(out["batch_size"], int)
    with pytest.raises(SystemExit, match="TrainConfig field"):
        bench.parse_overrides(["no_such_field=1"])
    with pytest.raises(SystemExit, match="key=value"):
        bench.parse_overrides(["lr"])


def test_precision_spec(monkeypatch):
    import gptlib.runtime
    cpu = torch.device("cpu")
    monkeypatch.setattr(gptlib.runtime, "cpu_has_bf16_units", lambda: True)
    assert recipes.training_precision("bf16-if-native", cpu) == "bf16"
    monkeypatch.setattr(gptlib.runtime, "cpu_has_bf16_units", lambda: False)
    assert recipes.training_precision("bf16-if-native", cpu) == "fp32"
    assert recipes.training_precision("bf16-if-native", torch.device("cuda")) == "auto"
    assert recipes.training_precision("fp16", cpu) == "fp16"
    assert recipes.training_precision(None, cpu) is None


def test_seconds_since_process_start():
    a = bench.seconds_since_process_start()
    time.sleep(0.05)
    b = bench.seconds_since_process_start()
    assert 0 <= a < 24 * 3600 and b >= a


def timed_matmul_flops(n: int, seconds: float) -> float:
    """FLOP/s of an n x n fp32 matmul, timed here independently of gptlib.bench: the best of
    rounds of about 2 GFLOP each over ``seconds`` (rounds as long as the bench's, so that a busy
    machine disturbs both measurements alike)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    reps = max(1, int(2e9 / (2 * n ** 3)))
    best, deadline = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < deadline or best == 0.0:
        t0 = time.perf_counter()
        for _ in range(reps):
            a @ b
        best = max(best, 2 * n ** 3 * reps / (time.perf_counter() - t0))
    return best


def test_matmul_peak_matches_a_timed_matmul():
    n = 128
    # Same operation, same machine, both best-of over the same time: within 1.5x of each other (a
    # wrong FLOP count, such as n^3 without the 2, a wrong time unit or a zero is outside it). One
    # thread, so that OpenMP threads spinning on a shared machine cannot slow one side alone; a
    # busy machine can still disturb one pair of measurements, so a pair is retaken up to 3 times.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(3):
            ours = timed_matmul_flops(n, seconds=0.2)
            peak = bench.measure_matmul_peak(torch.device("cpu"), torch.float32, seconds=0.2, sizes=(n,))
            if ours / 1.5 < peak < ours * 1.5:
                break
    finally:
        torch.set_num_threads(threads)
    assert ours / 1.5 < peak < ours * 1.5, f"measured peak {peak / 1e9:.2f} GFLOP/s, timed {ours / 1e9:.2f} GFLOP/s"


@pytest.mark.parametrize("reference", [False, True])
def test_run_returns_the_json_fields(reference):
    r = bench.run("nanogpt-cpu", iters=2, eval_interval=1, log=lambda *a: None, reference_loop=reference,
                  measure_peak=False)
    json.dumps(r)
    assert r["iters"] == 2 and r["tokens"] == 2 * 12 * 64 and r["loop"] == ("reference" if reference else "trainer")
    assert r["precision"] == "fp32" if reference else r["precision"] in ("fp32", "bf16")
    assert r["tokens_per_s"] > 0 and r["val_loss"] > 0 and r["flops_per_token"] > 0


def test_target_val_loss_stops_training():
    r = bench.run("nanogpt-cpu", iters=50, eval_interval=2, target_val_loss=100.0, log=lambda *a: None,
                  measure_peak=False, confirm_iters=2)
    assert r["steps_to_target"] == 2 and r["iters"] == 2 and r["seconds_to_target"] > 0
    assert r["val_loss_confirm"] > 0
