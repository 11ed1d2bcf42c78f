"""OpenAI's GPT-2 weights in a gptlib :class:`~gptlib.model.GPT`, and gptlib models back out to 🤗 transformers.

``load_gpt2(source)`` takes either

* a **released name** — ``"gpt2"`` (124M), ``"gpt2-medium"`` (355M), ``"gpt2-large"`` (774M),
  ``"gpt2-xl"`` (1.5B) — fetched from the Hugging Face Hub repository ``openai-community/<name>``
  at a **pinned commit** (:data:`RELEASES`). ``config.json`` and ``model.safetensors`` are
  streamed in chunks to a temporary file beside their place in the cache, hashed while they
  stream, compared with the pinned sha256 and only then renamed into place
  (:func:`gptlib.atomic.atomic_path`): a failed or corrupt download leaves nothing behind and the
  file is never held whole in memory. The cache is ``$GPTLIB_CACHE_DIR/pretrained/`` (see
  :mod:`gptlib.settings`); an offline copy may also sit in ``$GPTLIB_DATA_DIR/pretrained/<name>/``.
* or a **local folder** in the Hub's layout: ``config.json`` + ``model.safetensors`` (what
  ``huggingface-cli download openai-community/gpt2 config.json model.safetensors --local-dir DIR``
  or ``GPT2LMHeadModel.save_pretrained(DIR)`` writes). A released name wins over a folder of
  the same name in the working directory: write ``"./gpt2"`` for the folder.

Only ``safetensors`` is needed to load; ``transformers`` is not. Tensors are read one at a time
into a model built without initialisation, so loading needs the model's memory and one tensor.

**The mapping.** Hugging Face's GPT-2 keeps OpenAI's names and OpenAI's ``Conv1D`` layers, whose
weight is stored ``(in_features, out_features)`` and applied as ``y = x W + b``. A PyTorch
``nn.Linear`` stores ``(out, in)`` and computes ``y = x Wᵀ + b``, so every Conv1D weight is
transposed on the way in (and back on the way out)::

    wte, wpe                         -> GPT.wte, GPT.wpe           (embeddings: as they are)
    h.{i}.ln_1, h.{i}.ln_2, ln_f     -> blocks[i].ln_1/.ln_2, ln_f (LayerNorm: as they are)
    h.{i}.attn.c_attn  (C, 3C)       -> blocks[i].attn.c_attn      (transposed to (3C, C))
    h.{i}.attn.c_proj  (C, C)        -> blocks[i].attn.c_proj      (transposed)
    h.{i}.mlp.c_fc     (C, 4C)       -> blocks[i].mlp.c_fc         (transposed to (4C, C))
    h.{i}.mlp.c_proj   (4C, C)       -> blocks[i].mlp.c_proj       (transposed)
    lm_head.weight                   -> tied to wte (GPT-2 ties them)

Names may carry a ``transformer.`` prefix (what ``save_pretrained`` writes) or not (OpenAI's
Hub files); the old causal-mask buffers ``attn.bias`` / ``attn.masked_bias`` are skipped. GPT-2 in
gptlib's terms is ``GPTConfig(bias=True, gelu="tanh", pos="learned", norm="layernorm",
norm_placement="pre", tie_weights=True, dropout=0.0, block_size=n_positions)``: GPT-2's
``"gelu_new"`` is the tanh approximation ½x(1 + tanh(√(2/π)(x + 0.044715x³))). The config is
checked field by field and anything gptlib's GPT cannot run (another architecture,
cross-attention, a LayerNorm ε other than 1e-5, unscaled attention …) is refused with the
field's name.

``export_gpt2(model, directory)`` writes the same layout back: a :class:`~gptlib.model.GPT` as
``GPT2LMHeadModel``, a :class:`~gptlib.heads.SequenceClassifier` as
``GPT2ForSequenceClassification`` (``score.weight``). What GPT-2 cannot express (RoPE, sinusoidal
or no positions, RMSNorm or no norm, post-LN) raises :class:`ExportError`.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import torch
import torch.nn as nn

from . import settings
from .atomic import atomic_path, write_text
from .model import GPT, GPTConfig

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
HUB_URL = "https://huggingface.co"      # tests point this at a local server
CHUNK = 1 << 20                         # bytes read (and hashed) per step while downloading
GPT2_EOS = 50256                        # <|endoftext|> in GPT-2's 50,257-token vocabulary


# ------------------------------------------------------------------------------------ errors
class PretrainedError(Exception):
    """Base class of every error this module raises."""


class PretrainedUnavailableError(PretrainedError, RuntimeError):
    """The weights are not on this machine and cannot be downloaded (offline, no network, or
    no pinned checksum to check a download against)."""


class PretrainedChecksumError(PretrainedError, ValueError):
    """A downloaded or offline file is not the pinned one."""


class PretrainedConfigError(PretrainedError, ValueError):
    """``config.json`` is missing, unreadable, or describes a model gptlib's GPT cannot run."""


