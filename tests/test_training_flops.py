"""The process-wide training-FLOPs tally (gptlib.training.training_flops) and its record in
tools/run_chapter.py's JSON, which tools/chapter_times.py reads for the course guide."""
import importlib.util
import json
from pathlib import Path

import nbformat
import torch

from gptlib.model import GPT, GPTConfig
from gptlib.runtime import get_runtime
from gptlib.training import TrainConfig, Trainer, reset_training_flops, training_flops

ROOT = Path(__file__).resolve().parent.parent


def _trainer(steps=3, batch_size=4, grad_accum=1):
    torch.manual_seed(0)
    data = torch.arange(600) % 7
    cfg = TrainConfig(max_steps=steps, batch_size=batch_size, grad_accum=grad_accum,
                      warmup_steps=0, eval_interval=0, progress=False)
    model = GPT(GPTConfig(vocab_size=7, block_size=8, n_layer=1, n_head=2, n_embd=16))
    return Trainer(model, cfg, get_runtime("smoke", "cpu"), train_data=data[:500],
                   val_data=data[500:])


def test_each_step_adds_six_n_tokens():
    reset_training_flops()
    assert training_flops() == {"flops": 0.0, "tokens": 0, "steps": 0}
    t = _trainer(steps=3, batch_size=4, grad_accum=2)
    hist = t.fit()
    n = t.model.num_params()                      # tied weights counted once
    tokens = 3 * 4 * 2 * 8                         # steps × batch × accumulation × block
    assert hist.tokens_seen == tokens              # History unchanged
    assert training_flops() == {"flops": 6.0 * n * tokens, "tokens": tokens, "steps": 3}
    _trainer(steps=2).fit()                        # a second Trainer adds to the same tally
    assert training_flops()["steps"] == 5
    assert training_flops()["tokens"] == tokens + 2 * 4 * 8
    reset_training_flops()
    assert training_flops()["flops"] == 0.0


def test_run_chapter_records_training_flops_per_cell(tmp_path):
    spec = importlib.util.spec_from_file_location("run_chapter", ROOT / "tools" / "run_chapter.py")
    rc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rc)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import tests.test_training_flops as t\nx = 1"),
                nbformat.v4.new_code_cell("trainer = t._trainer(steps=2)\ntrainer.fit()"),
                nbformat.v4.new_code_cell("print(x + 1)")]
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    import sys
    sys.path.insert(0, str(ROOT))
    try:
        code = rc.ChapterRunner(path, tmp_path / "out", figures=False, executed=False).run()
    finally:
        sys.path.remove(str(ROOT))
    assert code == 0
    result = json.loads((tmp_path / "out" / "tiny.json").read_text())
    flops = [c["train_flops"] for c in result["cells"]]
    assert flops[0] == 0 and flops[2] == 0 and flops[1] > 0
    assert result["train_flops"] == sum(flops)
    n = GPT(GPTConfig(vocab_size=7, block_size=8, n_layer=1, n_head=2, n_embd=16)).num_params()
    assert result["train_flops"] == 6.0 * n * 2 * 4 * 8
    machine = result["machine"]
    assert machine["cores"] >= 1 and machine["cpu"] and machine["date"].endswith("Z")
    assert "loadavg_start" in machine and "loadavg_end" in machine
