"""AdversarialUncertaintySampler: AALU (Zhu & Wang, ICIP 2020)."""

import time

import numpy as np
import torch

from .._logging import progress_bar
from .._runtime import resolve_device, seed_from, seeded
from ..features import task_outputs
from ..modules import Assistant, FeatureVAE
from ..validation import (check_nonnegative_numbers, check_positive_ints,
                          check_samples)
from ._batching import epoch_batches, steps_per_epoch
from .base import BaseQueryStrategy
from .losses import (assistant_adversarial_loss, ranking_loss,
                     representation_loss, vae_adversarial_loss)
from .selection import top_k

__all__ = ["AdversarialUncertaintySampler", "ABLATIONS"]

#: The ablations of the paper's Table 1 as constructor parameters of
#: :class:`AdversarialUncertaintySampler` (AALU itself is the defaults).
ABLATIONS = {
    "advVAE": dict(adversarial=True, use_prediction=False, ranking_weight=0.0),
    "advVAE+Prediction": dict(adversarial=True, use_prediction=True,
                              ranking_weight=0.0),
    "lossLearn": dict(adversarial=False, use_prediction=False,
                      ranking_weight=10.0),
    "advVAE+lossLearn": dict(adversarial=True, use_prediction=False,
                             ranking_weight=10.0),
    "AALU": dict(adversarial=True, use_prediction=True, ranking_weight=10.0),
}