class PretrainedFormatError(PretrainedError, ValueError):
    """``model.safetensors`` is missing, truncated, corrupt, or does not match ``config.json``."""


class UnknownModelError(PretrainedError, ValueError):
    """``source`` is neither a released GPT-2 name nor an existing folder."""


class ExportError(PretrainedError, ValueError):
    """The model cannot be written as a GPT-2 checkpoint."""


# ---------------------------------------------------------------------------------- releases
@dataclass(frozen=True)
class Release:
    """One released GPT-2 checkpoint on the Hub, pinned.

    ``revision``: the repository commit downloads are read from. ``weights_sha256`` /
    ``config_sha256``: the sha256 of ``model.safetensors`` (its Git LFS oid) and of
    ``config.json``. Without a revision or a ``weights_sha256`` nothing is downloaded. A
    ``config_sha256`` of None means the downloaded ``config.json`` is checked by content
    instead: its sizes must equal ``sizes`` and it must pass the usual field checks.
    """
    repo: str
    revision: str | None
    weights_sha256: str | None
    config_sha256: str | None
    sizes: dict                 # n_layer, n_head, n_embd, n_positions, vocab_size (the paper's)
    download: str               # human-readable size of model.safetensors

    @property
    def pinned(self) -> bool:
        return bool(self.revision and self.weights_sha256)


def _sizes(n_layer, n_head, n_embd):
    return {"n_layer": n_layer, "n_head": n_head, "n_embd": n_embd, "n_positions": 1024,
            "vocab_size": 50257}


# Where each value comes from (public records, each found in at least two independent places):
# * revisions: the commits other projects pin for these repositories (huggingface_hub's own
#   `resolve_revision("openai-community/gpt2")` docstring example resolves to gpt2's; several
#   model-revision tables list all four together).
# * weights_sha256: the "Git LFS Details · SHA256" of model.safetensors on the Hub's blob pages
#   (gpt2-medium refs/pr/5 and /8, gpt2-large refs/pr/7, gpt2-xl refs/pr/5 and /9, and a
#   "Duplicate from openai-community/gpt2" copy), equal to the sha256s that projects pinning
#   these same revisions record for the file they downloaded.
# * config_sha256: the sha256s projects pinning these revisions record for config.json (gpt2:
#   665 bytes; gpt2-medium: 718 bytes; gpt2-xl). No public record of gpt2-large's config.json
#   sha256 was found: left None, so its config is checked by content (see Release).
RELEASES: dict[str, Release] = {
    "gpt2": Release(
        "openai-community/gpt2", "607a30d783dfa663caf39e06633721c8d4cfcd7e",
        "248dfc3911869ec493c76e65bf2fcf7f615828b0254c12b473182f0f81d3a707",
        "0daed7749b4f02b8f76240d5444551d7b08712dab4d0adb8239c56ba823bb7b4",
        _sizes(12, 12, 768), "548 MB"),
    "gpt2-medium": Release(
        "openai-community/gpt2-medium", "6dcaa7a952f72f9298047fd5137cd6e4f05f41da",
        "fc5a354a19255ad494f3d71549390baca1ccf61d1d822b9408971705c687c9cd",
        "ef1a44d889ad1a0acc7731c78134f1b87d2d222f110e97dd10fd4117331caf22",
        _sizes(24, 16, 1024), "1.5 GB"),
    "gpt2-large": Release(
        "openai-community/gpt2-large", "32b71b12589c2f8d625668d2335a01cac3249519",
        "5f47f3e12f91cd33b662ce7e433b6150ad5512b5884a2cee961b50e9c3bbebce",
        None,   # not verifiable from a public source: config.json is checked by content
        _sizes(36, 20, 1280), "3.2 GB"),
    "gpt2-xl": Release(
        "openai-community/gpt2-xl", "15ea56dee5df4983c59b2538573817e1667135e2",
        "0f8b28eb05a8075f48b61b6f35332978c74fc7763fa9fb4051a1c30511736a6a",
        "be48115d52314bc27327e160bf10197760db02ea689d10adb24db4102edf7a8a",
        _sizes(48, 25, 1600), "6.4 GB"),
}


