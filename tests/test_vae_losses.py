"""The VAE's probability terms and importance-weighted bounds, against hand-computed values,
torch.distributions, and a linear-Gaussian model whose log p(x) and posterior are known in closed form."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Bernoulli, MultivariateNormal, Normal, kl_divergence

from lightning_modules.active_units import ActiveUnits, count_active_units
from lightning_modules.importance_weighted import iw_log_likelihood, log_importance_weights, log_mean_exp
from lightning_modules.vae_losses import (
    bernoulli_log_likelihood,
    gaussian_kl,
    gaussian_log_likelihood,
    kl_weight,
    log_normal_diag,
    log_standard_normal,
    reparameterize,
)


def test_gaussian_kl_by_hand():
    # dim 0: mu 1, var 1 -> 0.5 (1 + 1 - 1 - 0) = 0.5; dim 1: mu 0, var 4 -> 0.5 (0 + 4 - 1 - log 4)
    kl = gaussian_kl(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, math.log(4.0)]]))
    assert kl.shape == (1,)
    assert kl.item() == pytest.approx(0.5 + 0.5 * (3 - math.log(4.0)), rel=1e-6)
    assert gaussian_kl(torch.zeros(3, 5), torch.zeros(3, 5)).abs().max() == 0  # q = prior


def test_gaussian_kl_matches_torch_distributions_and_monte_carlo():
    gen = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(4, 6, generator=gen), torch.randn(4, 6, generator=gen)
    q, p = Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)
    analytic = gaussian_kl(mu, logvar)
    torch.testing.assert_close(analytic, kl_divergence(q, p).sum(-1))
    torch.manual_seed(0)
    z = q.sample((200_000,))
    monte_carlo = (q.log_prob(z) - p.log_prob(z)).sum(-1)
    stderr = monte_carlo.std(0) / math.sqrt(len(z))
    assert ((monte_carlo.mean(0) - analytic).abs() < 4 * stderr).all()


def test_log_densities_match_torch_distributions():
    gen = torch.Generator().manual_seed(1)
    z, mu, logvar = (torch.randn(3, 2, 5, generator=gen) for _ in range(3))
    torch.testing.assert_close(log_normal_diag(z, mu, logvar), Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(-1))
    torch.testing.assert_close(log_standard_normal(z), Normal(0.0, 1.0).log_prob(z).sum(-1))


def test_bernoulli_log_likelihood_by_hand_and_against_torch():
    # pixel 1: p = 0.5, x = 1 -> log 0.5; pixel 2: p = sigmoid(log 3) = 0.75, x = 0 -> log 0.25
    logits = torch.tensor([0.0, math.log(3.0)]).view(1, 1, 1, 2)
    x = torch.tensor([1.0, 0.0]).view(1, 1, 1, 2)
    assert bernoulli_log_likelihood(logits, x).item() == pytest.approx(math.log(0.5) + math.log(0.25), rel=1e-6)
    gen = torch.Generator().manual_seed(2)
    logits = 30 * torch.randn(3, 2, 1, 4, 4, generator=gen)  # large logits: must stay finite
    x = torch.bernoulli(torch.full((2, 1, 4, 4), 0.5), generator=gen)
    ll = bernoulli_log_likelihood(logits, x)  # leading sample dim broadcasts against x
    assert ll.shape == (3, 2)
    torch.testing.assert_close(ll, Bernoulli(logits=logits).log_prob(x.expand_as(logits)).sum((-3, -2, -1)))


def test_gaussian_log_likelihood_by_hand_and_against_torch():
    # one pixel at its mean, std 1: log N(0; 0, 1) = -0.5 log 2 pi
    zero = torch.zeros(1, 1, 1, 1)
    assert gaussian_log_likelihood(zero, zero, 0.0).item() == pytest.approx(-0.5 * math.log(2 * math.pi))
    gen = torch.Generator().manual_seed(3)
    mean, x = torch.rand(2, 1, 3, 3, generator=gen), torch.rand(2, 1, 3, 3, generator=gen)
    log_std = torch.tensor(-1.5)
    torch.testing.assert_close(gaussian_log_likelihood(mean, x, log_std),
                               Normal(mean, log_std.exp()).log_prob(x).sum((-3, -2, -1)))


def test_reparameterized_sample_carries_gradient_to_mu_and_logvar():
    mu = torch.tensor([[0.5, -1.0, 2.0]], requires_grad=True)
    logvar = torch.tensor([[0.0, 1.0, -2.0]], requires_grad=True)
    torch.manual_seed(0)
    z = reparameterize(mu, logvar)
    z.sum().backward()
    torch.testing.assert_close(mu.grad, torch.ones_like(mu))  # dz/dmu = 1
    # dz/dlogvar = 0.5 sigma eps = 0.5 (z - mu)
    torch.testing.assert_close(logvar.grad, 0.5 * (z - mu).detach())
    assert reparameterize(mu, logvar, num_samples=7).shape == (7, 1, 3)


def test_kl_warmup_ramps_linearly_to_beta():
    assert [kl_weight(s, 2.0, 4) for s in (0, 1, 2, 4, 100)] == [0.0, 0.5, 1.0, 2.0, 2.0]
    assert kl_weight(0, 0.7, 0) == 0.7


def test_log_mean_exp_by_hand():
    log_w = torch.log(torch.tensor([[1.0], [3.0]]))
    assert log_mean_exp(log_w).item() == pytest.approx(math.log(2.0))


class LinearGaussian:
    """p(z) = N(0, I), p(x|z) = N(W z + b, s^2 I) with orthogonal columns in W, so the exact posterior is
    diagonal and log p(x) = log N(x; b, W W^T + s^2 I)."""

    def __init__(self, repeats: int = 1, seed: int = 0):
        """64 data points, each repeated ``repeats`` times along the batch (independent estimates in one call)."""
        gen = torch.Generator().manual_seed(seed)
        q, _ = torch.linalg.qr(torch.randn(6, 3, generator=gen, dtype=torch.float64))
        self.w = q * torch.tensor([2.0, 1.0, 0.5], dtype=torch.float64)
        self.b = torch.randn(6, generator=gen, dtype=torch.float64)
        self.log_s = torch.tensor(math.log(0.7), dtype=torch.float64)
        self.x = self.sample(64, gen).repeat(repeats, 1, 1, 1)

    def sample(self, n: int, gen: torch.Generator) -> torch.Tensor:
        z = torch.randn(n, self.w.shape[1], generator=gen, dtype=torch.float64)
        return (z @ self.w.T + self.b + self.log_s.exp() * torch.randn(n, len(self.b), generator=gen,
                                                                       dtype=torch.float64)).view(n, 1, 1, -1)

    def log_px_given_z(self, z: torch.Tensor) -> torch.Tensor:
        return gaussian_log_likelihood((z @ self.w.T + self.b).unsqueeze(-2).unsqueeze(-2), self.x, self.log_s)

    def exact_log_px(self) -> torch.Tensor:
        cov = self.w @ self.w.T + self.log_s.exp() ** 2 * torch.eye(len(self.b), dtype=torch.float64)
        return MultivariateNormal(self.b, cov).log_prob(self.x.flatten(1))

    def posterior(self) -> tuple[torch.Tensor, torch.Tensor]:
        precision = 1 + (self.w ** 2).sum(0) / self.log_s.exp() ** 2  # W^T W is diagonal
        mu = (self.x.flatten(1) - self.b) @ self.w / self.log_s.exp() ** 2 / precision
        return mu, (-precision.log()).expand_as(mu)

    def analytic_elbo(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """E_q[log p(x|z)] - KL for a diagonal q, in closed form."""
        s2 = self.log_s.exp() ** 2
        residual = ((self.x.flatten(1) - mu @ self.w.T - self.b) ** 2).sum(-1)
        trace = (logvar.exp() * (self.w ** 2).sum(0)).sum(-1)
        expected_ll = -0.5 * (residual + trace) / s2 - 0.5 * len(self.b) * math.log(2 * math.pi * s2)
        return expected_ll - gaussian_kl(mu, logvar)


@pytest.mark.parametrize(("k", "chunk"), [(1, 1), (7, 3), (100, 100), (250, 64)])
def test_iw_estimate_is_exact_when_q_is_the_true_posterior(k, chunk):
    # every importance weight then equals p(x), whatever z was drawn: tests the chunked logsumexp exactly
    model = LinearGaussian()
    mu, logvar = model.posterior()
    log_px, _ = iw_log_likelihood(model.log_px_given_z, mu, logvar, k, chunk, torch.Generator().manual_seed(k))
    torch.testing.assert_close(log_px, model.exact_log_px())


def poor_proposal(model: LinearGaussian) -> tuple[torch.Tensor, torch.Tensor]:
    mu, logvar = model.posterior()
    return mu + 0.6, logvar + 0.8  # shifted and too wide, so the ELBO gap is wide


def test_iw_with_one_sample_is_the_elbo_in_expectation():
    repeats = 2000
    model = LinearGaussian(repeats)
    mu, logvar = poor_proposal(model)
    gen = torch.Generator().manual_seed(0)
    one_sample = iw_log_likelihood(model.log_px_given_z, mu, logvar, 1, 1, gen)[0].view(repeats, -1)
    stderr = one_sample.std(0) / math.sqrt(repeats)
    elbo = model.analytic_elbo(mu, logvar)[:64]
    assert ((one_sample.mean(0) - elbo).abs() < 4 * stderr).all()
    # the mean of log p(x|z) over the same samples estimates the ELBO's reconstruction term
    single = LinearGaussian()
    mu, logvar = poor_proposal(single)
    _, mean_ll = iw_log_likelihood(single.log_px_given_z, mu, logvar, 4000, 1000, gen)
    torch.testing.assert_close(mean_ll - gaussian_kl(mu, logvar), elbo, atol=0.15, rtol=0)


def test_iw_bound_tightens_with_more_samples():
    repeats = 10
    model = LinearGaussian(repeats)
    mu, logvar = poor_proposal(model)
    gen = torch.Generator().manual_seed(1)
    exact = model.exact_log_px().mean()
    bounds = [iw_log_likelihood(model.log_px_given_z, mu, logvar, k, 100, gen)[0].mean() for k in (1, 10, 100, 1000)]
    elbo = model.analytic_elbo(mu, logvar).mean()
    assert bounds[0] == pytest.approx(elbo.item(), abs=0.2)
    assert bounds[0] < bounds[1] < bounds[2] < bounds[3] <= exact + 0.01
    assert exact - bounds[3] < 0.1 * (exact - elbo)


def test_log_importance_weights_scale_only_the_prior_ratio():
    z, mu, logvar = torch.zeros(1, 1, 2), torch.ones(1, 2), torch.zeros(1, 2)
    ll = torch.tensor([[-3.0]])
    ratio = log_standard_normal(z) - log_normal_diag(z, mu, logvar)
    torch.testing.assert_close(log_importance_weights(ll, z, mu, logvar, 0.25), ll + 0.25 * ratio)


def test_active_units_by_hand():
    # dim 0 constant, dim 1 alternates +-1 (variance 1), dim 2 alternates +-0.05 (variance 0.0025)
    sign = torch.tensor([1.0, -1.0]).repeat(50)
    codes = torch.stack([torch.full((100,), 3.0), sign, 0.05 * sign], dim=1)
    assert count_active_units(codes.var(0, unbiased=False)).item() == 1
    metric = ActiveUnits(latent_dim=3)
    for batch in codes.split(32):  # batches of unequal size accumulate to the whole-set variance
        metric.update(batch)
    torch.testing.assert_close(metric.variance(), codes.double().var(0, unbiased=False))
    assert metric.compute().item() == 1
