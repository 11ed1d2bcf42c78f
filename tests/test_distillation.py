"""gptlib.distillation: the distillation loss against a hand computation and F.kl_div, and
speculative decoding against the target model (greedy: identical; sampling: same distribution)."""
import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from scipy.stats import chi2

from gptlib.distillation import (SpeculativeStats, distillation_loss, expected_speedup, expected_tokens_per_round,
                                 soften, speculative_generate)
from gptlib.generation import generate
from gptlib.model import GPT, GPTConfig


# ------------------------------------------------------------------------------ the loss
def test_loss_equals_a_hand_computation():
    s = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]])
    t = torch.tensor([[1.0, 1.0, 0.0], [-2.0, 0.0, 2.0]])
    y = torch.tensor([0, 2])
    T, a = 2.0, 0.3
    total_kl = 0.0
    total_ce = 0.0
    for i in range(2):
        p = [math.exp(v / T) for v in t[i].tolist()]
        p = [v / sum(p) for v in p]
        q = [math.exp(v / T) for v in s[i].tolist()]
        q = [v / sum(q) for v in q]
        total_kl += sum(pi * (math.log(pi) - math.log(qi)) for pi, qi in zip(p, q))
        z = s[i].tolist()
        total_ce += -(z[y[i]] - math.log(sum(math.exp(v) for v in z)))
    expected = a * T * T * total_kl / 2 + (1 - a) * total_ce / 2
    got = distillation_loss(s, t, y, temperature=T, alpha=a)
    assert math.isclose(float(got), expected, rel_tol=1e-5)


@pytest.mark.parametrize("T", [1.0, 2.0, 5.0])
@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_loss_is_the_kl_div_and_cross_entropy_mix(T, alpha):
    g = torch.Generator().manual_seed(0)
    s = torch.randn(4, 7, 11, generator=g, requires_grad=True)      # (B, T, V): a language model's
    t = 3 * torch.randn(4, 7, 11, generator=g)
    y = torch.randint(0, 11, (4, 7), generator=g)
    y[0, :3] = -100                                                  # padding: counted by neither term
    keep = y != -100
    log_q = F.log_softmax(s[keep] / T, -1)
    p = F.softmax(t[keep] / T, -1)
    kl = F.kl_div(log_q, p, reduction="batchmean")
    expected = alpha * T ** 2 * kl + (1 - alpha) * F.cross_entropy(s[keep], y[keep])
    got = distillation_loss(s, t, y, temperature=T, alpha=alpha)
    torch.testing.assert_close(got, expected)
    got.backward()
    assert s.grad is not None and torch.isfinite(s.grad).all()


def test_loss_without_labels_is_the_soft_term_and_teacher_gets_no_gradient():
    g = torch.Generator().manual_seed(1)
    s = torch.randn(5, 3, generator=g)
    t = torch.randn(5, 3, generator=g, requires_grad=True)
    got = distillation_loss(s, t, temperature=3.0)
    expected = 9.0 * F.kl_div(F.log_softmax(s / 3, -1), F.softmax(t.detach() / 3, -1), reduction="batchmean")
    torch.testing.assert_close(got, expected)
    assert not got.requires_grad                                     # the student here is a constant
    assert float(distillation_loss(t.detach(), t.detach())) == pytest.approx(0.0, abs=1e-6)


def test_soft_gradient_is_q_minus_p_over_T_times_T_squared():
    """Hinton et al.: d KL / d z = (q - p) / T per position; the T² factor makes it T (q - p)."""
    g = torch.Generator().manual_seed(2)
    s = torch.randn(1, 6, generator=g, requires_grad=True)
    t = torch.randn(1, 6, generator=g)
    T = 4.0
    distillation_loss(s, t, temperature=T).backward()
    torch.testing.assert_close(s.grad, T * (soften(s.detach(), T) - soften(t, T)))


@pytest.mark.parametrize("bad, match", [
    (dict(temperature=0.0), "temperature"), (dict(temperature=-1.0), "temperature"),
    (dict(alpha=1.5), "alpha"), (dict(labels=torch.tensor([0, 1, 2])), "labels must have shape"),
    (dict(labels=torch.tensor([0, 5])), "0..2"), (dict(labels=torch.tensor([-100, -100])), "every label"),
    (dict(teacher=torch.zeros(2, 4)), "same shape"), (dict(alpha=0.0), "needs labels"),
])
def test_loss_rejects_bad_input(bad, match):
    s = torch.zeros(2, 3)
    t = bad.pop("teacher", torch.zeros(2, 3))
    with pytest.raises(ValueError, match=match):
        distillation_loss(s, t, **bad)


# --------------------------------------------------------------------- speculative decoding
def tiny(vocab, seed, n_layer=2, n_embd=32, block=24, sharpen=1.0):
    torch.manual_seed(seed)
    m = GPT(GPTConfig(vocab_size=vocab, n_layer=n_layer, n_head=2, n_embd=n_embd, block_size=block,
                      tie_weights=False))
    with torch.no_grad():                    # random GPTs predict nearly uniformly; make them opinionated
        m.lm_head.weight.mul_(sharpen)
    return m.eval()


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8])
def test_greedy_speculative_equals_the_targets_greedy_output(k):
    target = tiny(13, 0, sharpen=20.0)
    draft = tiny(13, 1, n_layer=1, n_embd=16, block=16, sharpen=20.0)
    for seed, n_prompt, n_new in ((0, 3, 15), (1, 7, 30), (2, 1, 40)):  # 30 and 40 run past the window
        prompt = torch.randint(0, 13, (1, n_prompt), generator=torch.Generator().manual_seed(seed))
        expected = generate(target, prompt, n_new, temperature=0)
        got, stats = speculative_generate(target, draft, prompt, n_new, k=k)
        assert torch.equal(got, expected), f"k={k}, prompt {seed}"
        assert stats.new_tokens == n_new
        assert 0 <= stats.accepted <= stats.verified <= stats.drafted <= k * stats.rounds
        assert stats.rounds == stats.target_calls and stats.draft_calls == stats.drafted
        assert stats.beta_sum == stats.accepted                 # greedy: β is 1 (same argmax) or 0