# ---------------------------------------------------------------------------- config checks
_ACTIVATIONS = {"gelu_new": "tanh", "gelu_pytorch_tanh": "tanh", "gelu": "exact"}


def _field(cfg: dict, name: str, where: str):
    if name not in cfg:
        raise PretrainedConfigError(f"{where}: config.json has no field {name!r}; a GPT-2 config needs "
                                    "vocab_size, n_positions, n_embd, n_layer and n_head")
    return cfg[name]


def _positive_int(cfg: dict, name: str, where: str) -> int:
    v = _field(cfg, name, where)
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        raise PretrainedConfigError(f"{where}: config.json field {name!r} must be a positive integer, got {v!r}")
    return v


def gpt_config_from_hf(cfg: dict, where: str = "config.json") -> GPTConfig:
    """A Hugging Face GPT-2 ``config.json`` (as a dict) → the :class:`GPTConfig` that runs it.

    Raises :class:`PretrainedConfigError` naming the field when the config is not a GPT-2 one
    or asks for something gptlib's GPT does not do."""
    if not isinstance(cfg, dict):
        raise PretrainedConfigError(f"{where}: config.json must hold a JSON object, got {type(cfg).__name__}")
    model_type = cfg.get("model_type")
    if model_type != "gpt2":
        raise PretrainedConfigError(
            f"{where}: config.json field 'model_type' is {model_type!r}, not 'gpt2'. load_gpt2 reads "
            "GPT-2 checkpoints only (gpt2, gpt2-medium, gpt2-large, gpt2-xl or a model saved from "
            "GPT2LMHeadModel); other architectures name and shape their layers differently")
    if cfg.get("add_cross_attention", False):
        raise PretrainedConfigError(f"{where}: config.json field 'add_cross_attention' is true; gptlib's GPT "
                                    "is decoder-only and has no cross-attention layers")
    if cfg.get("scale_attn_weights", True) is not True:
        raise PretrainedConfigError(f"{where}: config.json field 'scale_attn_weights' is "
                                    f"{cfg.get('scale_attn_weights')!r}; gptlib always scales scores by 1/√d_k")
    if cfg.get("scale_attn_by_inverse_layer_idx", False):
        raise PretrainedConfigError(f"{where}: config.json field 'scale_attn_by_inverse_layer_idx' is true; "
                                    "gptlib's attention has no per-layer 1/(layer+1) scaling")
    act = cfg.get("activation_function", "gelu_new")
    if act not in _ACTIVATIONS:
        raise PretrainedConfigError(f"{where}: config.json field 'activation_function' is {act!r}; gptlib "
                                    f"supports {sorted(_ACTIVATIONS)} (GPT-2 uses 'gelu_new', the tanh form)")
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not math.isclose(eps, 1e-5, rel_tol=1e-6):
        raise PretrainedConfigError(f"{where}: config.json field 'layer_norm_epsilon' is {eps!r}; gptlib's "
                                    "LayerNorm uses 1e-5, as GPT-2 does")
    n_embd = _positive_int(cfg, "n_embd", where)
    n_head = _positive_int(cfg, "n_head", where)
    if n_embd % n_head:
        raise PretrainedConfigError(f"{where}: config.json fields 'n_embd' ({n_embd}) and 'n_head' ({n_head}): "
                                    "n_embd must be divisible by n_head")
    n_inner = cfg.get("n_inner")
    if n_inner is None:
        mlp_ratio = 4
    elif isinstance(n_inner, int) and not isinstance(n_inner, bool) and n_inner > 0 and n_inner % n_embd == 0:
        mlp_ratio = n_inner // n_embd
    else:
        raise PretrainedConfigError(f"{where}: config.json field 'n_inner' is {n_inner!r}; gptlib's MLP width "
                                    f"is a whole multiple of n_embd ({n_embd}); null means GPT-2's 4·n_embd")
    tie = cfg.get("tie_word_embeddings", True)
    if not isinstance(tie, bool):
        raise PretrainedConfigError(f"{where}: config.json field 'tie_word_embeddings' must be true or false, "
                                    f"got {tie!r}")
    return GPTConfig(vocab_size=_positive_int(cfg, "vocab_size", where),
                     block_size=_positive_int(cfg, "n_positions", where),
                     n_layer=_positive_int(cfg, "n_layer", where), n_head=n_head, n_embd=n_embd,
                     dropout=0.0, bias=True, pos="learned", norm="layernorm", norm_placement="pre",
                     tie_weights=tie, mlp_ratio=mlp_ratio, gelu=_ACTIVATIONS[act])


