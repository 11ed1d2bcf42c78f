"""Saving and loading checkpoints safely, and "load what the book already trained, else train it".

* Writes go through :func:`gptlib.atomic.atomic_path` (a temporary file in the same folder, then
  ``os.replace``): a crash mid-save never leaves a half-written checkpoint under the real name.
* Loads use ``torch.load(weights_only=True)``: a checkpoint is data (tensors, numbers, strings,
  lists, dicts), never pickled code, so a downloaded file cannot run anything.
* :func:`load_or_train` keys a checkpoint by the exact recipe (model config + training config +
  data), so any chapter can run alone: it loads the model an earlier chapter (or an earlier run)
  trained with the same recipe, or trains it now and saves it for next time.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from . import settings
from .atomic import atomic_path


class CheckpointError(RuntimeError):
    pass


def checkpoint_dir() -> Path:
    """``$GPTLIB_CHECKPOINT_DIR``, else ``~/.cache/gptlib/checkpoints``."""
    return settings.checkpoint_dir()


def save_checkpoint(path, state: dict) -> Path:
    """Atomically write ``state`` (tensors, numbers, strings, lists, dicts) to ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return path


def load_checkpoint(path, map_location="cpu") -> dict:
    """Load a checkpoint written by :func:`save_checkpoint`, without executing pickled code."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:
        raise CheckpointError(
            f"checkpoint {path} is corrupt, truncated or not a gptlib checkpoint ({type(e).__name__}: "
            f"{str(e).splitlines()[0] if str(e) else ''}). Delete it and run again to retrain it.") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(state).__name__}, not a dict; "
                              "delete it and run again to retrain it")
    return state


def recipe_key(recipe: dict) -> str:
    """A short stable hash of a JSON-able recipe."""
    blob = json.dumps(recipe, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def checkpoint_path(name: str, recipe: dict, directory=None) -> Path:
    """Where the checkpoint of ``name`` trained with ``recipe`` lives: ``<dir>/<name>-<hash>.pt``."""
    return Path(directory or checkpoint_dir()) / f"{name}-{recipe_key(recipe)}.pt"


def load_or_train(name: str, recipe: dict, train_fn, *, directory=None, verbose: bool = True):
    """Return the state saved for ``(name, recipe)``, training it with ``train_fn()`` if absent.

    ``train_fn`` returns a state dict (see :func:`save_checkpoint`); it is saved before returning.
    A corrupt checkpoint is reported and retrained rather than used.
    """
    path = checkpoint_path(name, recipe, directory)
    if path.exists():
        try:
            state = load_checkpoint(path)
            if verbose:
                print(f"loaded {name} from {path}")
            return state
        except CheckpointError as e:
            print(f"warning: {e} Retraining.")
    state = train_fn()
    state = {**state, "recipe": json.loads(json.dumps(recipe, default=str))}
    save_checkpoint(path, state)
    if verbose:
        print(f"saved {name} to {path}")
    return state
