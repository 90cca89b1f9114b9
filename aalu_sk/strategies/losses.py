"""The paper's losses as small functions of tensors.

Equation numbers follow Zhu & Wang (ICIP 2020). Discriminator outputs are
passed as *logits* ``a``; the probability is ``A = sigmoid(a)``, and
``-log A = softplus(-a)``, ``-log(1 - A) = softplus(a)`` are used for
numerical stability. Every loss is a mean over the batch.

Direction (AALU): the assistant says **labeled -> 0, unlabeled -> 1**, and
the pool samples with the *largest* scores are queried. VAAL uses the
opposite convention (labeled -> 1, lowest scores queried); its losses are the
same functions with the targets swapped (:func:`discriminator_loss`).
"""

import torch
import torch.nn.functional as F

__all__ = ["kl_divergence", "reconstruction_loss", "representation_loss",
           "discriminator_loss", "vae_adversarial_loss",
           "assistant_adversarial_loss", "ranking_loss"]


def kl_divergence(mu, logvar):
    """``KL(N(mu, diag(exp(logvar))) || N(0, I))``, summed over latent units."""
    return 0.5 * torch.sum(mu.pow(2) + logvar.exp() - 1.0 - logvar, dim=1).mean()


def reconstruction_loss(f_hat, f):
    """``-log D(f|z)`` for a unit-variance Gaussian decoder, up to a constant.

    That is ``0.5 * ||f - f_hat||^2``, summed over feature dimensions.
    """
    return 0.5 * torch.sum((f_hat - f).pow(2).flatten(1), dim=1).mean()


def representation_loss(f_hat, f, mu, logvar):
    """Eq. 1: ``L_rep = KL(E(z|f) || N(0, I)) - E[log D(f|z)]``."""
    return kl_divergence(mu, logvar) + reconstruction_loss(f_hat, f)


def discriminator_loss(logit_labeled, logit_unlabeled, labeled_target=0.0,
                       unlabeled_target=1.0):
    """Binary cross-entropy on both pools, one mean per pool, summed.

    ``-E[t_L log A(m_L) + (1-t_L) log(1-A(m_L))] - E[same for U with t_U]``.
    """
    def bce(logit, target):
        if logit.numel() == 0:
            return logit.sum()
        return F.binary_cross_entropy_with_logits(
            logit, torch.full_like(logit, float(target)))

    return bce(logit_labeled, labeled_target) + bce(
        logit_unlabeled, unlabeled_target)


def vae_adversarial_loss(logit_labeled, logit_unlabeled):
    """Eq. 5: ``-E[log(1 - A(m_L))] - E[log(1 - A(m_U))]``.

    The VAE tries to make every sample look labeled (``A -> 0``).
    """
    return discriminator_loss(logit_labeled, logit_unlabeled, 0.0, 0.0)


def assistant_adversarial_loss(logit_labeled, logit_unlabeled):
    """Eq. 7: ``-E[log(1 - A(m_L))] - E[log A(m_U)]``.

    The assistant learns ``A(labeled) -> 0`` and ``A(unlabeled) -> 1``.
    """
    return discriminator_loss(logit_labeled, logit_unlabeled, 0.0, 1.0)


def ranking_loss(scores, losses, margin=0.1):
    """Eq. 8, the pairwise loss-ranking loss of Learning Loss (Yoo & Kweon).

    A batch of ``2n`` labeled samples is split into pairs ``(i, n + i)``:

    ``L = 1/n sum_i max(0, -sgn(l_i - l_{n+i}) (A_i - A_{n+i}) + xi)``

    so that the sample with the larger task loss gets the larger score. With
    an odd batch the last sample is left out.

    Parameters
    ----------
    scores : Tensor of shape (2n,)
        Assistant outputs ``A(m)`` (probabilities, not logits).
    losses : Tensor of shape (2n,)
        Per-sample task losses ``l``.
    margin : float, default=0.1
        ``xi``.
    """
    n = scores.shape[0] // 2
    if n == 0:
        return scores.sum() * 0.0
    sign = torch.sign(losses[:n] - losses[n:2 * n])
    diff = scores[:n] - scores[n:2 * n]
    return torch.clamp(-sign * diff + margin, min=0.0).mean()