def _read_config(path: Path) -> dict:
    if not path.is_file():
        raise PretrainedConfigError(
            f"{path.parent}: no config.json. A local GPT-2 folder needs config.json and model.safetensors "
            "(the Hub's layout, e.g. from `huggingface-cli download openai-community/gpt2 config.json "
            "model.safetensors --local-dir DIR` or GPT2LMHeadModel.save_pretrained(DIR))")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PretrainedConfigError(f"{path}: not valid JSON ({e}); replace it with the checkpoint's "
                                    "config.json") from None


def _check_sizes(cfg_dict: dict, expect: dict, where) -> None:
    for k, v in expect.items():
        if cfg_dict.get(k) != v:
            raise PretrainedChecksumError(f"{where}: field {k!r} is {cfg_dict.get(k)!r}, but the pinned "
                                          f"release has {v}; this is not the published config.json")


# ----------------------------------------------------------------------------- weight mapping
_CONV1D = ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")
_IGNORED_SUFFIXES = (".attn.bias", ".attn.masked_bias")


def _hf_names(cfg: GPTConfig) -> dict[str, tuple[str, bool]]:
    """HF tensor name (no ``transformer.`` prefix) → (gptlib parameter name, transpose?)."""
    names = {"wte.weight": ("wte.weight", False), "wpe.weight": ("wpe.weight", False)}
    for i in range(cfg.n_layer):
        for ln in ("ln_1", "ln_2"):
            for p in ("weight", "bias"):
                names[f"h.{i}.{ln}.{p}"] = (f"blocks.{i}.{ln}.{p}", False)
        for layer in _CONV1D:
            names[f"h.{i}.{layer}.weight"] = (f"blocks.{i}.{layer}.weight", True)
            names[f"h.{i}.{layer}.bias"] = (f"blocks.{i}.{layer}.bias", False)
    names["ln_f.weight"] = ("ln_f.weight", False)
    names["ln_f.bias"] = ("ln_f.bias", False)
    if not cfg.tie_weights:
        names["lm_head.weight"] = ("lm_head.weight", False)
    return names


def _open_safetensors(path: Path):
    try:
        from safetensors import safe_open
    except ImportError:  # pragma: no cover - safetensors is a dependency
        raise PretrainedUnavailableError("loading GPT-2 weights needs the `safetensors` package: "
                                         "pip install safetensors") from None
    if not path.is_file():
        raise PretrainedFormatError(f"{path.parent}: no model.safetensors (the weights) beside config.json")
    try:
        return safe_open(str(path), framework="pt")
    except Exception as e:
        raise PretrainedFormatError(
            f"{path}: cannot read it as safetensors ({type(e).__name__}: {e}). The file is truncated or "
            "corrupt, or is not a safetensors file (a pytorch_model.bin is not read); download it again") from None


