"""Checks for chapter 6 (residuals and LayerNorm): LayerNorm's backward pass by hand, and the
post-LN and pre-LN residual sub-layer."""
from __future__ import annotations

import torch

from .. import reference as ref
from . import ExerciseError, compare, register


def _ln_parts(x, eps):
    mu = x.mean(-1, keepdim=True)
    var = x.var(-1, keepdim=True, unbiased=False)
    inv = 1 / torch.sqrt(var + eps)
    return (x - mu) * inv, inv


@register("ch06-ex4")
def _(fn):
    gen = torch.Generator().manual_seed(6)
    for shape, eps in (((4, 16), 1e-5), ((2, 3, 8), 1e-5), ((5, 64), 1e-2)):
        x = torch.randn(*shape, generator=gen, dtype=torch.float64) * 3 + 1
        g = torch.randn(*shape, generator=gen, dtype=torch.float64)
        xr = x.clone().requires_grad_(True)
        ref.layer_norm(xr, eps=eps).backward(g)
        expected = xr.grad
        xhat, inv = _ln_parts(x, eps)
        g_mean = g.mean(-1, keepdim=True)
        gx_mean = (g * xhat).mean(-1, keepdim=True)
        got = fn(x.clone(), g.clone(), eps)
        compare(got, expected, f"dL/dx for x of shape {shape}", atol=1e-8, rtol=1e-6, mistakes={
            "you treated the mean and the standard deviation as constants (g / σ): both depend "
            "on x, and each contributes a term": g * inv,
            "you kept the mean's term but dropped the standard deviation's "
            "(- x̂ · mean(g x̂))": inv * (g - g_mean),
            "you kept the standard deviation's term but dropped the mean's (- mean(g))":
                inv * (g - xhat * gx_mean),
            "you forgot to divide by σ = √(var + ε)": g - g_mean - xhat * gx_mean,
            "you used the unbiased variance (divided by C - 1); LayerNorm uses the biased one":
                _unbiased_grad(x, g, eps),
        })
    return "correct: your LayerNorm gradient equals autograd's"


def _unbiased_grad(x, g, eps):
    xr = x.clone().requires_grad_(True)
    mu = xr.mean(-1, keepdim=True)
    y = (xr - mu) / torch.sqrt(xr.var(-1, keepdim=True, unbiased=True) + eps)
    y.backward(g)
    return xr.grad


class _Affine(torch.nn.Module):
    """A random sub-layer F(x) = tanh(x W + b), so that mistakes give distinct results."""

    def __init__(self, C, gen):
        super().__init__()
        self.w = torch.randn(C, C, generator=gen, dtype=torch.float64) / C ** 0.5
        self.b = torch.randn(C, generator=gen, dtype=torch.float64)

    def forward(self, x):
        return torch.tanh(x @ self.w + self.b)


@register("ch06-ex5")
def _(fn):
    gen = torch.Generator().manual_seed(16)
    B, T, C = 2, 3, 8
    x = torch.randn(B, T, C, generator=gen, dtype=torch.float64) * 2 + 0.5
    f = _Affine(C, gen)
    norm = torch.nn.LayerNorm(C, dtype=torch.float64)
    with torch.no_grad():
        norm.weight.copy_(1 + 0.5 * torch.randn(C, generator=gen, dtype=torch.float64))
        norm.bias.copy_(0.3 * torch.randn(C, generator=gen, dtype=torch.float64))
        results = {}
        for placement in ("post", "pre"):
            try:
                results[placement] = fn(x.clone(), f, norm, placement)
            except (ValueError, KeyError) as e:
                raise ExerciseError(f"your function rejected placement={placement!r}: {e}") from None
        post, pre = norm(x + f(x)), x + f(norm(x))
        compare(results["post"], post, "the post-LN sub-layer", atol=1e-8, rtol=1e-6, mistakes={
            "for post-LN you computed the pre-LN form x + F(LN(x)); post-LN normalises the sum, "
            "LN(x + F(x))": pre,
            "post-LN without the residual connection: LN(F(x)); add x before normalising":
                norm(f(x)),
            "post-LN with the norm on the sub-layer's input as well: LN(x + F(LN(x)))":
                norm(x + f(norm(x))),
        })
        compare(results["pre"], pre, "the pre-LN sub-layer", atol=1e-8, rtol=1e-6, mistakes={
            "for pre-LN you computed the post-LN form LN(x + F(x)); pre-LN normalises only the "
            "sub-layer's input, x + F(LN(x))": post,
            "pre-LN without the residual connection: F(LN(x)); add x back": f(norm(x)),
            "pre-LN with the norm applied to the sum as well, LN(x + F(LN(x))): the residual "
            "stream must not be normalised": norm(x + f(norm(x))),
            "you added the normalised input, LN(x) + F(LN(x)); the residual adds the raw x":
                norm(x) + f(norm(x)),
        })
    return "correct: post-LN is LN(x + F(x)), pre-LN is x + F(LN(x))"
