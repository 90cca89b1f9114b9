"""The paper's losses equal hand-computed values; directions are pinned."""

import math

import numpy as np
import pytest
import torch

from aalu_sk.strategies import losses


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def test_kl_divergence_hand_computed():
    mu = torch.tensor([[1.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(2.0)]])
    # 0.5 * [(1 + 1 - 1 - 0) + (0 + 2 - 1 - log 2)]
    expected = 0.5 * (1.0 + 1.0 - math.log(2.0))
    assert losses.kl_divergence(mu, logvar).item() == pytest.approx(expected)


def test_kl_divergence_zero_at_prior():
    assert losses.kl_divergence(torch.zeros(4, 3), torch.zeros(4, 3)).item() \
        == pytest.approx(0.0)


def test_reconstruction_loss_hand_computed():
    f = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    f_hat = torch.zeros(2, 2)
    # per sample 0.5*||f - f_hat||^2 = [2.5, 0], mean 1.25
    assert losses.reconstruction_loss(f_hat, f).item() == pytest.approx(1.25)


def test_representation_loss_is_kl_plus_reconstruction():
    g = torch.Generator().manual_seed(0)
    f, f_hat = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    mu, logvar = torch.randn(5, 2, generator=g), torch.randn(5, 2, generator=g)
    assert losses.representation_loss(f_hat, f, mu, logvar).item() == \
        pytest.approx(losses.kl_divergence(mu, logvar).item()
                      + losses.reconstruction_loss(f_hat, f).item(), rel=1e-6)


A_L = [0.3, -1.2, 2.0]
A_U = [-0.5, 1.5]


def test_vae_adversarial_loss_eq5():
    # -E[log(1 - A(m_L))] - E[log(1 - A(m_U))]
    expected = -np.mean(np.log(1 - sigmoid(A_L))) \
        - np.mean(np.log(1 - sigmoid(A_U)))
    got = losses.vae_adversarial_loss(torch.tensor(A_L), torch.tensor(A_U))
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_assistant_adversarial_loss_eq7():
    # -E[log(1 - A(m_L))] - E[log A(m_U)]
    expected = -np.mean(np.log(1 - sigmoid(A_L))) \
        - np.mean(np.log(sigmoid(A_U)))
    got = losses.assistant_adversarial_loss(torch.tensor(A_L),
                                            torch.tensor(A_U))
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_assistant_learns_labeled_zero_unlabeled_one():
    """Gradient descent on Eq. 7 lowers labeled logits, raises unlabeled."""
    a_l = torch.zeros(3, requires_grad=True)
    a_u = torch.zeros(3, requires_grad=True)
    losses.assistant_adversarial_loss(a_l, a_u).backward()
    assert (a_l.grad > 0).all()  # descent moves a_l down -> A(m_L) -> 0
    assert (a_u.grad < 0).all()  # descent moves a_u up -> A(m_U) -> 1


def test_vae_pushes_everything_towards_labeled():
    """Eq. 5 rewards the VAE for making both pools look labeled (A -> 0)."""
    a_l = torch.zeros(3, requires_grad=True)
    a_u = torch.zeros(3, requires_grad=True)
    losses.vae_adversarial_loss(a_l, a_u).backward()
    assert (a_l.grad > 0).all() and (a_u.grad > 0).all()


def test_vaal_convention_is_the_reverse():
    """VAAL's discriminator: labeled -> 1, unlabeled -> 0."""
    a_l, a_u = torch.tensor(A_L), torch.tensor(A_U)
    expected = -np.mean(np.log(sigmoid(A_L))) \
        - np.mean(np.log(1 - sigmoid(A_U)))
    got = losses.discriminator_loss(a_l, a_u, 1.0, 0.0)
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_ranking_loss_eq8_hand_computed():
    scores = torch.tensor([0.5, 0.2, 0.9, 0.6])
    task_losses = torch.tensor([2.0, 1.0, 0.5, 3.0])
    # pair (0, 2): sgn(2 - 0.5)=+1, A0 - A2 = -0.4 -> max(0, 0.4 + 0.1) = 0.5
    # pair (1, 3): sgn(1 - 3)=-1, A1 - A3 = -0.4 -> max(0, -0.4 + 0.1) = 0
    got = losses.ranking_loss(scores, task_losses, margin=0.1)
    assert got.item() == pytest.approx(0.25)


def test_ranking_loss_drops_the_odd_sample_and_uses_margin():
    scores = torch.tensor([0.5, 0.5, 0.0])
    task_losses = torch.tensor([1.0, 2.0, 100.0])
    # one pair (0, 1): sgn(-1) = -1, diff 0 -> max(0, 0 + 0.3) = 0.3
    assert losses.ranking_loss(scores, task_losses, margin=0.3).item() == \
        pytest.approx(0.3)


def test_ranking_loss_gradient_raises_higher_loss_sample():
    scores = torch.tensor([0.5, 0.5], requires_grad=True)
    losses.ranking_loss(scores, torch.tensor([3.0, 1.0])).backward()
    # sample 0 has the larger loss: descent must raise its score.
    assert scores.grad[0] < 0 < scores.grad[1]


def test_ranking_loss_of_a_single_sample_is_zero():
    assert losses.ranking_loss(torch.tensor([0.7]), torch.tensor([1.0])) \
        .item() == 0.0