def _load_state(model: GPT, weights: Path, cfg: GPTConfig) -> None:
    """Copy every tensor of ``weights`` into ``model`` (one tensor in memory at a time)."""
    mapping = _hf_names(cfg)
    params = dict(model.named_parameters(remove_duplicate=False))
    with _open_safetensors(weights) as f:
        by_name = {}
        for k in f.keys():
            short = k[len("transformer."):] if k.startswith("transformer.") else k
            if short.endswith(_IGNORED_SUFFIXES) or (short == "lm_head.weight" and cfg.tie_weights):
                continue
            if short not in mapping:
                raise PretrainedFormatError(
                    f"{weights}: tensor {k!r} has no place in a GPT-2 of this config.json "
                    f"(n_layer={cfg.n_layer}); the weights and the config do not belong together "
                    "(or the file holds another model, e.g. a classifier head)")
            if short in by_name:
                raise PretrainedFormatError(f"{weights}: tensor {short!r} appears twice (with and without "
                                            "the 'transformer.' prefix)")
            by_name[short] = k
        for short, (ours, transpose) in mapping.items():
            if short not in by_name:
                raise PretrainedFormatError(
                    f"{weights}: no tensor {short!r}, which config.json needs (n_layer={cfg.n_layer}, "
                    f"tie_word_embeddings={str(cfg.tie_weights).lower()}); the config does not match "
                    "the weights")
            try:
                t = f.get_tensor(by_name[short])
            except Exception as e:
                raise PretrainedFormatError(f"{weights}: cannot read tensor {short!r} ({type(e).__name__}: {e}); "
                                            "the file is truncated or corrupt; download it again") from None
            p = params[ours]
            want = tuple(p.shape[::-1]) if transpose else tuple(p.shape)
            if tuple(t.shape) != want:
                raise PretrainedFormatError(
                    f"{weights}: tensor {short!r} has shape {tuple(t.shape)} but config.json implies {want} "
                    f"(n_embd={cfg.n_embd}, vocab_size={cfg.vocab_size}, n_positions={cfg.block_size}); "
                    "the config does not match the weights")
            if not t.is_floating_point() or not bool(torch.isfinite(t).all()):
                raise PretrainedFormatError(f"{weights}: tensor {short!r} is not finite floating point; "
                                            "the file is corrupt")
            with torch.no_grad():
                p.copy_((t.t() if transpose else t).to(dtype=p.dtype))


def _load_folder(folder: Path, *, device, dtype, expect: dict | None = None) -> GPT:
    cfg_dict = _read_config(folder / CONFIG_NAME)
    cfg = gpt_config_from_hf(cfg_dict, where=str(folder))
    if expect:
        _check_sizes(cfg_dict, expect, folder / CONFIG_NAME)
    with _open_safetensors(folder / WEIGHTS_NAME):     # a missing or torn file fails before allocating
        pass
    device = torch.device(device) if device is not None else torch.device("cpu")
    with torch.device("meta"):                      # no memory, no random init: filled below
        model = GPT(cfg)
    model = model.to_empty(device=device)
    if dtype is not None:
        model = model.to(dtype)
    if cfg.tie_weights:                             # to_empty gives the head its own tensor
        model.lm_head.weight = model.wte.weight
    _load_state(model, folder / WEIGHTS_NAME, cfg)
    return model.eval()


