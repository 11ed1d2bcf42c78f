"""gptlib.bench: presets, arithmetic and the JSON it prints (no timing is asserted here)."""
import json
import time

import pytest
import torch

from gptlib import bench


def test_nanogpt_preset_is_nanogpts_cpu_recipe():
    p = bench.PRESETS["nanogpt-cpu"]
    assert p["model"] == dict(n_layer=4, n_head=4, n_embd=128, block_size=64, dropout=0.0, bias=False,
                              tie_weights=True, gelu="exact")   # nanoGPT's MLP uses nn.GELU(): exact
    t = p["train"]
    assert (t["batch_size"], t["lr"], t["min_lr"], t["warmup_steps"], t["max_steps"]) == (12, 1e-3, 1e-4, 100, 2000)
    assert (t["beta1"], t["beta2"], t["weight_decay"], t["grad_clip"]) == (0.9, 0.99, 0.1, 1.0)
    assert (t["eval_interval"], t["eval_iters"]) == (250, 20)
    assert p["precision"] == "bf16-if-native"      # a lever of the loop; --precision fp32 for nanoGPT's
    assert bench.PRESETS["gpu"] is bench.PRESETS["shakespeare-gpu"]
    assert bench.PRESETS["gpu"]["train"]["compile"] is True


def test_mfu_arithmetic():
    assert bench.mfu(1000.0, 6e6, 6e9) == pytest.approx(1.0)
    assert bench.mfu(24_000, 5_168_640, 195e9) == pytest.approx(24_000 * 5_168_640 / 195e9)


def test_parse_overrides_types_and_errors():
    out = bench.parse_overrides(["batch_size=32", "lr=3e-3", "compile=true", "grad-clip=0.5"])
    assert out == {"batch_size": 32, "lr": 0.003, "compile": True, "grad_clip": 0.5}
    assert isinstance(out["batch_size"], int)
    with pytest.raises(SystemExit, match="TrainConfig field"):
        bench.parse_overrides(["no_such_field=1"])
    with pytest.raises(SystemExit, match="key=value"):
        bench.parse_overrides(["lr"])


def test_precision_spec(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(bench, "cpu_has_bf16_units", lambda: True)
    assert bench.resolve_bench_precision("bf16-if-native", cpu) == "bf16"
    monkeypatch.setattr(bench, "cpu_has_bf16_units", lambda: False)
    assert bench.resolve_bench_precision("bf16-if-native", cpu) == "fp32"
    assert bench.resolve_bench_precision("fp16", cpu) == "fp16"
    assert bench.resolve_bench_precision(None, cpu) is None


def test_seconds_since_process_start():
    a = bench.seconds_since_process_start()
    time.sleep(0.05)
    b = bench.seconds_since_process_start()
    assert 0 <= a < 24 * 3600 and b >= a


def test_matmul_peak_is_positive():
    assert bench.measure_matmul_peak(torch.device("cpu"), torch.float32, seconds=0.01, sizes=(64,)) > 0


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
