"""The side-by-side mode of gptlib.bench (nanoGPT's train.py is not run here)."""
import pytest

from gptlib import bench

NANOGPT_LOG = """\
tokens per iteration will be: 768
found vocab_size = 65 (inside data/shakespeare_char/meta.pkl)
Initializing a new model from scratch
number of parameters: 0.80M
step 0: train loss 4.1743, val loss 4.1712
iter 0: loss 4.1870, time 2300.51ms, mfu -100.00%
iter 1: loss 4.0985, time 90.00ms, mfu -100.00%
iter 5: loss 3.5000, time 100.00ms, mfu 0.01%
iter 6: loss 3.4000, time 50.00ms, mfu 0.01%
iter 7: loss 3.3000, time 70.00ms, mfu 0.01%
step 8: train loss 3.2000, val loss 3.2500
iter 8: loss 3.2000, time 900.00ms, mfu 0.01%
iter 9: loss 3.1000, time 60.00ms, mfu 0.01%
"""


def test_parse_nanogpt_log_median_of_steady_non_eval_iters():
    out = bench.parse_nanogpt_log(NANOGPT_LOG, eval_interval=8)
    # iters >= 5 and not multiples of 8: 100, 50, 70, 60 -> median 65 ms
    assert out["steady_iters"] == 4
    assert out["median_step_ms"] == pytest.approx(65.0)
    assert out["tokens_per_s"] == pytest.approx(768 * 1000 / 65.0, abs=0.1)
    assert (out["step"], out["val_loss"], out["train_loss"]) == (8, 3.25, 3.2)
    assert [e["val"] for e in out["evals"]] == [4.1712, 3.25]


def test_parse_nanogpt_log_without_timings_fails():
    with pytest.raises(ValueError, match="no nanoGPT"):
        bench.parse_nanogpt_log("Initializing a new model from scratch\n", eval_interval=250)


def test_missing_work_tree_says_how_to_get_nanogpt(tmp_path):
    with pytest.raises(bench.NanoGPTUnavailable, match="not a nanoGPT work tree.*git clone"):
        bench.check_nanogpt_tree(tmp_path / "nowhere")
    with pytest.raises(bench.NanoGPTUnavailable, match="git clone"):
        bench.check_nanogpt_tree(None)
    with pytest.raises(SystemExit, match="not a nanoGPT work tree"):
        bench.main(["--vs-nanogpt", str(tmp_path)])


def test_nanogpt_command_is_the_baseline_scripts_invocation():
    cmd = bench.nanogpt_command("py", 300, 300, "/o")
    assert cmd[:3] == ["py", "train.py", "config/train_shakespeare_char.py"]
    for flag in ("--device=cpu", "--compile=False", "--eval_iters=20", "--log_interval=1", "--block_size=64",
                 "--batch_size=12", "--n_layer=4", "--n_head=4", "--n_embd=128", "--max_iters=300",
                 "--lr_decay_iters=300", "--dropout=0.0", "--eval_interval=300", "--out_dir=/o"):
        assert flag in cmd


def test_side_by_side_alternates_and_takes_median_ratios(monkeypatch, tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "train.py").write_text("")
    (tmp_path / "config" / "train_shakespeare_char.py").write_text("")
    order = []
    nano = iter([{"tokens_per_s": 1000.0, "val_loss": 2.40, "wall_seconds": 100.0},
                 {"tokens_per_s": 2000.0, "val_loss": 2.39, "wall_seconds": 120.0}])
    ours = iter([{"median_tokens_per_s": 2500.0, "val_loss": 2.41, "seconds_to_target": 20.0},
                 {"median_tokens_per_s": 3000.0, "val_loss": 2.38, "seconds_to_target": 40.0}])

    def fake_nano(tree, iters, ev, python, log):
        order.append(("nanoGPT", iters, ev))
        return next(nano)

    def fake_ours(args, python):
        order.append(("gptlib", tuple(args)))
        return next(ours)

    monkeypatch.setattr(bench, "run_nanogpt", fake_nano)
    monkeypatch.setattr(bench, "run_gptlib_subprocess", fake_ours)
    out = bench.side_by_side(tmp_path, "throughput", 2, log=lambda *a: None)
    assert [o[0] for o in order] == ["nanoGPT", "gptlib", "nanoGPT", "gptlib"]
    assert order[0][1:] == (300, 300)
    assert "--precision" in order[1][1] and "fp32" in order[1][1]
    assert out["throughput_ratios"] == [2.5, 1.5]
    assert out["throughput_ratio_median"] == pytest.approx(2.0)
    assert [r["who"] for r in out["runs"]] == ["nanoGPT", "gptlib", "nanoGPT", "gptlib"]

    nano = iter([{"tokens_per_s": 1.0, "val_loss": 1.8857, "wall_seconds": 100.0}] * 2)
    ours = iter([{"seconds_to_target": 20.0, "val_loss": 1.88}, {"seconds_to_target": 50.0, "val_loss": 1.88}])
    order.clear()
    out = bench.side_by_side(tmp_path, "quality", 2, log=lambda *a: None)
    assert order[0][1:] == (2000, 250)
    assert "--target-val-loss" in order[1][1] and "fast-cpu" in order[1][1]
    assert out["time_to_quality_ratios"] == [5.0, 2.0]
    assert out["time_to_quality_ratio_median"] == pytest.approx(3.5)
