"""GPT-2 weights in and out: a small random transformers GPT-2 loads into gptlib with equal logits,
gptlib models export to transformers with equal logits, downloads are streamed, checked and
renamed (against a local HTTP server), and every bad input is refused with a clear message."""
import functools
import hashlib
import http.server
import json
import threading
from pathlib import Path

import pytest
import torch

from gptlib import pretrained
from gptlib.heads import SequenceClassifier
from gptlib.model import GPT, GPTConfig
from gptlib.pretrained import (ExportError, PretrainedChecksumError, PretrainedConfigError,
                               PretrainedFormatError, PretrainedUnavailableError, Release,
                               UnknownModelError, export_gpt2, load_gpt2)

SMALL_HF = dict(n_layer=2, n_head=4, n_embd=64, vocab_size=100, n_positions=32,
                bos_token_id=None, eos_token_id=None)
SMALL = dict(vocab_size=100, block_size=32, n_layer=2, n_head=4, n_embd=64)


def _transformers():
    return pytest.importorskip("transformers")


@pytest.fixture
def hf_folder(tmp_path):
    """A randomly initialised small GPT2LMHeadModel saved in the Hub's layout; (folder, model)."""
    tf = _transformers()
    torch.manual_seed(1)
    hf = tf.GPT2LMHeadModel(tf.GPT2Config(**SMALL_HF)).eval()
    with torch.no_grad():       # give the LayerNorms and biases non-trivial values too
        for name, p in hf.named_parameters():
            if name.endswith("bias") or ".ln_" in name:
                p.add_(0.1 * torch.randn_like(p))
    folder = tmp_path / "hf-small"
    hf.save_pretrained(folder)
    return folder, hf


def _ids(B=3, T=20, V=100, seed=0):
    return torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(seed))


def _mask(lengths, T, left=False):
    m = torch.zeros(len(lengths), T, dtype=torch.long)
    for i, n in enumerate(lengths):
        if left:
            m[i, T - n:] = 1
        else:
            m[i, :n] = 1
    return m


# ------------------------------------------------------------------------ transformers → gptlib
def test_hf_gpt2_loads_with_equal_logits(hf_folder):
    folder, hf = hf_folder
    model = load_gpt2(folder)
    assert isinstance(model, GPT) and not model.training
    c = model.config
    assert (c.bias, c.gelu, c.pos, c.norm, c.norm_placement, c.tie_weights, c.dropout) == \
        (True, "tanh", "learned", "layernorm", "pre", True, 0.0)
    assert (c.n_layer, c.n_head, c.n_embd, c.vocab_size, c.block_size) == (2, 4, 64, 100, 32)
    assert model.lm_head.weight is model.wte.weight
    x = _ids()
    with torch.no_grad():
        torch.testing.assert_close(model(x).logits, hf(x).logits)


def test_padded_batches_match_transformers(hf_folder):
    folder, hf = hf_folder
    model = load_gpt2(folder)
    x, lengths, T = _ids(T=12), [12, 7, 3], 12
    with torch.no_grad():
        # right padding: every real position agrees
        mask = _mask(lengths, T)
        ours, theirs = model(x, attention_mask=mask).logits, hf(x, attention_mask=mask).logits
        real = mask.bool()
        torch.testing.assert_close(ours[real], theirs[real])
        # left padding: transformers counts positions from column 0 unless told; give it ours
        mask = _mask(lengths, T, left=True)
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        ours = model(x, attention_mask=mask).logits
        theirs = hf(x, attention_mask=mask, position_ids=pos).logits
        real = mask.bool()
        torch.testing.assert_close(ours[real], theirs[real])


