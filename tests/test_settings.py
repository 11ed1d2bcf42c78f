"""gptlib.settings is the one place GPTLIB_* variables are read; get_runtime seeds once per process."""
import random
import re
from pathlib import Path

import pytest
import torch

from gptlib import checkpoints, data, runtime, settings

ROOT = Path(__file__).resolve().parent.parent


def table_names(text: str) -> list[str]:
    """The variable names in the first column of a markdown table."""
    return re.findall(r"^\| `(GPTLIB_[A-Z_]+)` \|", text, re.M)


def test_the_docstring_table_and_the_readme_list_every_variable():
    assert table_names(settings.__doc__) == list(settings.VARIABLES)
    readme = (ROOT / "README.md").read_text()
    assert "## Settings" in readme
    assert table_names(readme.split("## Settings", 1)[1]) == list(settings.VARIABLES)


def test_no_other_module_reads_gptlib_variables():
    offenders = []
    for path in (ROOT / "gptlib").rglob("*.py"):
        if path.name == "settings.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"(environ|getenv)\W.*GPTLIB_", line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == [], "read GPTLIB_* variables through gptlib.settings:\n" + "\n".join(offenders)


def test_values_are_read_at_call_time(monkeypatch, tmp_path):
    monkeypatch.setenv("GPTLIB_CACHE_DIR", str(tmp_path / "a"))
    assert data.cache_dir() == tmp_path / "a"
    monkeypatch.setenv("GPTLIB_CACHE_DIR", str(tmp_path / "b"))
    assert data.cache_dir() == tmp_path / "b"
    monkeypatch.delenv("GPTLIB_CACHE_DIR")
    assert settings.cache_dir() == Path.home() / ".cache" / "gptlib"
    monkeypatch.setenv("GPTLIB_CHECKPOINT_DIR", str(tmp_path / "ck"))
    assert checkpoints.checkpoint_dir() == tmp_path / "ck"
    monkeypatch.setenv("GPTLIB_DATA_DIR", f"{tmp_path / 'x'}{__import__('os').pathsep}{tmp_path / 'y'}")
    assert data.data_dirs() == [tmp_path / "x", tmp_path / "y"]
    monkeypatch.setenv("GPTLIB_DATA_DIR", "")
    assert data.data_dirs() == []


@pytest.mark.parametrize("value, on", [("1", True), ("yes", True), ("TRUE", True), ("", False), ("0", False),
                                       ("false", False), ("Off", False), (" no ", False)])
def test_switches(monkeypatch, value, on):
    for name, read in (("GPTLIB_OFFLINE", settings.offline), ("GPTLIB_NO_COMPILE", settings.no_compile),
                       ("GPTLIB_REQUIRE_BROWSER", settings.require_browser)):
        monkeypatch.setenv(name, value)
        assert read() is on, (name, value)
        monkeypatch.delenv(name)
        assert read() is False


def test_the_runtime_follows_its_variables(monkeypatch):
    monkeypatch.setenv("GPTLIB_PROFILE", "cpu")
    monkeypatch.setenv("GPTLIB_DEVICE", "cpu")
    monkeypatch.setenv("GPTLIB_PRECISION", "bf16")
    rt = runtime.get_runtime()
    assert (rt.profile, rt.device.type, rt.precision) == ("cpu", "cpu", "bf16")
    assert runtime.get_runtime(precision="fp32").precision == "fp32"      # the argument wins
    monkeypatch.setenv("GPTLIB_PROFILE", "huge")
    with pytest.raises(ValueError, match="GPTLIB_PROFILE must be one of"):
        runtime.get_runtime()


def test_the_suite_clears_the_shell_s_variables():
    # conftest.py cleared every GPTLIB_* and set only these (the cache and checkpoint folders per test)
    import os
    assert {k for k in os.environ if k.startswith("GPTLIB_")} <= {
        "GPTLIB_PROFILE", "GPTLIB_DATA_DIR", "GPTLIB_CACHE_DIR", "GPTLIB_CHECKPOINT_DIR"}
    assert os.environ["GPTLIB_PROFILE"] == "smoke"


# -------------------------------------------------------------------------------- seeding once
def draws():
    return random.random(), torch.rand(1).item()


def test_get_runtime_seeds_on_the_first_call_only(monkeypatch):
    monkeypatch.setattr(runtime, "_process_seed", None)          # as in a fresh process
    runtime.get_runtime("smoke", "cpu")
    first = draws()
    runtime.seed_everything(runtime.DEFAULT_SEED)
    assert draws() == first                                         # the first call seeded with 1337
    torch.manual_seed(5)
    random.seed(5)
    expected = draws()
    torch.manual_seed(5)
    random.seed(5)
    rt = runtime.get_runtime("smoke", "cpu", "fp32")                # a second runtime mid-chapter ...
    assert draws() == expected                                      # ... leaves the generators alone
    assert rt.seed == runtime.DEFAULT_SEED


def test_an_explicit_seed_reseeds(monkeypatch):
    monkeypatch.setattr(runtime, "_process_seed", None)
    runtime.get_runtime("smoke", "cpu")
    draws()
    rt = runtime.get_runtime("smoke", "cpu", seed=7)
    got = draws()
    runtime.seed_everything(7)
    assert got == draws() and rt.seed == 7
    assert runtime.get_runtime("smoke", "cpu").seed == 7            # later runtimes report the seed in force
