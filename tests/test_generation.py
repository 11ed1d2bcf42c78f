"""Sampling: the KV cache changes nothing but speed; filters do what they say."""
import pytest
import torch

from gptlib.generation import AllowedTokens, RepetitionPenalty, filter_logits, generate, generate_batch, stream
from gptlib.model import GPT, GPTConfig
from gptlib.tokenizers import CharTokenizer


def independent_greedy(model, prompt, n):
    """Greedy decoding written out by hand: re-read the last block_size tokens every step."""
    ids = prompt.clone()
    block = model.config.block_size
    with torch.no_grad():
        for _ in range(n):
            logits = model.eval()(ids[:, -block:]).logits[:, -1, :]
            ids = torch.cat([ids, logits.argmax(-1, keepdim=True)], 1)
    return ids


@pytest.mark.parametrize("pos", ["learned", "sinusoidal", "rope", "none"])
def test_kv_cache_equals_full_recompute(pos):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=30, block_size=12, n_layer=2, n_head=2, n_embd=16, pos=pos))
    prompt = torch.randint(0, 30, (2, 5))
    # within the context (7 new tokens), and past it (25: the window slides 18 times)
    for n in (7, 25):
        expected = independent_greedy(model, prompt, n)
        assert torch.equal(generate(model, prompt, n, temperature=0, use_cache=True), expected)
        assert torch.equal(generate(model, prompt, n, temperature=0, use_cache=False), expected)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    a = generate(model, prompt, 20, temperature=0.8, top_k=10, use_cache=True, generator=g1)
    b = generate(model, prompt, 20, temperature=0.8, top_k=10, use_cache=False, generator=g2)
    assert torch.equal(a, b)


def test_cached_logits_match_full_forward():
    model = GPT(GPTConfig(vocab_size=30, block_size=16, n_layer=2, n_head=2, n_embd=16, pos="rope")).eval()
    from gptlib.model import KVCache
    x = torch.randint(0, 30, (1, 10))
    full = model(x).logits
    cache = KVCache(2)
    part1 = model(x[:, :6], cache=cache).logits
    part2 = model(x[:, 6:], cache=cache).logits      # several new tokens at once
    assert cache.length == 10 and cache.k.shape == (2, 1, 2, 16, 8)   # preallocated to the context
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
    torch.manual_seed(0)
    tok = CharTokenizer("abcdefgh ")
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=8, n_layer=1, n_head=1, n_embd=8))
    text = "".join(stream(model, tok, "abc", max_new_tokens=10, temperature=0))
    expected = independent_greedy(model, torch.tensor([tok.encode("abc")]), 10)
    assert text == tok.decode(expected[0, 3:].tolist())


def test_prompt_longer_than_context_raises():
    model = GPT(GPTConfig(vocab_size=30, block_size=8, n_layer=1, n_head=1, n_embd=8))
    with pytest.raises(ValueError, match="prompt has 9 tokens but the model's context is 8"):
        generate(model, torch.zeros(1, 9, dtype=torch.long), 3)


def test_max_new_tokens_must_be_a_non_negative_int():
    model = GPT(GPTConfig(vocab_size=30, block_size=8, n_layer=1, n_head=1, n_embd=8))
    with pytest.raises(ValueError, match="max_new_tokens must be ≥ 0, got -3"):
        generate(model, torch.zeros(1, 3, dtype=torch.long), -3)
    with pytest.raises(TypeError, match="max_new_tokens must be an int"):
        generate(model, torch.zeros(1, 3, dtype=torch.long), 2.5)
    with pytest.raises(ValueError, match="max_new_tokens"):
        generate_batch(model, [[1, 2]], -1)
    assert generate(model, torch.zeros(1, 3, dtype=torch.long), 0).shape == (1, 3)


@pytest.mark.parametrize("pos", ["learned", "rope", "sinusoidal"])
@pytest.mark.parametrize("use_cache", [True, False])
def test_batched_padded_generation_equals_each_prompt_alone(pos, use_cache):
    torch.manual_seed(1)
    model = GPT(GPTConfig(vocab_size=40, block_size=16, n_layer=2, n_head=2, n_embd=16, pos=pos))
    prompts = [[5, 6, 7, 8, 9, 10, 11], [3], [12, 13, 14]]
    n = 14                                           # long enough for the window to slide
    batch = generate_batch(model, prompts, n, pad_id=0, use_cache=use_cache)
    for p, g in zip(prompts, batch):
        alone = independent_greedy(model, torch.tensor([p]), n)[0, len(p):].tolist()
        assert g.ids == alone and g.finish_reason == "length"


