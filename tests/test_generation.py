"""Sampling: the KV cache changes nothing but speed; filters do what they say."""
import pytest
import torch

from gptlib.generation import filter_logits, generate, stream
from gptlib.model import GPT, GPTConfig
from gptlib.tokenizers import CharTokenizer


@pytest.mark.parametrize("pos", ["learned", "sinusoidal", "rope", "none"])
def test_kv_cache_equals_full_recompute(pos):
    model = GPT(GPTConfig(vocab_size=30, block_size=12, n_layer=2, n_head=2, n_embd=16, pos=pos))
    prompt = torch.randint(0, 30, (2, 5))
    # within the context, and past it (the window slides)
    for n in (7, 25):
        a = generate(model, prompt, n, temperature=0, use_cache=True)
        b = generate(model, prompt, n, temperature=0, use_cache=False)
        assert torch.equal(a, b)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    a = generate(model, prompt, 20, temperature=0.8, top_k=10, use_cache=True, generator=g1)
    b = generate(model, prompt, 20, temperature=0.8, top_k=10, use_cache=False, generator=g2)
    assert torch.equal(a, b)


def test_cached_logits_match_full_forward():
    model = GPT(GPTConfig(vocab_size=30, block_size=16, n_layer=2, n_head=2, n_embd=16, pos="rope")).eval()
    from gptlib.model import KVCache
    x = torch.randint(0, 30, (1, 10))
    full, _ = model(x)
    cache = KVCache(2)
    part1, _ = model(x[:, :6], cache=cache)
    part2, _ = model(x[:, 6:], cache=cache)          # several new tokens at once
    torch.testing.assert_close(torch.cat([part1, part2], 1), full, atol=1e-5, rtol=1e-4)


def test_filters():
    logits = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    assert torch.isinf(filter_logits(logits, top_k=2)[0, :2]).all()
    assert torch.isfinite(filter_logits(logits, top_k=2)[0, 2:]).all()
    # probabilities ≈ [0.03, 0.09, 0.24, 0.64]: top_p 0.5 keeps one token, 0.8 keeps two
    assert torch.isfinite(filter_logits(logits, top_p=0.5)).sum() == 1
    assert torch.isfinite(filter_logits(logits, top_p=0.8)).sum() == 2
    with pytest.raises(ValueError):
        filter_logits(logits, top_p=0.0)


def test_greedy_is_argmax_and_stream_decodes():
    tok = CharTokenizer("abcdefgh ")
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=8, n_layer=1, n_head=1, n_embd=8))
    text = "".join(stream(model, tok, "abc", max_new_tokens=10, temperature=0))
    assert len(text) == 10 and set(text) <= set("abcdefgh ")


def test_prompt_longer_than_context_raises():
    model = GPT(GPTConfig(vocab_size=30, block_size=8, n_layer=1, n_head=1, n_embd=8))
    with pytest.raises(ValueError, match="prompt has 9 tokens but the model's context is 8"):
        generate(model, torch.zeros(1, 9, dtype=torch.long), 3)