def test_hub_layout_without_prefix_and_with_mask_buffers(hf_folder, tmp_path):
    """OpenAI's files on the Hub name tensors without 'transformer.' and keep 'attn.bias' buffers."""
    from safetensors.torch import load_file, save_file
    folder, hf = hf_folder
    state = load_file(folder / "model.safetensors")
    renamed = {k.removeprefix("transformer."): v for k, v in state.items()}
    for i in range(SMALL_HF["n_layer"]):
        renamed[f"h.{i}.attn.bias"] = torch.tril(torch.ones(1, 1, 32, 32))
    out = tmp_path / "hub-layout"
    out.mkdir()
    save_file(renamed, out / "model.safetensors", metadata={"format": "pt"})
    (out / "config.json").write_text((folder / "config.json").read_text())
    x = _ids()
    with torch.no_grad():
        torch.testing.assert_close(load_gpt2(out)(x).logits, hf(x).logits)


def test_dtype_and_device(hf_folder):
    folder, _ = hf_folder
    model = load_gpt2(folder, dtype=torch.bfloat16, device="cpu")
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    assert model.lm_head.weight is model.wte.weight
    with pytest.raises(TypeError, match="dtype"):
        load_gpt2(folder, dtype=torch.int64)


# ------------------------------------------------------------------------ gptlib → transformers
@pytest.mark.parametrize("extra", [
    {"bias": True},
    {"bias": False},                                  # exported with zero biases
    {"bias": True, "gelu": "exact"},                  # activation_function "gelu"
    {"bias": True, "tie_weights": False},             # an lm_head.weight of its own
    {"bias": True, "mlp_ratio": 2},                   # n_inner = 2·n_embd
], ids=["gpt2", "no-bias", "exact-gelu", "untied", "mlp2"])
def test_export_reloads_in_transformers_with_equal_logits(tmp_path, extra):
    tf = _transformers()
    torch.manual_seed(2)
    model = GPT(GPTConfig(**SMALL, **extra)).eval()
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith("bias") or ".ln_" in n or n.startswith("ln_f"):
                p.add_(0.1 * torch.randn_like(p))
    out = export_gpt2(model, tmp_path / "export")
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors"]
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["activation_function"] == ("gelu" if extra.get("gelu") == "exact" else "gelu_new")
    assert cfg["tie_word_embeddings"] == extra.get("tie_weights", True)
    hf = tf.GPT2LMHeadModel.from_pretrained(out).eval()
    x = _ids()
    with torch.no_grad():
        torch.testing.assert_close(hf(x).logits, model(x).logits)
    # and back into gptlib
    back = load_gpt2(out)
    with torch.no_grad():
        torch.testing.assert_close(back(x).logits, model(x).logits)


def test_sequence_classifier_exports_as_gpt2_for_sequence_classification(tmp_path):
    tf = _transformers()
    torch.manual_seed(3)
    clf = SequenceClassifier(GPT(GPTConfig(**SMALL, bias=True)), num_classes=3).eval()
    pad = 0
    x, lengths, T = _ids(B=4, T=10), [10, 6, 4, 1], 10
    mask = _mask(lengths, T)
    x = x.clamp(min=1).masked_fill(mask == 0, pad)    # no real token is the pad id
    out = export_gpt2(clf, tmp_path / "clf", pad_token_id=pad)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["architectures"] == ["GPT2ForSequenceClassification"] and cfg["pad_token_id"] == pad
    hf = tf.GPT2ForSequenceClassification.from_pretrained(out).eval()
    assert hf.config.num_labels == 3
    with torch.no_grad():
        ours = clf(x, attention_mask=mask).logits
        theirs = hf(x, attention_mask=mask).logits
    assert ours.shape == (4, 3)
    torch.testing.assert_close(theirs, ours)


@pytest.mark.parametrize("extra,field", [
    ({"pos": "rope"}, "pos='rope'"), ({"pos": "sinusoidal"}, "pos='sinusoidal'"),
    ({"pos": "none"}, "pos='none'"), ({"norm": "rmsnorm"}, "norm='rmsnorm'"),
    ({"norm": "none"}, "norm='none'"), ({"norm_placement": "post"}, "norm_placement='post'"),
])
def test_export_refuses_what_gpt2_cannot_express(tmp_path, extra, field):
    model = GPT(GPTConfig(**SMALL, **extra))
    with pytest.raises(ExportError, match=field):
        export_gpt2(model, tmp_path / "x")
    assert not (tmp_path / "x" / "model.safetensors").exists()


