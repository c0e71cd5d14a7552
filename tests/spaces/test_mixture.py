"""The weighted sum a supernet's mixtures compute."""

import torch

from archsearch.spaces.mixture import running, weighted_sum


def by_terms(weights, picked, terms):
    return sum(weights[k] * term for k, term in zip(picked, terms))


def test_weighted_sum_is_the_sum_of_weighted_terms_for_any_picks():
    torch.manual_seed(0)
    weights = torch.rand(6)
    terms = [torch.randn(2, 3, 4, 4) for _ in range(3)]
    for picked in ([1, 2, 3], [0, 2, 5], [4, 1, 0]):
        assert torch.allclose(
            weighted_sum(weights, picked, terms), by_terms(weights, picked, terms)
        )


def test_weighted_sum_gives_the_gradients_of_the_sum_of_terms():
    torch.manual_seed(1)
    weights = torch.rand(5, requires_grad=True)
    terms = [torch.randn(3, 4, requires_grad=True) for _ in range(4)]
    picked = [1, 2, 3, 4]
    got = torch.autograd.grad(
        weighted_sum(weights, picked, terms).square().sum(), [weights, *terms]
    )
    want = torch.autograd.grad(by_terms(weights, picked, terms).square().sum(), [weights, *terms])
    for a, b in zip(got, want):
        assert torch.allclose(a, b, atol=1e-6)
    assert got[0][0] == 0  # an unpicked weight gets no gradient


def test_running_skips_exact_zeros_unless_the_weights_need_gradients():
    weights = torch.tensor([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    assert running(weights) == [[False, True, True], [True, False, False]]
    assert running(weights.requires_grad_()) == [[True] * 3, [True] * 3]