# ---------------------------------------------------------------------------------- download
def sha256_of(path, chunk: int = CHUNK) -> str:
    """The sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _open_url(url: str, timeout: float = 60.0) -> BinaryIO:
    """An open HTTP response for ``url`` (tests replace this to watch the reads)."""
    return urllib.request.urlopen(urllib.request.Request(url, headers={"User-Agent": "gptlib"}),
                                  timeout=timeout)


def _url(rel: Release, filename: str) -> str:
    return f"{HUB_URL.rstrip('/')}/{rel.repo}/resolve/{rel.revision}/{filename}"


def _download(url: str, dest: Path, sha256: str | None, check=None) -> Path:
    """Stream ``url`` to a temporary file beside ``dest``, hashing each chunk; rename it to
    ``dest`` only if its sha256 is ``sha256`` (or, when that is None, ``check(tmp)`` passes)."""
    with atomic_path(dest) as tmp:
        h = hashlib.sha256()
        with contextlib.closing(_open_url(url)) as response, open(tmp, "wb") as out:
            for block in iter(lambda: response.read(CHUNK), b""):
                h.update(block)
                out.write(block)
        got = h.hexdigest()
        if sha256 is not None and got != sha256:
            raise PretrainedChecksumError(
                f"{url}: sha256 {got} is not the pinned {sha256}. The download is corrupt or the file on "
                "the server changed; nothing was kept. Retry, or load a verified local folder.")
        if sha256 is None and check is not None:
            check(tmp)
    return dest


def _verified(path: Path, sha256: str | None) -> bool:
    return path.is_file() and (sha256 is None or sha256_of(path) == sha256)


def _release(name: str) -> Release:
    if name not in RELEASES:
        raise UnknownModelError(f"unknown GPT-2 release {name!r}; released: {', '.join(RELEASES)}")
    return RELEASES[name]


def cache_folder(name: str) -> Path:
    """Where the released checkpoint ``name`` is (or would be) cached."""
    rel = _release(name)
    return settings.cache_dir() / "pretrained" / rel.repo / (rel.revision or "unpinned")


def _unavailable(name: str, rel: Release, why: str) -> PretrainedUnavailableError:
    where = ", ".join(str(d / "pretrained" / name) for d in settings.data_dirs()) or "(GPTLIB_DATA_DIR not set)"
    return PretrainedUnavailableError(
        f"the {name} weights are not on this machine and {why}. Downloading them needs the network "
        f"(about {rel.download} from huggingface.co/{rel.repo}). Offline, point load_gpt2 at a local "
        f"folder holding config.json and model.safetensors — load_gpt2('/path/to/{name}') — for example "
        f"one made with `huggingface-cli download {rel.repo} config.json model.safetensors --local-dir "
        f"/path/to/{name}`, or put that folder at $GPTLIB_DATA_DIR/pretrained/{name}/ (looked in: {where}; "
        f"the cache {cache_folder(name)}).")


def _fetch_release(name: str) -> Path:
    """A local folder with the pinned, verified ``config.json`` + ``model.safetensors`` of ``name``."""
    rel = _release(name)
    # An offline copy (checked against the pins) wins; then the cache; then the network.
    for d in settings.data_dirs():
        folder = d / "pretrained" / name
        if (folder / WEIGHTS_NAME).is_file() and (folder / CONFIG_NAME).is_file():
            for fname, sha in ((CONFIG_NAME, rel.config_sha256), (WEIGHTS_NAME, rel.weights_sha256)):
                if sha is not None and sha256_of(folder / fname) != sha:
                    raise PretrainedChecksumError(
                        f"{folder / fname}: sha256 is not the pinned {sha} of {rel.repo}@{rel.revision}; "
                        "this offline copy is not the published file. Replace it, or load the folder "
                        f"directly with load_gpt2({str(folder)!r}) to skip the check.")
            return folder
    folder = cache_folder(name)
    config, weights = folder / CONFIG_NAME, folder / WEIGHTS_NAME
    if rel.pinned and _verified(config, rel.config_sha256) and _verified(weights, rel.weights_sha256):
        return folder
    if not rel.pinned:
        raise _unavailable(name, rel, "this gptlib has no verified revision and sha256 for it, so it "
                                      "refuses to download an unpinned file")
    if settings.offline():
        raise _unavailable(name, rel, "GPTLIB_OFFLINE is set")
    written = []        # files this call put in the cache: removed again if the other fails
    try:
        if not _verified(config, rel.config_sha256):
            def content_check(tmp):
                _check_sizes(_read_config(tmp), rel.sizes, _url(rel, CONFIG_NAME))
            written.append(_download(_url(rel, CONFIG_NAME), config, rel.config_sha256, check=content_check))
        if not _verified(weights, rel.weights_sha256):
            written.append(_download(_url(rel, WEIGHTS_NAME), weights, rel.weights_sha256))
    except BaseException as e:
        for path in written:
            path.unlink(missing_ok=True)
        if isinstance(e, urllib.error.HTTPError):
            raise _unavailable(name, rel, f"the download failed (HTTP {e.code} for {e.url})") from None
        if isinstance(e, (urllib.error.URLError, OSError)):
            why = f"the download failed ({type(e).__name__}: {getattr(e, 'reason', e)})"
            raise _unavailable(name, rel, why) from None
        raise
    return folder


# ------------------------------------------------------------------------------------- load
def load_gpt2(source, *, device=None, dtype=None) -> GPT:
    """GPT-2 weights → a gptlib :class:`GPT` in eval mode.

    ``source``: a released name (``"gpt2"``, ``"gpt2-medium"``, ``"gpt2-large"``, ``"gpt2-xl"``;
    pinned in :data:`RELEASES`, downloaded once into the cache; needs the network the first
    time) or a local folder in the Hub's layout (``config.json`` + ``model.safetensors``).
    ``device``: where the parameters live (default CPU). ``dtype``: e.g. ``torch.bfloat16``
    (default float32, the dtype of OpenAI's releases).

    The returned model's logits equal ``transformers.GPT2LMHeadModel``'s on the same ids
    (``tests/test_pretrained.py``). Its dropout is 0. Raises :class:`PretrainedUnavailableError`
    offline without a copy, :class:`UnknownModelError` for an unknown name,
    :class:`PretrainedConfigError` / :class:`PretrainedFormatError` for a folder that is not a
    GPT-2 checkpoint, :class:`PretrainedChecksumError` for a corrupt download.
    """
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating-point torch.dtype such as torch.float32, got {dtype!r}")
    if isinstance(source, str) and source in RELEASES:
        rel = RELEASES[source]
        return _load_folder(_fetch_release(source), device=device, dtype=dtype,
                            expect=rel.sizes if rel.config_sha256 is None else None)
    if not isinstance(source, (str, Path)):
        raise TypeError(f"source must be a released name ({', '.join(RELEASES)}) or a folder path, "
                        f"got {type(source).__name__}")
    path = Path(source).expanduser()
    if not path.exists():
        raise UnknownModelError(
            f"{str(source)!r} is neither a released GPT-2 ({', '.join(RELEASES)}) nor an existing folder. "
            "Give one of those names, or the path of a folder holding config.json and model.safetensors")
    if not path.is_dir():
        raise UnknownModelError(f"{path} is a file; give the folder that holds config.json and model.safetensors")
    return _load_folder(path, device=device, dtype=dtype)


# ----------------------------------------------------------------------------------- export
def _check_exportable(cfg: GPTConfig) -> None:
    problems = []
    if cfg.pos != "learned":
        problems.append(f"pos={cfg.pos!r} (GPT-2 has learned absolute positions only)")
    if cfg.norm != "layernorm":
        problems.append(f"norm={cfg.norm!r} (GPT-2 uses LayerNorm)")
    if cfg.norm_placement != "pre":
        problems.append(f"norm_placement={cfg.norm_placement!r} (GPT-2 is pre-LN)")
    if cfg.mlp_ratio < 1:
        problems.append(f"mlp_ratio={cfg.mlp_ratio} (GPT-2 blocks have an MLP)")
    if problems:
        raise ExportError("this model cannot be written as GPT-2: " + "; ".join(problems) +
                          ". Only GPTConfig(pos='learned', norm='layernorm', norm_placement='pre') models "
                          "map onto transformers' GPT2 classes")


def _hf_config(cfg: GPTConfig, ln_eps: float, architecture: str, pad_token_id) -> dict:
    eos = GPT2_EOS if cfg.vocab_size == 50257 else None
    return {
        "architectures": [architecture], "model_type": "gpt2",
        "vocab_size": cfg.vocab_size, "n_positions": cfg.block_size, "n_embd": cfg.n_embd,
        "n_layer": cfg.n_layer, "n_head": cfg.n_head,
        "n_inner": None if cfg.mlp_ratio == 4 else cfg.mlp_ratio * cfg.n_embd,
        "activation_function": "gelu_new" if cfg.gelu == "tanh" else "gelu",
        "layer_norm_epsilon": ln_eps, "resid_pdrop": cfg.dropout, "embd_pdrop": cfg.dropout,
        "attn_pdrop": cfg.dropout, "scale_attn_weights": True, "scale_attn_by_inverse_layer_idx": False,
        "reorder_and_upcast_attn": False, "add_cross_attention": False,
        "tie_word_embeddings": cfg.tie_weights, "initializer_range": 0.02,
        "bos_token_id": eos, "eos_token_id": eos, "pad_token_id": pad_token_id, "use_cache": True,
    }


def _tensors(gpt: GPT, prefix: str = "transformer.") -> dict[str, torch.Tensor]:
    """The GPT's weights under transformers' GPT-2 names (Conv1D weights transposed)."""
    cfg = gpt.config
    state = dict(gpt.named_parameters(remove_duplicate=False))
    out = {}
    for short, (ours, transpose) in _hf_names(cfg).items():
        if short == "lm_head.weight":
            continue
        if ours in state:
            t = state[ours].detach()
            out[prefix + short] = (t.t() if transpose else t).contiguous().cpu().clone()
        else:   # bias=False: GPT-2 always has biases, so they are written as zeros (same function)
            weight = state[ours[:-len("bias")] + "weight"]
            out[prefix + short] = torch.zeros(weight.shape[0], dtype=weight.dtype)
    if not cfg.tie_weights:
        out["lm_head.weight"] = gpt.lm_head.weight.detach().contiguous().cpu().clone()
    return out


def export_gpt2(model: nn.Module, directory, *, pad_token_id: int | None = None) -> Path:
    """Write ``model`` as a Hugging Face GPT-2 folder (``config.json`` + ``model.safetensors``).

    A :class:`GPT` becomes a ``GPT2LMHeadModel``; a :class:`gptlib.heads.SequenceClassifier`
    becomes a ``GPT2ForSequenceClassification`` (its ``score`` Linear as ``score.weight``,
    ``num_labels`` = its classes). Both files are written atomically, and
    ``from_pretrained(directory)`` then gives the same logits as gptlib
    (``tests/test_pretrained.py``). A model with ``bias=False`` is written with zero biases (GPT-2
    always has them; the function is the same), ``gelu="exact"`` as
    ``activation_function="gelu"``, an untied head as ``tie_word_embeddings=false`` plus an
    ``lm_head.weight``, ``mlp_ratio`` as ``n_inner``, dropout as the model's ``config.dropout``.

    ``pad_token_id`` (required for a classifier). transformers' classifier does not look at the
    attention mask when it pools: it reads the **rightmost token whose id is not
    pad_token_id**, while gptlib reads the last position whose ``attention_mask`` is 1. The two
    agree when you give the id you padded with *and no text ends with that id*: with GPT-2's
    BPE pad with ``<|endoftext|>`` (50256) when the texts carry no trailing end-of-text token,
    otherwise with an id that never ends a text. Right-padded batches then give equal logits;
    with left padding also pass transformers gptlib's positions,
    ``position_ids = (mask.cumsum(-1) - 1).clamp(min=0)``, because it counts positions from the
    first column. (Without a pad id transformers refuses batches of more than one row.)
    """
    from .heads import SequenceClassifier   # heads imports model; imported here on use

    if isinstance(model, SequenceClassifier):
        gpt, architecture = model.backbone, "GPT2ForSequenceClassification"
        if pad_token_id is None:
            raise ExportError("export_gpt2(classifier, ...) needs pad_token_id=: transformers pools the "
                              "rightmost token that is not the pad id, so it must know which id you pad "
                              "with (see export_gpt2's docstring for how to choose it)")
        if model.score.bias is not None:
            raise ExportError("the classifier's score layer has a bias; GPT2ForSequenceClassification's has none")
    elif isinstance(model, GPT):
        gpt, architecture = model, "GPT2LMHeadModel"
    else:
        raise TypeError(f"export_gpt2 writes a gptlib GPT or heads.SequenceClassifier, got {type(model).__name__}")
    cfg = gpt.config
    _check_exportable(cfg)
    if pad_token_id is not None and (not isinstance(pad_token_id, int) or isinstance(pad_token_id, bool)
                                     or not 0 <= pad_token_id < cfg.vocab_size):
        raise ExportError(f"pad_token_id must be a token id in 0..{cfg.vocab_size - 1}, got {pad_token_id!r}")
    try:
        from safetensors.torch import save_file
    except ImportError:  # pragma: no cover
        raise ExportError("export_gpt2 needs the `safetensors` package: pip install safetensors") from None
    hf = _hf_config(cfg, float(gpt.ln_f.eps), architecture, pad_token_id)
    tensors = _tensors(gpt)
    if architecture == "GPT2ForSequenceClassification":
        k = model.num_classes
        hf["id2label"] = {str(i): f"LABEL_{i}" for i in range(k)}
        hf["label2id"] = {f"LABEL_{i}": i for i in range(k)}
        tensors["score.weight"] = model.score.weight.detach().contiguous().cpu().clone()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with atomic_path(directory / WEIGHTS_NAME) as tmp:
        save_file(tensors, str(tmp), metadata={"format": "pt"})
    write_text(directory / CONFIG_NAME, json.dumps(hf, indent=2, sort_keys=True) + "\n")
    return directory


__all__ = ["RELEASES", "Release", "load_gpt2", "export_gpt2", "gpt_config_from_hf", "cache_folder",
           "sha256_of", "PretrainedError", "PretrainedUnavailableError", "PretrainedChecksumError",
           "PretrainedConfigError", "PretrainedFormatError", "UnknownModelError", "ExportError"]