def test_export_bad_arguments(tmp_path):
    clf = SequenceClassifier(GPT(GPTConfig(**SMALL)), num_classes=2)
    with pytest.raises(ExportError, match="pad_token_id"):
        export_gpt2(clf, tmp_path / "c")
    with pytest.raises(ExportError, match="pad_token_id must be a token id"):
        export_gpt2(clf, tmp_path / "c", pad_token_id=100)
    with pytest.raises(TypeError, match="GPT or heads.SequenceClassifier"):
        export_gpt2(torch.nn.Linear(2, 2), tmp_path / "c")


# ------------------------------------------------------------------------------ bad sources
def test_released_name_offline_says_it_needs_the_network(monkeypatch):
    monkeypatch.setenv("GPTLIB_OFFLINE", "1")
    with pytest.raises(PretrainedUnavailableError) as e:
        load_gpt2("gpt2")
    msg = str(e.value)
    assert "network" in msg and "548 MB" in msg
    assert "local folder" in msg and "config.json and model.safetensors" in msg
    assert "load_gpt2('/path/to/gpt2')" in msg


def test_released_name_without_network_says_so(monkeypatch):
    monkeypatch.setattr(pretrained, "HUB_URL", "http://127.0.0.1:9")    # nothing listens there
    with pytest.raises(PretrainedUnavailableError, match="download failed.*needs the network"):
        load_gpt2("gpt2")
    cache = pretrained.cache_folder("gpt2")
    assert not cache.exists() or not any(cache.iterdir())


def test_unpinned_release_is_refused(monkeypatch):
    rel = pretrained.RELEASES["gpt2"]
    monkeypatch.setitem(pretrained.RELEASES, "gpt2",
                        Release(rel.repo, rel.revision, None, None, rel.sizes, rel.download))
    with pytest.raises(PretrainedUnavailableError, match="refuses to download an unpinned file"):
        load_gpt2("gpt2")


def test_unknown_name_and_bad_paths(tmp_path):
    with pytest.raises(UnknownModelError, match="neither a released GPT-2.*gpt2-medium"):
        load_gpt2("gpt3")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(UnknownModelError, match="is a file"):
        load_gpt2(tmp_path / "f.txt")
    with pytest.raises(TypeError, match="released name"):
        load_gpt2(124)


def test_folder_without_config(hf_folder):
    folder, _ = hf_folder
    (folder / "config.json").unlink()
    with pytest.raises(PretrainedConfigError, match="no config.json.*model.safetensors"):
        load_gpt2(folder)


def test_folder_without_weights(hf_folder):
    folder, _ = hf_folder
    (folder / "model.safetensors").unlink()
    with pytest.raises(PretrainedFormatError, match="no model.safetensors"):
        load_gpt2(folder)


def _edit_config(folder, **changes):
    cfg = json.loads((folder / "config.json").read_text())
    cfg.update(changes)
    (folder / "config.json").write_text(json.dumps(cfg))


def test_config_with_more_layers_than_the_weights(hf_folder):
    folder, _ = hf_folder
    _edit_config(folder, n_layer=3)
    with pytest.raises(PretrainedFormatError, match=r"no tensor 'h\.2\.ln_1\.weight'.*n_layer=3.*does not match"):
        load_gpt2(folder)


def test_config_with_fewer_layers_than_the_weights(hf_folder):
    folder, _ = hf_folder
    _edit_config(folder, n_layer=1)
    with pytest.raises(PretrainedFormatError, match=r"'transformer\.h\.1\..*no place"):
        load_gpt2(folder)