def test_each_row_stops_on_its_own():
    torch.manual_seed(2)
    tok = CharTokenizer("abcdefgh.")
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=32, n_layer=1, n_head=1, n_embd=8))
    prompts = ["abc", "h", "gggg"]
    free = generate_batch(model, prompts, 12, tokenizer=tok)
    eos = free[0].ids[3]                     # a token row 0 produces at its 4th step
    stopped = generate_batch(model, prompts, 12, tokenizer=tok, eos_id=eos)
    for f, s in zip(free, stopped):
        if eos in f.ids:
            assert s.ids == f.ids[:f.ids.index(eos)] and s.finish_reason == "eos"
        else:
            assert s.ids == f.ids and s.finish_reason == "length"
    assert stopped[0].finish_reason == "eos" and len(stopped[0].ids) <= 3
    target = free[1].text[2:4]
    by_string = generate_batch(model, prompts, 12, tokenizer=tok, stop=[target])
    assert by_string[1].finish_reason == "stop" and by_string[1].text == free[1].text[:free[1].text.find(target)]
    with pytest.raises(ValueError, match="tokenizer"):
        generate_batch(model, [[1]], 3, stop=["x"])
    with pytest.raises(ValueError, match="empty"):
        generate_batch(model, [[1], []], 3)


def test_logit_processors():
    logits = torch.tensor([[2.0, -1.0, 0.5, 3.0]])
    ids = torch.tensor([[0, 1, 3]])
    mask = torch.tensor([[0, 1, 1]])                 # id 0 is padding: not "seen"
    out = RepetitionPenalty(2.0)(ids, mask, logits)
    torch.testing.assert_close(out, torch.tensor([[2.0, -2.0, 0.5, 1.5]]))
    allowed = AllowedTokens([1, 2])(ids, mask, logits)
    assert torch.isinf(allowed[0, [0, 3]]).all() and torch.equal(allowed[0, [1, 2]], logits[0, [1, 2]])
    with pytest.raises(ValueError):
        RepetitionPenalty(0)
    torch.manual_seed(3)
    model = GPT(GPTConfig(vocab_size=30, block_size=16, n_layer=1, n_head=1, n_embd=8))
    g = generate_batch(model, [[1, 2], [3]], 6, processors=[AllowedTokens([7, 9])])
    assert all(set(r.ids) <= {7, 9} for r in g)


def test_from_context_keeps_only_context_tokens_and_extra():
    from gptlib.generation import FromContext
    ids = torch.tensor([[0, 0, 3, 5], [2, 2, 2, 7]])
    mask = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])       # row 0: left padding with id 0
    logits = torch.zeros(2, 9)
    out = FromContext(extra=[8])(ids, mask, logits)
    allowed = torch.isfinite(out)
    assert allowed[0].nonzero().flatten().tolist() == [3, 5, 8]     # padding id 0 not allowed
    assert allowed[1].nonzero().flatten().tolist() == [2, 7, 8]
    with pytest.raises(ValueError, match="extra ids"):
        FromContext(extra=[9])(ids, mask, logits)


def test_from_context_in_generate_batch_copies_only_prompt_tokens():
    from gptlib.generation import FromContext
    torch.manual_seed(0)
    tiny_model = GPT(GPTConfig(vocab_size=30, block_size=16, n_layer=1, n_head=2, n_embd=16))
    prompts = [[4, 5, 6], [7, 8]]
    outs = generate_batch(tiny_model, prompts, 6, temperature=1.0, processors=[FromContext()],
                          generator=torch.Generator().manual_seed(0))
    for p, o in zip(prompts, outs):
        assert set(o.ids) <= set(p)


def test_generation_runs_without_autograd():
    seen = []

    def spy(ids, mask, logits):
        seen.append((torch.is_grad_enabled(), logits.requires_grad))
        return logits

    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=30, block_size=16, n_layer=1, n_head=2, n_embd=16))
    generate(model, torch.tensor([[1, 2, 3]]), 3, processors=[spy])
    assert seen and all(s == (False, False) for s in seen)