def test_a_draft_identical_to_the_target_is_always_accepted():
    target = tiny(13, 0, sharpen=20.0)
    prompt = torch.tensor([[1, 2, 3]])
    got, stats = speculative_generate(target, target, prompt, 20, k=4)
    assert torch.equal(got, generate(target, prompt, 20, temperature=0))
    assert stats.acceptance_rate == 1.0 and stats.rounds == 4            # 4 rounds of 4 + 1 free token
    _, stats = speculative_generate(target, target, prompt, 20, k=4, temperature=1.0,
                                    generator=torch.Generator().manual_seed(0))
    assert stats.acceptance_rate == 1.0                                  # p = q: min(1, p/q) = 1
    assert stats.mean_beta == pytest.approx(1.0, abs=1e-5)


def _target_joint(target, prompt, T):
    """P(x1, x2 | prompt) under the target at temperature T, by enumeration: (V, V)."""
    V = target.config.vocab_size
    with torch.no_grad():
        p1 = F.softmax(target(prompt).logits[0, -1] / T, -1)                       # (V,)
        rows = torch.cat([prompt.repeat(V, 1), torch.arange(V)[:, None]], dim=1)
        p2 = F.softmax(target(rows).logits[:, -1] / T, -1)                          # (V, V)
    return p1[:, None] * p2


@pytest.mark.parametrize("k, T", [(1, 1.0), (3, 0.7)])
def test_sampling_matches_the_targets_distribution(k, T):
    """Two tokens jointly (V² cells): every path is exercised (accept, reject + residual, the free
    token after a full accept), and the empirical joint must pass a chi-square test against the
    target's exact one, while the draft's own joint is far from it (so the test has power)."""
    V = 4
    target = tiny(V, 3, sharpen=5.0)
    draft = tiny(V, 4, n_layer=1, n_embd=16, sharpen=5.0)
    prompt = torch.tensor([[0, 1, 2]])
    p = _target_joint(target, prompt, T)
    q = _target_joint(draft, prompt, T)
    assert 0.5 * (p - q).abs().sum() > 0.25, "draft too close to the target for a meaningful test"
    n = 3000
    gen = torch.Generator().manual_seed(0)
    counts = torch.zeros(V, V)
    total = SpeculativeStats()
    for _ in range(n):
        out, st = speculative_generate(target, draft, prompt, 2, k=k, temperature=T, generator=gen)
        counts[out[0, -2], out[0, -1]] += 1
        total.accepted += st.accepted
        total.verified += st.verified
        total.beta_sum += st.beta_sum
    expected = n * p
    stat = float(((counts - expected) ** 2 / expected).sum())
    p_value = chi2.sf(stat, V * V - 1)
    tv = 0.5 * float((counts / n - p).abs().sum())
    assert p_value > 1e-3, f"chi-square {stat:.1f} (p={p_value:.2g}), total variation {tv:.3f}"
    assert tv < 0.05
    # the acceptance rate estimates E[β] = E[Σ min(p, q)]
    assert 0.0 < total.acceptance_rate < 1.0
    assert abs(total.acceptance_rate - total.mean_beta) < 0.05


def test_expected_speedup_formula():
    # Leviathan et al. 2023: E[tokens] = (1 - α^(k+1)) / (1 - α); speed-up divides by (k c + 1)
    assert expected_tokens_per_round(0.0, 4) == 1.0
    assert expected_tokens_per_round(1.0, 4) == 5.0
    a, k, c = 0.8, 3, 0.1
    e = sum(a ** i for i in range(k + 1))                       # 1 + α + α² + α³
    assert expected_tokens_per_round(a, k) == pytest.approx(e)
    assert expected_speedup(a, k, c) == pytest.approx(e / (k * c + 1))
    assert expected_speedup(0.0, 4, 0.5) < 1.0                  # a useless draft only costs time


@pytest.mark.parametrize("kwargs, match", [
    (dict(k=0), "k"), (dict(max_new_tokens=-1), "max_new_tokens"), (dict(temperature=-0.5), "temperature"),
    (dict(idx=torch.zeros(2, 3, dtype=torch.long)), "one prompt"),
    (dict(idx=torch.zeros(1, 30, dtype=torch.long)), "context"),
    (dict(draft=tiny(7, 0)), "vocabulary"), (dict(idx=torch.tensor([[13]])), "0..12"),
])
def test_speculative_rejects_bad_input(kwargs, match):
    args = dict(target=tiny(13, 0), draft=tiny(13, 1), idx=torch.tensor([[1, 2]]), max_new_tokens=3)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        speculative_generate(**args)


def test_models_keep_their_mode():
    target, draft = tiny(13, 0), tiny(13, 1)
    target.train()
    speculative_generate(target, draft, torch.tensor([[1]]), 5, k=2)
    assert target.training and not draft.training
