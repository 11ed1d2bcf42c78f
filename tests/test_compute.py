"""gptlib.compute: 6·N·D, hours and cost, against hand-worked numbers and the GPT-3 paper."""
import math

import pytest

from gptlib import compute


def test_six_n_d():
    assert compute.training_flops(1e6, 2e6) == 12e12
    assert compute.training_flops(10, 10, flops_per_param_token=2) == 200


def test_gpt3_matches_its_paper():
    # Brown et al. (2020), Table D.1: GPT-3 175B, 300B tokens, 3.14e23 FLOPs (3,640 PF-days)
    f = compute.training_flops(175e9, 300e9)
    assert math.isclose(f, 3.14e23, rel_tol=0.01)
    assert math.isclose(f / compute.PF_DAY, 3640, rel_tol=0.01)


def test_time_and_cost():
    s = compute.training_time(1e15, peak_flops=1e12, utilisation=0.5)
    assert s == pytest.approx(2000.0)
    assert compute.training_time(1e15, 1e12, 0.5, n_devices=4) == pytest.approx(500.0)
    assert compute.training_cost(3600, 2.0, n_devices=8) == pytest.approx(16.0)
    assert compute.achieved_flops(1e12, 4.0) == 2.5e11


def test_estimate_is_consistent():
    e = compute.estimate(1e9, 2e10, peak_flops=312e12, utilisation=0.4, n_devices=8,
                         price_per_device_hour=2.0)
    assert e["flops"] == 1.2e20
    assert e["seconds"] == pytest.approx(1.2e20 / (8 * 0.4 * 312e12))
    assert e["device_hours"] == pytest.approx(8 * e["hours"])
    assert e["cost"] == pytest.approx(2.0 * e["device_hours"])
    assert "cost" not in compute.estimate(1, 1, 1.0, 1.0)


def test_bad_inputs_fail_loudly():
    with pytest.raises(ValueError, match="utilisation"):
        compute.training_time(1, 1, 1.5)
    with pytest.raises(ValueError):
        compute.training_time(1, 0, 0.5)
    with pytest.raises(ValueError):
        compute.training_flops(-1, 1)
    with pytest.raises(ValueError):
        compute.achieved_flops(1, 0)


def test_accelerators_have_sources():
    assert {"V100", "A100", "H100"} <= set(compute.ACCELERATORS)
    for name, acc in compute.ACCELERATORS.items():
        assert acc.name == name and acc.peak_flops > 1e13 and acc.source