class AdversarialUncertaintySampler(BaseQueryStrategy):
    """AALU: adversarial active learning with model uncertainty.

    One query: pass the labeled set and the pool through the task model
    once (features ``f``, softmax ``p``, labeled losses ``l``); co-train a
    VAE on ``f`` and an *active assistant* ``A`` on ``m = [z, p]``; score
    the pool with ``A`` (latent mean ``z = mu``) and return the
    ``n_instances`` samples with the largest scores.

    The paper's equations and the parameters that control them:

    ===========================  ======================================
    equation                     parameter
    ===========================  ======================================
    Eq. 1  ``L_rep`` (VAE)       ``latent_dim``, ``hidden_dim``
    Eq. 5  VAE adversarial loss  ``adversarial`` (on/off), ``beta``
    Eq. 7  A's adversarial loss  ``adversarial`` (on/off)
    Eq. 8  loss ranking          ``ranking_weight`` (lambda), ``margin``
    Eq. 9  ``L_A``               ``ranking_weight``
    input ``m = [z, p]``         ``use_prediction``
    ===========================  ======================================

    The ablations of the paper's Table 1:

    ========================  ===============  ==============  ==============
    variant                   ``adversarial``  ``use_predic-   ``ranking_
                                               tion``          weight``
    ========================  ===============  ==============  ==============
    advVAE                    True             False           0
    advVAE + Prediction       True             True            0
    lossLearn                 False            False           10
    advVAE + lossLearn        True             False           10
    AALU (default)            True             True            10
    ========================  ===============  ==============  ==============

    Parameters
    ----------
    latent_dim : int, default=32
        Size of the VAE's latent ``z``.
    hidden_dim : int, default=512
        Width of the hidden layers of the 3-layer MLPs (encoder, decoder,
        assistant).
    beta : float, default=1.0
        Weight of the VAE's adversarial loss (Eq. 6).
    margin : float, default=0.1
        Margin ``xi`` of the ranking loss (Eq. 8).
    ranking_weight : float, default=10.0
        Weight ``lambda`` of the ranking loss in the assistant's loss
        (Eq. 9); 0 turns the ranking loss off.
    use_prediction : bool, default=True
        Feed the softmax prediction ``p`` to the assistant next to ``z``.
    adversarial : bool, default=True
        Train VAE and assistant adversarially (Eq. 5 and 7). With False the
        VAE learns ``L_rep`` only and the assistant the ranking loss only.
    epochs : int, default=100
        Training epochs; an epoch is one pass over the larger pool, each
        step drawing a batch from both pools.
    lr : float, default=5e-4
        Adam learning rate of both networks.
    batch_size : int, default=128
        Samples drawn from *each* pool per step.
    device : str, default="auto"
        Where the selector trains: "auto" (CUDA when present), "cpu",
        "cuda".
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, batches, latent noise and tie-breaking. The
        global numpy and torch RNGs are left untouched.
    verbose : int, default=0
        1 shows a progress bar over epochs when standard error is a
        terminal.

    Attributes
    ----------
    scores_ : ndarray of shape (n_pool,)
        Assistant scores ``A(m)`` of the last pool; larger means "query".
    vae_ : FeatureVAE
        The trained VAE of the last query (moved to the CPU).
    assistant_ : Assistant
        The trained assistant (returns logits; ``A = sigmoid``), on the CPU.
    history_ : list of dict
        Mean VAE and assistant losses per epoch of the last query.
    timings_ : dict
        Seconds spent in the task model's pass, training and scoring.
    query_time_ : float
        Seconds the last query took.

    Notes
    -----
    Features are standardised (zero mean, unit variance per dimension over
    both pools) before the VAE sees them, so the reconstruction term does
    not depend on the task model's feature scale. ``L_rep`` uses a
    unit-variance Gaussian decoder: ``0.5 ||f - f_hat||^2`` summed over
    features plus the KL term summed over latent units; the decoder
    reconstructs from ``z`` drawn with the reparameterisation trick. The
    assistant reads the latent *mean* ``mu`` both in training and when
    scoring, as VAAL's reference code feeds its discriminator (the paper
    builds on it); a sampled ``z`` would hide ``p`` behind prior noise
    wherever the features carry little information.

    References
    ----------
    Z. Zhu and H. Wang, "Deep Adversarial Active Learning with Model
    Uncertainty for Image Classification", ICIP 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from aalu_sk import AdversarialUncertaintySampler
    >>> rng = np.random.RandomState(0)
    >>> f_lab, f_pool = rng.randn(40, 8), rng.randn(60, 8)
    >>> f_pool[:5] += 6                      # a cluster far from the labels
    >>> p_lab = p_pool = None
    >>> sampler = AdversarialUncertaintySampler(epochs=20, random_state=0,
    ...                                         use_prediction=False,
    ...                                         ranking_weight=0)
    >>> scores = sampler.fit_scores(f_lab, None, None, f_pool, None)
    >>> sorted(np.argsort(-scores)[:5].tolist())
    [0, 1, 2, 3, 4]
    """

    def __init__(self, latent_dim=32, hidden_dim=512, beta=1.0, margin=0.1,
                 ranking_weight=10.0, use_prediction=True, adversarial=True,
                 epochs=100, lr=5e-4, batch_size=128, device="auto",
                 random_state=None, verbose=0):
        self.latent_dim = latent_dim
        self.hidden_dim = hidden_dim
        self.beta = beta
        self.margin = margin
        self.ranking_weight = ranking_weight
        self.use_prediction = use_prediction
        self.adversarial = adversarial
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self):
        check_positive_ints(self, ("latent_dim", "hidden_dim", "epochs",
                                   "batch_size"))
        check_nonnegative_numbers(self, ("beta", "margin", "ranking_weight",
                                         "lr"))
        if self.lr == 0:
            raise ValueError("lr must be > 0; got 0.")
        if not self.adversarial and self.ranking_weight == 0:
            raise ValueError(
                "With adversarial=False and ranking_weight=0 the assistant "
                "has nothing to learn; enable one of them.")
        return resolve_device(self.device)

    # -- modAL-free entry points -------------------------------------------
    def _select(self, X_labeled, y_labeled, X_pool, estimator, n_instances,
                rng):
        self._check_params()
        start = time.perf_counter()
        lab = task_outputs(estimator, X_labeled, y_labeled)
        pool = task_outputs(estimator, X_pool)
        forward = time.perf_counter() - start
        scores = self.fit_scores(lab.features, lab.proba, lab.loss,
                                 pool.features, pool.proba, random_state=rng)
        self.timings_["task_forward"] = forward
        return top_k(scores, n_instances, rng), scores

    def fit_scores(self, features_labeled, proba_labeled, loss_labeled,
                   features_pool, proba_pool, random_state=None):
        """Train the VAE and the assistant on precomputed outputs; score the pool.

        This is the whole selector without a task model, for users who
        already have features (and for tests with known answers).

        Parameters
        ----------
        features_labeled : array-like of shape (n_labeled, n_features)
        proba_labeled : array-like of shape (n_labeled, n_classes) or None
            Needed when ``use_prediction=True``.
        loss_labeled : array-like of shape (n_labeled,) or None
            Per-sample task losses; needed when ``ranking_weight > 0``.
        features_pool : array-like of shape (n_pool, n_features)
        proba_pool : array-like of shape (n_pool, n_classes) or None
        random_state : int, RandomState instance or None, default=None
            Overrides ``self.random_state`` for this call.

        Returns
        -------
        scores : ndarray of shape (n_pool,)
            ``A(m)`` in (0, 1); larger means more worth labeling.
        """
        device = self._check_params()
        f_l = check_samples(features_labeled, "features_labeled")
        f_u = check_samples(features_pool, "features_pool")
        if f_l.shape[1:] != f_u.shape[1:]:
            raise ValueError(
                f"features_labeled has {f_l.shape[1:]} features per sample, "
                f"features_pool {f_u.shape[1:]}.")
        arrays = {"features_labeled": f_l, "features_pool": f_u}
        if self.use_prediction:
            arrays["proba_labeled"] = proba_labeled
            arrays["proba_pool"] = proba_pool
        if self.ranking_weight > 0:
            arrays["loss_labeled"] = loss_labeled
        t = {}
        for name, value in arrays.items():
            if value is None:
                raise ValueError(
                    f"{name} is None, but this configuration reads it "
                    f"(use_prediction={self.use_prediction}, "
                    f"ranking_weight={self.ranking_weight}).")
            value = check_samples(value, name, min_ndim=1)
            n_expected = f_l.shape[0] if name.endswith("labeled") \
                else f_u.shape[0]
            if value.shape[0] != n_expected:
                raise ValueError(f"{name} has {value.shape[0]} rows; expected "
                                 f"{n_expected}.")
            t[name] = torch.as_tensor(
                np.asarray(value, dtype=np.float32), device=device)
        if self.use_prediction and (
                t["proba_labeled"].ndim != 2
                or t["proba_labeled"].shape[1] != t["proba_pool"].shape[1]):
            raise ValueError(
                f"proba_labeled and proba_pool must be (n, n_classes) with "
                f"the same n_classes; got shapes "
                f"{tuple(t['proba_labeled'].shape)} and "
                f"{tuple(t['proba_pool'].shape)}.")
        t["features_labeled"] = t["features_labeled"].flatten(1)
        t["features_pool"] = t["features_pool"].flatten(1)
        rng = self.random_state if random_state is None else random_state
        seed = seed_from(rng)
        start = time.perf_counter()
        with seeded(seed, device):
            f_l, f_u = t["features_labeled"], t["features_pool"]
            scale = self._feature_scale(f_l, f_u)
            vae, assistant, history = self._train(f_l, f_u, scale, t, device)
            fit_time = time.perf_counter() - start
            scores = self._score(vae, assistant, f_u, scale,
                                 t.get("proba_pool"))
        # Kept on the CPU: they are for inspection, and a sampler pickled on
        # a GPU machine then loads anywhere.
        self.vae_, self.assistant_ = vae.cpu(), assistant.cpu()
        self.history_ = history
        self.timings_ = {"train": fit_time,
                         "score": time.perf_counter() - start - fit_time}
        return scores

    # -- internals ------------------------------------------------------------
    @staticmethod
    def _feature_scale(f_l, f_u, chunk=8192):
        """Per-feature mean and std over both pools, computed in chunks.

        Batches are standardised on the fly, so no standardised copy of the
        (possibly huge) feature matrix is ever made.
        """
        total = torch.zeros(f_l.shape[1], dtype=torch.float64,
                            device=f_l.device)
        squares = torch.zeros_like(total)
        for f in (f_l, f_u):
            for s in range(0, f.shape[0], chunk):
                block = f[s:s + chunk].double()
                total += block.sum(0)
                squares += block.pow(2).sum(0)
        n = f_l.shape[0] + f_u.shape[0]
        mean = total / n
        var = (squares - n * mean.pow(2)).clamp(min=0) / max(n - 1, 1)
        std = var.sqrt()
        std = torch.where(std > 1e-6, std, torch.ones_like(std))
        return mean.float(), std.float()

    def _assistant_input(self, z, proba):
        return torch.cat([z, proba], dim=1) if self.use_prediction else z

    def _train(self, f_l, f_u, scale, t, device):
        n_l, n_u, dim = f_l.shape[0], f_u.shape[0], f_l.shape[1]
        n_classes = t["proba_pool"].shape[1] if self.use_prediction else 0
        vae = FeatureVAE(dim, self.latent_dim, self.hidden_dim).to(device)
        assistant = Assistant(self.latent_dim + n_classes,
                              self.hidden_dim).to(device)
        opt_vae = torch.optim.Adam(vae.parameters(), lr=self.lr)
        opt_a = torch.optim.Adam(assistant.parameters(), lr=self.lr)
        b_l, b_u = min(self.batch_size, n_l), min(self.batch_size, n_u)
        n_steps = steps_per_epoch(n_l, n_u, self.batch_size)
        p_l, p_u = t.get("proba_labeled"), t.get("proba_pool")
        loss_l = t.get("loss_labeled")
        history = []
        vae.train()
        assistant.train()
        for _ in progress_bar(range(self.epochs), desc="AALU selector",
                              leave=False,
                              progress=None if self.verbose else False):
            idx_l = epoch_batches(n_l, n_steps, b_l, device)
            idx_u = epoch_batches(n_u, n_steps, b_u, device)
            sums = torch.zeros(2, device=device)
            for il, iu in zip(idx_l, idx_u):
                # Both pools go through the VAE in one batch: rows [:b_l]
                # are labeled, rows [b_l:] unlabeled.
                f = (torch.cat([f_l[il], f_u[iu]]) - scale[0]) / scale[1]
                p = torch.cat([p_l[il], p_u[iu]]) if self.use_prediction \
                    else None
                # VAE step (Eq. 6): L_rep + beta * L_adv_vae.
                rec, _, mu, logvar = vae(f)
                loss_vae = (
                    representation_loss(rec[:b_l], f[:b_l], mu[:b_l],
                                        logvar[:b_l])
                    + representation_loss(rec[b_l:], f[b_l:], mu[b_l:],
                                          logvar[b_l:]))
                if self.adversarial:
                    assistant.requires_grad_(False)
                    logit = assistant(self._assistant_input(mu, p))
                    assistant.requires_grad_(True)
                    loss_vae = loss_vae + self.beta * vae_adversarial_loss(
                        logit[:b_l], logit[b_l:])
                opt_vae.zero_grad(set_to_none=True)
                loss_vae.backward()
                opt_vae.step()
                # Assistant step (Eq. 9): L_adv_A + lambda * L_loss, on the
                # same latent means, detached from the VAE.
                logit = assistant(self._assistant_input(mu.detach(), p))
                loss_a = torch.zeros((), device=device)
                if self.adversarial:
                    loss_a = loss_a + assistant_adversarial_loss(
                        logit[:b_l], logit[b_l:])
                if self.ranking_weight > 0:
                    loss_a = loss_a + self.ranking_weight * ranking_loss(
                        torch.sigmoid(logit[:b_l]), loss_l[il], self.margin)
                opt_a.zero_grad(set_to_none=True)
                loss_a.backward()
                opt_a.step()
                sums += torch.stack([loss_vae.detach(), loss_a.detach()])
            means = (sums / n_steps).tolist()
            history.append({"vae_loss": means[0], "assistant_loss": means[1]})
        return vae, assistant, history

    def _score(self, vae, assistant, f_u, scale, p_u, batch_size=4096):
        vae.eval()
        assistant.eval()
        scores = []
        with torch.no_grad():
            for s in range(0, f_u.shape[0], batch_size):
                f = (f_u[s:s + batch_size] - scale[0]) / scale[1]
                mu = vae.encode(f)[0]
                p = p_u[s:s + batch_size] if self.use_prediction else None
                scores.append(torch.sigmoid(
                    assistant(self._assistant_input(mu, p))).cpu())
        return torch.cat(scores).numpy().astype(np.float64)
