import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
if "GPTLIB_DATA_DIR" not in os.environ and SHARED.exists():
    os.environ["GPTLIB_DATA_DIR"] = str(SHARED)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Each test gets its own empty cache and checkpoint folders."""
    monkeypatch.setenv("GPTLIB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GPTLIB_CHECKPOINT_DIR", str(tmp_path / "ckpt"))
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    torch.manual_seed(0)

