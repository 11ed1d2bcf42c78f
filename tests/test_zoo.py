"""The zoo's checkpoint keys: they name what a recipe chose, and nothing else."""
import dataclasses

import gptlib
from gptlib import checkpoints, zoo
from gptlib.training import TrainConfig


def test_key_names_only_the_fields_a_recipe_sets():
    key, mcfg, tcfg = zoo.recipe_for("shakespeare-char", gptlib.get_runtime(profile="smoke"))
    assert key["train"]["max_steps"] == tcfg.max_steps
    # fields left at their defaults (and ones that do not change the weights) are not in the key
    defaults = TrainConfig().to_dict()
    assert all(v != defaults[k] for k, v in key["train"].items())
    assert "progress" not in key["train"] and "log_interval" not in key["train"]
    assert key["model"]["n_embd"] == mcfg.n_embd


def test_a_new_default_field_does_not_rekey():
    rt = gptlib.get_runtime(profile="smoke")
    key, _, tcfg = zoo.recipe_for("shakespeare-char", rt)

    @dataclasses.dataclass
    class Grown(TrainConfig):          # TrainConfig as it might grow: one more field, default off
        new_lever: bool = False

    grown = Grown(**tcfg.to_dict())
    assert zoo._non_default(grown, Grown(), ignore=("progress", "log_interval")) == key["train"]
    changed = dataclasses.replace(grown, new_lever=True)
    assert zoo._non_default(changed, Grown(), ignore=("progress", "log_interval")) != key["train"]
    assert checkpoints.recipe_key(key) == checkpoints.recipe_key(dict(key))
