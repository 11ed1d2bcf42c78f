"""The suite runs the same in any shell: every GPTLIB_* variable is cleared at session start,
then set to the suite's own values (smoke profile, the workplace's offline data, and a fresh cache
and checkpoint folder for each test)."""
import os
from pathlib import Path

import pytest
import torch

from gptlib import settings

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"

# Read before clearing: CI sets GPTLIB_REQUIRE_BROWSER=1 so that a missing Chromium fails the run.
REQUIRE_BROWSER = settings.require_browser()
for _name in [k for k in os.environ if k.startswith("GPTLIB_")]:
    del os.environ[_name]
os.environ["GPTLIB_PROFILE"] = "smoke"
if SHARED.exists():
    os.environ["GPTLIB_DATA_DIR"] = str(SHARED)


@pytest.fixture(scope="session")
def require_browser() -> bool:
    """True when the browser tests must fail, not skip, without Chromium."""
    return REQUIRE_BROWSER


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Each test gets its own empty cache and checkpoint folders."""
    monkeypatch.setenv("GPTLIB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GPTLIB_CHECKPOINT_DIR", str(tmp_path / "ckpt"))
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    torch.manual_seed(0)
