"""Every ``GPTLIB_*`` environment variable, read here and only here.

Each function reads its variable when it is called, never at import, so a test (or a notebook
cell) that changes the environment sees the change at once.

| variable | meaning | default |
|---|---|---|
| `GPTLIB_PROFILE` | size profile: `gpu`, `cpu` or `smoke` (the tests use `smoke`) | `gpu` with CUDA, else `cpu` |
| `GPTLIB_DEVICE` | force a device, e.g. `cpu`, `cuda:1`, `mps` | best available: cuda, mps, cpu |
| `GPTLIB_PRECISION` | precision when `get_runtime(precision=)` is not given: `auto`, `fp32`, `bf16`, `fp16` | `auto` |
| `GPTLIB_DATA_DIR` | folders (separated by `os.pathsep`) holding offline copies of the data, laid out as the registry's paths | none |
| `GPTLIB_CACHE_DIR` | where downloaded and unpacked data files are kept | `~/.cache/gptlib` |
| `GPTLIB_OFFLINE` | `1`: never download; use the cache and `GPTLIB_DATA_DIR` only | off |
| `GPTLIB_CHECKPOINT_DIR` | where trained models are saved and looked up | `~/.cache/gptlib/checkpoints` |
| `GPTLIB_NO_COMPILE` | `1`: train without `torch.compile`, even where a recipe asks for it | off |
| `GPTLIB_REQUIRE_BROWSER` | `1`: the explorer's browser tests fail, instead of skipping, when Chromium is missing (CI) | off |

A switch is on when its value is anything but empty, `0`, `false`, `no` or `off` (any case).
"""
from __future__ import annotations

import os
from pathlib import Path

_OFF = ("", "0", "false", "no", "off")


def _value(name: str) -> str | None:
    """The variable's value with surrounding spaces removed; None when unset or empty."""
    raw = os.environ.get(name, "").strip()
    return raw or None


def _switch(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in _OFF


def profile() -> str | None:
    """``GPTLIB_PROFILE`` (checked by :func:`gptlib.runtime.detect_profile`), or None."""
    return _value("GPTLIB_PROFILE")


def device() -> str | None:
    """``GPTLIB_DEVICE``, or None to pick the best available device."""
    return _value("GPTLIB_DEVICE")


def precision() -> str | None:
    """``GPTLIB_PRECISION``, or None (the runtime then uses ``auto``)."""
    return _value("GPTLIB_PRECISION")


def data_dirs() -> list[Path]:
    """The folders of ``GPTLIB_DATA_DIR`` (``os.pathsep``-separated), in order."""
    raw = os.environ.get("GPTLIB_DATA_DIR", "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


def cache_dir() -> Path:
    """``GPTLIB_CACHE_DIR``, else ``~/.cache/gptlib``."""
    d = _value("GPTLIB_CACHE_DIR")
    return Path(d).expanduser() if d else Path.home() / ".cache" / "gptlib"


def offline() -> bool:
    """``GPTLIB_OFFLINE``: True means never download."""
    return _switch("GPTLIB_OFFLINE")


def checkpoint_dir() -> Path:
    """``GPTLIB_CHECKPOINT_DIR``, else ``~/.cache/gptlib/checkpoints``."""
    d = _value("GPTLIB_CHECKPOINT_DIR")
    return Path(d).expanduser() if d else Path.home() / ".cache" / "gptlib" / "checkpoints"


def no_compile() -> bool:
    """``GPTLIB_NO_COMPILE``: True means train without ``torch.compile``."""
    return _switch("GPTLIB_NO_COMPILE")


def require_browser() -> bool:
    """``GPTLIB_REQUIRE_BROWSER``: True makes a missing Chromium a test failure, not a skip."""
    return _switch("GPTLIB_REQUIRE_BROWSER")


# Name -> the function that reads it; tests check that this, the table above and the README agree.
VARIABLES = {
    "GPTLIB_PROFILE": profile,
    "GPTLIB_DEVICE": device,
    "GPTLIB_PRECISION": precision,
    "GPTLIB_DATA_DIR": data_dirs,
    "GPTLIB_CACHE_DIR": cache_dir,
    "GPTLIB_OFFLINE": offline,
    "GPTLIB_CHECKPOINT_DIR": checkpoint_dir,
    "GPTLIB_NO_COMPILE": no_compile,
    "GPTLIB_REQUIRE_BROWSER": require_browser,
}
