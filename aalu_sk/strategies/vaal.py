"""VAALSampler: variational adversarial active learning (Sinha et al., 2019)."""

import numbers
import time

import numpy as np
import torch

from .._logging import progress_bar
from .._runtime import resolve_device, seed_from, seeded
from ..modules import Assistant, ConvVAE
from ..pools import top_batch
from ..validation import (check_images, check_nonnegative_numbers,
                          check_number, check_positive_ints, image_shape,
                          to_tensor)
from ._batching import budget_sample, epoch_batches, epoch_plan
from .base import BaseQueryStrategy, FittedSelectorScorer
from .losses import discriminator_loss, representation_loss

__all__ = ["VAALSampler", "DiscriminatorScorer"]


class VAALSampler(BaseQueryStrategy):
    """VAAL: a convolutional VAE on raw images and a latent discriminator.

    Follows the reference code's semantics: the discriminator learns
    **labeled -> 1, unlabeled -> 0** on the latent mean; the VAE learns
    reconstruction + KL on both pools plus an adversarial term (weight
    ``adversary_weight``) that pushes both pools toward "labeled"; there
    are ``vae_steps`` VAE updates per discriminator update; the pool
    samples with the **lowest** discriminator outputs are queried.
    The task model is not used, so VAAL works with any estimator.

    Parameters
    ----------
    latent_dim : int, default=32
    channels : tuple of int, default=(128, 256, 512, 1024)
        Encoder widths (the reference's); as many are used as halvings fit
        the image size, down to 4x4.
    hidden_dim : int, default=512
        Width of the discriminator's 3-layer MLP.
    adversary_weight : float, default=1.0
        Weight of the VAE's adversarial term.
    vae_steps : int, default=2
        VAE updates per discriminator update.
    epochs : int, default=100
        Training epochs; an epoch is one pass over the larger pool.
    max_steps : int or None, default=None
        Cap on the VAE/discriminator training steps (None: ``epochs`` full
        epochs, as the reference), so the cost stops growing with the pool.
    lr : float, default=5e-4
    batch_size : int, default=128
    diversity : {None, "kmeans"}, default=None
        How the batch is formed from the scores: None takes the
        ``n_instances`` lowest outputs (the reference); ``"kmeans"``
        spreads the batch over VAAL's latent space
        (:func:`~aalu_sk.strategies.selection.diverse_top_k` on the latent
        means).
    device : str, default="auto"
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0
        1 shows a progress bar over epochs when standard error is a
        terminal.

    Attributes
    ----------
    scores_ : ndarray of shape (n_pool,)
        Discriminator outputs ("probability labeled"); *low* means query.
    vae_ : ConvVAE
        The trained VAE (moved to the CPU).
    discriminator_ : Assistant
        Returns logits; the probability is their sigmoid. On the CPU.
    history_ : list of dict
        Mean VAE and discriminator losses per epoch.
    timings_ : dict
        Seconds spent in training and scoring.

    References
    ----------
    S. Sinha, S. Ebrahimi and T. Darrell, "Variational Adversarial Active
    Learning", ICCV 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from aalu_sk import VAALSampler
    >>> rng = np.random.RandomState(0)
    >>> X_lab, X_pool = rng.rand(16, 1, 8, 8), rng.rand(24, 1, 8, 8)
    >>> vaal = VAALSampler(epochs=1, channels=(8, 16), random_state=0)
    >>> vaal.query(X_lab, np.zeros(16, int), X_pool, n_instances=2).shape
    (2,)
    """

    needs_estimator = False
    lower_scores_first = True

    def __init__(self, latent_dim=32, channels=(128, 256, 512, 1024),
                 hidden_dim=512, adversary_weight=1.0, vae_steps=2,
                 epochs=100, max_steps=None, lr=5e-4, batch_size=128,
                 diversity=None, device="auto", random_state=None,
                 verbose=0):
        self.latent_dim = latent_dim
        self.channels = channels
        self.hidden_dim = hidden_dim
        self.adversary_weight = adversary_weight
        self.vae_steps = vae_steps
        self.epochs = epochs
        self.max_steps = max_steps
        self.lr = lr
        self.batch_size = batch_size
        self.diversity = diversity
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self):
        check_positive_ints(self, ("latent_dim", "hidden_dim", "vae_steps",
                                   "epochs", "batch_size"))
        if not isinstance(self.channels, (tuple, list)) or not self.channels \
                or any(not isinstance(c, numbers.Integral) or c < 1
                       for c in self.channels):
            raise ValueError(f"channels must be a non-empty tuple of positive "
                             f"integers; got {self.channels!r}.")
        check_nonnegative_numbers(self, ("adversary_weight",))
        check_number(self.lr, "lr", low=0, include_boundaries="neither",
                     finite=True)
        check_number(self.max_steps, "max_steps", integer=True, low=1,
                     allow_none=True)
        self._check_diversity(self.diversity)
        return resolve_device(self.device)

    def pool_columns(self):
        self._check_params()
        return ("image",)

    def _select_from_pool(self, pool, labeled, n_instances, rng):
        X_l = check_images(labeled.X, "X_labeled")
        sample = self.training_sample(pool.n_pool, rng)
        images = pool.gather(sample, ["image"])["image"]
        pool.train(self, X_l, images, rng=rng)
        del images
        scorer = DiscriminatorScorer(self)
        start = time.perf_counter()
        pool.scores(scorer)
        self.timings_["score"] = time.perf_counter() - start
        # Lowest "labeled" probability first.
        picked, scores = top_batch(pool, scorer, n_instances, rng,
                                   self.diversity, "latent")
        return picked, None if scores is None else -scores

    def training_sample(self, n_pool, random_state):
        """Pool rows the VAE trains on under a step budget, or None.

        With ``max_steps`` steps of ``batch_size`` pool images, training
        sees at most ``max_steps * batch_size`` of them; they are drawn up
        front (sorted, without replacement), so a huge pool, or one spread
        over machines, only has to hand over that many images. None: the
        whole pool (no budget, or a pool no larger than the sample).

        Parameters
        ----------
        n_pool : int
        random_state : RandomState instance
            Advanced only when a sample is drawn.

        Returns
        -------
        rows : ndarray of int64 or None
        """
        self._check_params()
        return budget_sample(n_pool, self.max_steps, self.batch_size,
                             random_state)

    def fit_selector(self, X_labeled, X_pool, random_state=None):
        """Train the VAE and the discriminator; return ``self``.

        Parameters
        ----------
        X_labeled : array-like of images
        X_pool : array-like of images
            The pool, or :meth:`training_sample` of it.
        random_state : int, RandomState instance or None, default=None
            Overrides ``self.random_state``; one seed is drawn from it.

        Returns
        -------
        self : VAALSampler
        """
        device = self._check_params()
        X_l = check_images(X_labeled, "X_labeled")
        X_u = check_images(X_pool, "X_pool")
        rng = self.random_state if random_state is None else random_state
        start = time.perf_counter()
        with seeded(seed_from(rng), device):
            vae, disc, history = self._train(X_l, X_u, device)
        self.vae_, self.discriminator_ = vae.cpu(), disc.cpu()
        self.history_ = history
        self.timings_ = {"train": time.perf_counter() - start}
        return self

    def score(self, X, return_latent=False, batch_size=1024):
        """Discriminator outputs of images, with the fitted VAE.

        Parameters
        ----------
        X : array-like of images
        return_latent : bool, default=False
            Also return the latent means (what ``diversity`` clusters).
        batch_size : int, default=1024

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            "Probability labeled"; VAAL queries the lowest.
        latent : ndarray of shape (n_samples, latent_dim)
            Only with ``return_latent=True``.
        """
        if getattr(self, "discriminator_", None) is None:
            raise ValueError("score needs a fitted selector; call "
                             "fit_selector (or query) first.")
        X = check_images(X, "X")
        device = resolve_device(self.device)
        vae = self.vae_.to(device).eval()
        disc = self.discriminator_.to(device).eval()
        scores = np.empty(X.shape[0], dtype=np.float64)
        latent = np.empty((X.shape[0], self.latent_dim), dtype=np.float32)
        try:
            with torch.no_grad():
                for s in range(0, X.shape[0], batch_size):
                    mu = vae.encode(to_tensor(X[s:s + batch_size], device))[0]
                    # float64: a float32 sigmoid ties confident outputs at 1
                    scores[s:s + batch_size] = torch.sigmoid(
                        disc(mu).double()).cpu().numpy()
                    latent[s:s + batch_size] = mu.cpu().numpy()
        finally:
            self.vae_, self.discriminator_ = vae.cpu(), disc.cpu()
        return (scores, latent) if return_latent else scores

    def _train(self, X_l, X_u, device):
        n_l, n_u = X_l.shape[0], X_u.shape[0]
        vae = ConvVAE(image_shape(X_u), self.latent_dim,
                      tuple(self.channels)).to(device)
        disc = Assistant(self.latent_dim, self.hidden_dim).to(device)
        opt_vae = torch.optim.Adam(vae.parameters(), lr=self.lr)
        opt_d = torch.optim.Adam(disc.parameters(), lr=self.lr)
        b_l, b_u = min(self.batch_size, n_l), min(self.batch_size, n_u)
        history = []
        for n_steps in progress_bar(
                epoch_plan(n_l, n_u, self.batch_size, self.epochs,
                           self.max_steps),
                desc="VAAL selector", leave=False,
                progress=None if self.verbose else False):
            idx_l = epoch_batches(n_l, n_steps, b_l, "cpu").numpy()
            idx_u = epoch_batches(n_u, n_steps, b_u, "cpu").numpy()
            sums = torch.zeros(2, device=device)
            for il, iu in zip(idx_l, idx_u):
                x = torch.cat([to_tensor(X_l[np.sort(il)], device),
                               to_tensor(X_u[np.sort(iu)], device)])
                vae.train()
                for _ in range(self.vae_steps):
                    rec, _, mu, logvar = vae(x)
                    logit = disc(mu)
                    loss_vae = (
                        representation_loss(rec[:b_l], x[:b_l], mu[:b_l],
                                            logvar[:b_l])
                        + representation_loss(rec[b_l:], x[b_l:], mu[b_l:],
                                              logvar[b_l:])
                        + self.adversary_weight * discriminator_loss(
                            logit[:b_l], logit[b_l:], 1.0, 1.0))
                    opt_vae.zero_grad(set_to_none=True)
                    opt_d.zero_grad(set_to_none=True)
                    loss_vae.backward()
                    opt_vae.step()
                with torch.no_grad():
                    mu = vae(x)[2]
                logit = disc(mu)
                loss_d = discriminator_loss(logit[:b_l], logit[b_l:], 1.0, 0.0)
                opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                opt_d.step()
                sums += torch.stack([loss_vae.detach(), loss_d.detach()])
            means = (sums / n_steps).tolist()
            history.append({"vae_loss": means[0],
                            "discriminator_loss": means[1]})
        return vae, disc, history


class DiscriminatorScorer(FittedSelectorScorer):
    """A pool scorer: minus a fitted VAAL's discriminator output, on ``image``.

    Its extra output ``latent`` holds the latent means (what
    ``diversity="kmeans"`` clusters). Pickled to another process (a Ray
    worker), the selector scores on whatever device that process has.

    Parameters
    ----------
    strategy : VAALSampler
        Fitted (its ``discriminator_`` is set).
    """

    def __call__(self, columns):
        scores, latent = self.strategy.score(columns["image"],
                                             return_latent=True)
        return -scores, {"latent": latent}