def test_config_with_wrong_width(hf_folder):
    folder, _ = hf_folder
    _edit_config(folder, n_embd=32)
    with pytest.raises(PretrainedFormatError, match=r"'wte\.weight' has shape \(100, 64\).*\(100, 32\)"):
        load_gpt2(folder)


def test_truncated_safetensors(hf_folder):
    folder, _ = hf_folder
    w = folder / "model.safetensors"
    w.write_bytes(w.read_bytes()[: w.stat().st_size // 2])
    with pytest.raises(PretrainedFormatError, match="truncated or corrupt"):
        load_gpt2(folder)


def test_corrupt_safetensors(hf_folder):
    folder, _ = hf_folder
    (folder / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(PretrainedFormatError, match="cannot read it as safetensors"):
        load_gpt2(folder)


def test_config_that_is_not_json(hf_folder):
    folder, _ = hf_folder
    (folder / "config.json").write_text("{oops")
    with pytest.raises(PretrainedConfigError, match="not valid JSON"):
        load_gpt2(folder)


@pytest.mark.parametrize("changes,field", [
    ({"model_type": "llama"}, "'model_type' is 'llama'"),
    ({"model_type": "bert"}, "'model_type' is 'bert'"),
    ({"activation_function": "relu"}, "'activation_function' is 'relu'"),
    ({"layer_norm_epsilon": 1e-6}, "'layer_norm_epsilon'"),
    ({"add_cross_attention": True}, "'add_cross_attention'"),
    ({"scale_attn_weights": False}, "'scale_attn_weights'"),
    ({"scale_attn_by_inverse_layer_idx": True}, "'scale_attn_by_inverse_layer_idx'"),
    ({"n_inner": 100}, "'n_inner' is 100"),
    ({"n_head": 5}, "divisible by n_head"),
    ({"n_layer": 0}, "'n_layer' must be a positive integer"),
])
def test_config_fields_gpt2_in_gptlib_cannot_run(hf_folder, changes, field):
    folder, _ = hf_folder
    _edit_config(folder, **changes)
    with pytest.raises(PretrainedConfigError, match=field):
        load_gpt2(folder)


def test_config_missing_a_size(hf_folder):
    folder, _ = hf_folder
    cfg = json.loads((folder / "config.json").read_text())
    del cfg["n_positions"]
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(PretrainedConfigError, match="no field 'n_positions'"):
        load_gpt2(folder)


# ------------------------------------------------------------------------- the download path
class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def hub(tmp_path, hf_folder, monkeypatch):
    """A local 'Hub' on 127.0.0.1 serving the small model at <repo>/resolve/<rev>/, with the
    pinned release 'gpt2' pointed at it. Yields (release, hf model, server root)."""
    folder, hf = hf_folder
    root = tmp_path / "hub"
    rel = Release("test-org/tiny-gpt2", "0123456789abcdef0123456789abcdef01234567",
                  hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest(),
                  hashlib.sha256((folder / "config.json").read_bytes()).hexdigest(),
                  {"n_layer": 2, "n_head": 4, "n_embd": 64, "n_positions": 32, "vocab_size": 100}, "1 MB")
    served = root / rel.repo / "resolve" / rel.revision
    served.mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        (served / name).write_bytes((folder / name).read_bytes())
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(pretrained, "HUB_URL", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setitem(pretrained.RELEASES, "gpt2", rel)
    yield rel, hf, served
    server.shutdown()
    server.server_close()


def _watch_reads(monkeypatch):
    """Record the size of every read() the download makes from the HTTP response."""
    reads = []
    real_open = pretrained._open_url

    def watched(url, timeout=60.0):
        response = real_open(url, timeout)
        real_read = response.read

        def read(n=-1):
            block = real_read(n)
            reads.append((url.rsplit("/", 1)[1], n, len(block)))
            return block
        response.read = read
        return response
    monkeypatch.setattr(pretrained, "_open_url", watched)
    return reads


def test_download_is_streamed_checked_and_renamed(hub, monkeypatch):
    rel, hf, _ = hub
    monkeypatch.setattr(pretrained, "CHUNK", 4096)
    reads = _watch_reads(monkeypatch)
    model = load_gpt2("gpt2")
    x = _ids()
    with torch.no_grad():
        torch.testing.assert_close(model(x).logits, hf(x).logits)
    weight_reads = [r for r in reads if r[0] == "model.safetensors"]
    assert len(weight_reads) > 10 and all(n == 4096 and got <= 4096 for _, n, got in weight_reads)
    cache = pretrained.cache_folder("gpt2")
    assert sorted(p.name for p in cache.iterdir()) == ["config.json", "model.safetensors"]
    assert pretrained.sha256_of(cache / "model.safetensors") == rel.weights_sha256
    # a second load reads the verified cache and makes no request
    reads.clear()
    load_gpt2("gpt2")
    assert reads == []


def test_wrong_hash_leaves_nothing_behind(hub, monkeypatch):
    rel, _, _ = hub
    bad = Release(rel.repo, rel.revision, "0" * 64, rel.config_sha256, rel.sizes, rel.download)
    monkeypatch.setitem(pretrained.RELEASES, "gpt2", bad)
    with pytest.raises(PretrainedChecksumError, match="is not the pinned 0000.*nothing was kept"):
        load_gpt2("gpt2")
    cache = pretrained.cache_folder("gpt2")
    assert not any(cache.iterdir())          # no torn file, no .part, not even the config


def test_corrupt_config_download_leaves_nothing(hub, monkeypatch):
    rel, _, served = hub
    (served / "config.json").write_text("{}")
    with pytest.raises(PretrainedChecksumError):
        load_gpt2("gpt2")
    cache = pretrained.cache_folder("gpt2")
    assert not cache.exists() or not any(cache.iterdir())


def test_config_without_a_pinned_hash_is_checked_by_content(hub, monkeypatch):
    rel, hf, served = hub
    unpinned_config = Release(rel.repo, rel.revision, rel.weights_sha256, None, rel.sizes, rel.download)
    monkeypatch.setitem(pretrained.RELEASES, "gpt2", unpinned_config)
    x = _ids()
    with torch.no_grad():
        torch.testing.assert_close(load_gpt2("gpt2")(x).logits, hf(x).logits)
    # a served config that disagrees with the release's published sizes is refused, and not kept
    for p in pretrained.cache_folder("gpt2").iterdir():
        p.unlink()
    cfg = json.loads((served / "config.json").read_text())
    cfg["n_layer"] = 1
    (served / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(PretrainedChecksumError, match="'n_layer' is 1.*pinned release has 2"):
        load_gpt2("gpt2")
    assert not any(pretrained.cache_folder("gpt2").iterdir())


def test_offline_copy_in_data_dir_is_checked(hub, monkeypatch, tmp_path):
    rel, hf, served = hub
    copy = tmp_path / "offline" / "pretrained" / "gpt2"
    copy.mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        (copy / name).write_bytes((served / name).read_bytes())
    monkeypatch.setenv("GPTLIB_DATA_DIR", str(tmp_path / "offline"))
    monkeypatch.setenv("GPTLIB_OFFLINE", "1")
    x = _ids()
    with torch.no_grad():
        torch.testing.assert_close(load_gpt2("gpt2")(x).logits, hf(x).logits)
    (copy / "config.json").write_text((copy / "config.json").read_text() + " ")
    with pytest.raises(PretrainedChecksumError, match="offline copy is not the published file"):
        load_gpt2("gpt2")


def test_pinned_releases_are_complete():
    """Every release names a full commit hash and a 64-hex weights sha256 (what downloads check)."""
    for name, rel in pretrained.RELEASES.items():
        assert rel.repo == f"openai-community/{name}"
        assert rel.pinned and len(rel.revision) == 40 and len(rel.weights_sha256) == 64
        int(rel.revision, 16), int(rel.weights_sha256, 16)
        assert rel.config_sha256 is None or len(rel.config_sha256) == 64
