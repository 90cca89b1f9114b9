"""AdversarialUncertaintySampler: AALU (Zhu & Wang, ICIP 2020)."""

import logging
import time

import numpy as np
import torch
from sklearn.utils import check_random_state

from .._logging import progress_bar
from .._runtime import resolve_device, seed_from, seeded
from ..modules import Assistant, FeatureVAE
from ..pools import top_batch
from ..representation.base import is_frozen_head
from ..validation import (array_fingerprint, check_nonnegative_numbers,
                          check_number, check_positive_ints, check_samples)
from ._batching import (LossPlateau, budget_sample, epoch_batches, epoch_plan,
                        warm_modules)
from .base import (BaseQueryStrategy, FittedSelectorScorer,
                   class_count)
from .lowbudget import ProbCoverSampler, TypiClustSampler
from .losses import (assistant_adversarial_loss, ranking_loss,
                     representation_loss, vae_adversarial_loss)

__all__ = ["AdversarialUncertaintySampler", "AssistantScorer", "ABLATIONS",
           "PRESETS"]

log = logging.getLogger("aalu_sk.strategies")

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

WARM_DEFAULT = False
#: The default preset's selector: hidden width, step cap and learning rate
#: (the earlier 512 wide, 1000 steps at 5e-4 cost 5 to 8 times more per
#: query for the same score quality: benchmarks/results/score_quality.md).
DEFAULT_HIDDEN, DEFAULT_STEPS, DEFAULT_LR = 256, 300, 1e-3
#: Labels per class below which the default preset's query is TypiClust's:
#: for a task model trained from scratch, and for a head on a frozen
#: label-free representation (``estimator.representation``, not
#: fine-tuned), which is worth listening to sooner (the very-low-budget
#: benchmarks on self-supervised features: docs/benchmarks).
COLD_START_UNTIL, COLD_START_UNTIL_FROZEN = 10, 5

#: What ``preset`` sets for the parameters left at ``"auto"``. ``"paper"``
#: is Zhu & Wang's recipe exactly; ``"default"`` is what the
#: label-efficiency benchmark found best (``docs/benchmarks``).
PRESETS = {
    "paper": dict(loss_source="final", sort_prediction=False, diversity=None,
                  max_steps=None, tol=None, warm_start=False, lr=5e-4,
                  hidden_dim=512, cold_start=None, cold_start_until=None),
    "default": dict(loss_source="final", sort_prediction=True,
                    diversity="kmeans", max_steps=DEFAULT_STEPS, tol=None,
                    warm_start=WARM_DEFAULT, lr=DEFAULT_LR,
                    hidden_dim=DEFAULT_HIDDEN, cold_start="typiclust",
                    cold_start_until=COLD_START_UNTIL),
}

#: The label-free strategies ``cold_start`` can name.
COLD_START = {"typiclust": TypiClustSampler, "probcover": ProbCoverSampler}
_LOSS_SOURCES = ("final", "training", "auto")
#: Steps per window of the convergence rule (:class:`LossPlateau`), and
#: the steps it always trains first.
CHECK_EVERY, MIN_STEPS = 25, 200


class AdversarialUncertaintySampler(BaseQueryStrategy):
    """AALU: adversarial active learning with model uncertainty.

    One query: pass the labeled set and the pool through the task model
    once (features ``f``, softmax ``p``, labeled losses ``l``); co-train a
    VAE on ``f`` and an *active assistant* ``A`` on ``m = [z, p]``; score
    the pool with ``A`` (latent mean ``z = mu``) and query the samples with
    the largest scores.

    The paper's equations and the parameters that control them:

    ===========================  ======================================
    equation                     parameter
    ===========================  ======================================
    Eq. 1  ``L_rep`` (VAE)       ``latent_dim``, ``hidden_dim``
    Eq. 5  VAE adversarial loss  ``adversarial`` (on/off), ``beta``
    Eq. 7  A's adversarial loss  ``adversarial`` (on/off)
    Eq. 8  loss ranking          ``ranking_weight`` (lambda), ``margin``,
                                 ``loss_source`` (where ``l`` comes from)
    Eq. 9  ``L_A``               ``ranking_weight``
    input ``m = [z, p]``         ``use_prediction``, ``sort_prediction``
    Algorithm 1 (training)       ``epochs``, ``max_steps``, ``tol``,
                                 ``n_iter_no_change``, ``warm_start``,
                                 ``lr``, ``batch_size``
    batch of the top scores      ``diversity``
    ===========================  ======================================

    The ablations of the paper's Table 1 (:data:`ABLATIONS`):

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

    Presets (:data:`PRESETS`) set the parameters that go beyond the
    paper, where they are left at ``"auto"``:

    ======================  ==============  =====================
    parameter               ``"paper"``     ``"default"``
    ======================  ==============  =====================
    ``loss_source``         ``"final"``     ``"final"``
    ``sort_prediction``     False           True
    ``diversity``           None (top-k)    ``"kmeans"``
    ``hidden_dim``          512             256
    ``max_steps``           None            300
    ``tol``                 None            None
    ``lr``                  5e-4            1e-3
    ``warm_start``          False           False
    ``cold_start``          None            ``"typiclust"``
    ``cold_start_until``    None            10 labels per class (5 with
                                            a frozen representation)
    ======================  ==============  =====================

    Parameters
    ----------
    preset : {"default", "paper"}, default="default"
        ``"paper"`` reproduces Zhu & Wang exactly: final-model losses,
        ``p`` as the model gives it, plain top-k, ``epochs`` full passes.
        ``"default"`` keeps the paper's equations and losses, feeds the
        assistant ``p`` sorted, forms the batch with k-means among the top
        candidates, trains a 256-wide selector for at most 300 steps at
        ``lr=1e-3``, and starts cold (TypiClust) while labels are few; see
        the label-efficiency benchmark for why.
    latent_dim : int, default=32
        Size of the VAE's latent ``z``.
    hidden_dim : int or "auto", default="auto"
        Width of the hidden layers of the 3-layer MLPs (encoder, decoder,
        assistant). ``"auto"``: the preset's (512 in ``"paper"``, as the
        VAAL code AALU builds on; 256 in ``"default"``).
    beta : float, default=1.0
        Weight of the VAE's adversarial loss (Eq. 6).
    margin : float, default=0.1
        Margin ``xi`` of the ranking loss (Eq. 8).
    ranking_weight : float, default=10.0
        Weight ``lambda`` of the ranking loss in the assistant's loss
        (Eq. 9); 0 turns the ranking loss off.
    use_prediction : bool, default=True
        Feed the softmax prediction ``p`` to the assistant next to ``z``.
    sort_prediction : bool or "auto", default="auto"
        Feed ``p`` with its entries sorted in decreasing order (the
        largest probability first) instead of in class order. A sample's
        loss depends on how confident and how split its prediction is, not
        on which class it names; sorted, ``p`` says exactly that, so the
        ranking loss learnt on a few labeled samples carries over to every
        class. In class order (the paper) the assistant has to learn the
        same function once per class. ``"auto"``: the preset's. Ignored
        with ``use_prediction=False``.
    adversarial : bool, default=True
        Train VAE and assistant adversarially (Eq. 5 and 7). With False the
        VAE learns ``L_rep`` only and the assistant the ranking loss only.
    epochs : int, default=100
        Training epochs; an epoch is one pass over the larger pool, each
        step drawing a batch from both pools.
    max_steps : int, None or "auto", default="auto"
        Cap on the training steps, so the selector's cost stops growing
        with the pool (the default's 300: pools of 40k and of 1M train
        the same 300 steps). None: ``epochs`` full epochs, as the paper.
        ``"auto"``: the preset's.
    tol : float, None or "auto", default="auto"
        Convergence rule: every 25 steps the mean assistant loss (Eq. 9)
        of those steps is compared with the best such mean so far, and a
        window that is not at least ``tol`` (relative) below it counts as
        no improvement; training stops after ``n_iter_no_change`` such
        windows in a row, but not before 200 steps (or at ``max_steps``).
        None: no early stop.
        ``"auto"``: the preset's (None for both: on a digits-small first
        query ``tol=0.05`` stopped at 225 of 1000 steps, and the scores
        ranked the pool's errors worse, AUROC 0.84 against 0.87).
    n_iter_no_change : int, default=3
        Windows of 25 steps without improvement before training stops.
        Ignored with ``tol=None``.
    warm_start : bool or "auto", default="auto"
        When True, a query continues from the previous query's VAE and
        assistant if their shapes fit the new inputs (same feature size
        and class count), else starts cold without an error. ``"auto"``:
        the preset's (False for both; a warm start saved no steps and
        ranked errors worse in our measurements, see the user guide).
    lr : float or "auto", default="auto"
        Adam learning rate of both networks. ``"auto"``: the preset's
        (5e-4 in ``"paper"``, 1e-3 in ``"default"``, which trains at most
        300 steps; 2e-3 reached the same score quality in 200 steps on
        digits-small but broke the ranking-only ablation).
    batch_size : int, default=128
        Samples drawn from *each* pool per step.
    loss_source : {"final", "training", "auto"}, default="auto"
        Where the labeled losses ``l`` of the ranking loss come from.
        ``"final"`` (the paper): the trained model's loss on each labeled
        sample; a network that memorises a small labeled set drives these
        to zero, and the ranking then fits noise. ``"training"``: the mean
        loss of each sample over the training epochs, recorded by an
        :class:`~aalu_sk.ImageClassifier` fit with ``record_losses=True``
        (an error if the estimator has none for this labeled set); in
        our measurements it did not beat ``"final"`` (equal on a
        60-label digits protocol, worse on mnist5k), so both presets use
        ``"final"``. ``"auto"``: the preset's.
    diversity : {None, "kmeans", "auto"}, default="auto"
        How the batch is formed from the scores: None takes the top
        ``n_instances`` (the paper); ``"kmeans"`` clusters the
        ``4 * n_instances`` best into ``n_instances`` groups in the task
        model's feature space and takes the best of each
        (:func:`~aalu_sk.strategies.selection.diverse_top_k`), so the batch
        does not pile up on a few confusable classes. ``"auto"``: the
        preset's.
    cold_start : {None, "typiclust", "probcover", "auto"}, default="auto"
        The label-free strategy that answers while labels are few
        (:class:`~aalu_sk.TypiClustSampler` or
        :class:`~aalu_sk.ProbCoverSampler` on the estimator's
        representation if it has one, else on
        :class:`~aalu_sk.representation.PixelPCA` of the pool): below
        ``cold_start_until`` labels per class a task model trained on so
        few labels ranks the pool badly, and covering the pool's dense
        regions is worth more. None: AALU from the first query (the
        paper). ``"auto"``: the preset's.
    cold_start_until : float or "auto", default="auto"
        Labels per class (classes from the estimator's ``num_classes``,
        ``classes_``, else the distinct labels) from
        which AALU answers. ``"auto"``: the preset's. In the default that
        is 10 for a task model trained from scratch and 5 for a head on a
        frozen representation (an :class:`~aalu_sk.ImageClassifier` with
        ``representation`` and ``finetune=False``): on self-supervised
        features margin+div overtook TypiClust from about 5 labels per
        class on digits (about 10 on MNIST), and the earlier switch was
        worth +0.54 AULC on digits and -0.21 on MNIST (docs/benchmarks).
        Unused by the paper preset. The value used is in ``config_``.
    device : str, default="auto"
        Where the selector trains: "auto" (CUDA when present), "cpu",
        "cuda".
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, batches, latent noise, the diversity step and
        tie-breaking. The global numpy and torch RNGs are left untouched.
    verbose : int, default=0
        1 shows a progress bar over epochs when standard error is a
        terminal.

    Attributes
    ----------
    scores_ : ndarray of shape (n_pool,)
        Assistant scores ``A(m)`` of the last pool; larger means "query".
    phase_ : {"cold_start", "aalu"}
        Which strategy answered the last query.
    cold_start_ : TypiClustSampler or ProbCoverSampler
        The cold-start strategy of the last query, when it answered.
    config_ : dict
        The effective values of the preset's parameters (``loss_source``,
        ``sort_prediction``, ``diversity``, ``max_steps``, ``tol``,
        ``warm_start``, ``lr``) in the last query, after the preset and
        ``"auto"`` were resolved.
    vae_ : FeatureVAE
        The trained VAE of the last query (moved to the CPU).
    assistant_ : Assistant
        The trained assistant (returns logits; ``A = sigmoid``), on the CPU.
    sort_prediction_ : bool
        Whether the fitted assistant reads ``p`` sorted; :meth:`score`
        feeds it the same way.
    scale_ : tuple of Tensor
        Per-feature mean and standard deviation the VAE's inputs are
        standardised with.
    history_ : list of dict
        Mean VAE and assistant losses and the steps of each epoch of the
        last query (the last epoch may be partial).
    n_steps_ : int
        Training steps the last query took.
    converged_ : bool
        Whether the convergence rule (``tol``) stopped the training.
    loss_curve_ : list of float
        Mean assistant loss of each 25-step window the rule checked
        (empty with ``tol=None``).
    warm_started_ : bool
        Whether the last training continued from the previous weights.
    timings_ : dict
        Seconds spent in the task model's pass, training and scoring, and
        ``"steps"``: the training steps.
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
    >>> sampler = AdversarialUncertaintySampler(epochs=20, random_state=0,
    ...                                         use_prediction=False,
    ...                                         ranking_weight=0)
    >>> scores = sampler.fit_scores(f_lab, None, None, f_pool, None)
    >>> sorted(np.argsort(-scores)[:5].tolist())
    [0, 1, 2, 3, 4]

    The paper's exact recipe is one argument away:

    >>> paper = AdversarialUncertaintySampler(preset="paper")
    """

    def __init__(self, preset="default", latent_dim=32, hidden_dim="auto",
                 beta=1.0, margin=0.1, ranking_weight=10.0,
                 use_prediction=True, sort_prediction="auto",
                 adversarial=True, epochs=100, max_steps="auto", tol="auto",
                 n_iter_no_change=3, warm_start="auto", lr="auto",
                 batch_size=128, loss_source="auto", diversity="auto",
                 cold_start="auto", cold_start_until="auto",
                 device="auto", random_state=None, verbose=0):
        self.preset = preset
        self.latent_dim = latent_dim
        self.hidden_dim = hidden_dim
        self.beta = beta
        self.margin = margin
        self.ranking_weight = ranking_weight
        self.use_prediction = use_prediction
        self.sort_prediction = sort_prediction
        self.adversarial = adversarial
        self.epochs = epochs
        self.max_steps = max_steps
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.lr = lr
        self.batch_size = batch_size
        self.loss_source = loss_source
        self.diversity = diversity
        self.cold_start = cold_start
        self.cold_start_until = cold_start_until
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self):
        """Validate the parameters; return the device and the resolved config."""
        if self.preset not in PRESETS:
            raise ValueError(f"preset={self.preset!r} is not a preset; use "
                             f"one of {sorted(PRESETS)}.")
        check_positive_ints(self, ("latent_dim", "epochs", "batch_size",
                                   "n_iter_no_change"))
        check_nonnegative_numbers(self, ("beta", "margin", "ranking_weight"))
        if not self.adversarial and self.ranking_weight == 0:
            raise ValueError(
                "With adversarial=False and ranking_weight=0 the assistant "
                "has nothing to learn; enable one of them.")
        if self.loss_source not in _LOSS_SOURCES:
            raise ValueError(f"loss_source={self.loss_source!r}; use one of "
                             f"{list(_LOSS_SOURCES)}.")
        # "auto" takes the preset's value.
        config = {name: PRESETS[self.preset][name]
                  if isinstance(getattr(self, name), str)
                  and getattr(self, name) == "auto" else getattr(self, name)
                  for name in PRESETS[self.preset]}
        if not isinstance(config["sort_prediction"], (bool, np.bool_)):
            raise ValueError(f"sort_prediction must be True, False or "
                             f"'auto'; got {self.sort_prediction!r}.")
        # The resolved values; one that fails is the user's own ('auto'
        # takes the preset's, which passes), as the messages show it.
        check_number(config["hidden_dim"], "hidden_dim", integer=True,
                     low=1, alternatives=["'auto'"])
        check_number(config["max_steps"], "max_steps", integer=True, low=1,
                     allow_none=True, alternatives=["'auto'"])
        check_number(config["lr"], "lr", low=0, include_boundaries="neither",
                     alternatives=["'auto'"])
        check_number(config["tol"], "tol", low=0, high=1,
                     include_boundaries="left", allow_none=True,
                     alternatives=["'auto'"])
        if not isinstance(config["warm_start"], (bool, np.bool_)):
            raise ValueError(f"warm_start must be True, False or 'auto'; "
                             f"got {self.warm_start!r}.")
        self._check_diversity(config["diversity"])
        if config["cold_start"] is not None and \
                config["cold_start"] not in COLD_START:
            raise ValueError(f"cold_start={self.cold_start!r}: use None, "
                             f"'auto' or one of {sorted(COLD_START)}.")
        if config["cold_start"] is not None:  # labels per class
            check_number(config["cold_start_until"], "cold_start_until",
                         low=0, include_boundaries="neither",
                         alternatives=["'auto'"])
        return resolve_device(self.device), config

    def _cold_start_until(self, estimator, config):
        """The resolved ``cold_start_until`` for a query with ``estimator``.

        The default preset's ``"auto"`` is 5 labels per class for a head
        on a frozen representation, else the preset's value.
        """
        if self.cold_start_until == "auto" and self.preset == "default" \
                and is_frozen_head(estimator):
            return COLD_START_UNTIL_FROZEN
        return config["cold_start_until"]

    def _in_cold_start(self, labeled, config):
        """Whether this query is the cold-start strategy's (few labels).

        Fewer than ``cold_start_until`` labels per class, the classes
        counted from the estimator (``num_classes`` or
        ``classes_``), else from the labels seen.
        """
        if config["cold_start"] is None:
            return False
        n_classes = max(1, class_count(labeled.estimator, labeled.y))
        return labeled.n < config["cold_start_until"] * n_classes

    def resolved_config(self, estimator=None):
        """The preset's parameters as a query with ``estimator`` sets them.

        What ``config_`` holds after a query with this task model, but for
        ``loss_source="auto"``, which the query resolves from the losses
        the estimator recorded. ``cold_start_until`` depends on the task
        model: the default preset ends the cold start at 5 labels per class
        for a head on a frozen representation.

        Parameters
        ----------
        estimator : classifier or None, default=None

        Returns
        -------
        config : dict

        Examples
        --------
        >>> from aalu_sk import AdversarialUncertaintySampler
        >>> AdversarialUncertaintySampler().resolved_config()["cold_start_until"]
        10
        """
        _, config = self._check_params()
        config["cold_start_until"] = self._cold_start_until(estimator,
                                                            config)
        return config

    def reads_training_losses(self):
        """True when the ranking loss reads losses recorded in training."""
        _, config = self._check_params()
        return self.ranking_weight > 0 and \
            config["loss_source"] == "training"

    # -- modAL-free entry points -------------------------------------------
    def pool_columns(self):
        _, config = self._check_params()
        cold = ("samples",) if config["cold_start"] is not None else ()
        return self._selector_columns() + cold

    def _selector_columns(self):
        """The columns the VAE and the assistant read (not the images)."""
        return ("features",) + (("proba",) if self.use_prediction else ())

    def _select_from_pool(self, pool, labeled, n_instances, rng):
        config = self.resolved_config(labeled.estimator)
        self.config_ = config
        if self._in_cold_start(labeled, config):
            # Few labels: the task model is not yet worth listening to;
            # cover the pool's label-free view instead (same rng stream).
            self.phase_ = "cold_start"
            self.cold_start_ = COLD_START[config["cold_start"]](
                random_state=rng)
            start = time.perf_counter()
            picked = self.cold_start_._select_from_pool(
                pool, labeled, n_instances, rng)
            self.timings_ = {"select": time.perf_counter() - start}
            self.n_steps_ = 0
            return picked
        self.phase_ = "aalu"
        start = time.perf_counter()
        lab = labeled.outputs(loss=True)
        forward = time.perf_counter() - start + \
            getattr(pool, "timings", {}).get("task_forward", 0.0)
        config["loss_source"], loss = self._labeled_losses(
            config["loss_source"], labeled.estimator, labeled.X, labeled.y,
            lab.loss)
        # fit_scores on the pool: train on a sample under the step budget.
        sample = self.training_sample(pool.n_pool, config["max_steps"], rng)
        # Only the selector's columns: the images stay where they are.
        rows = pool.gather(sample, self._selector_columns())
        pool.train(self, lab.features, lab.proba, loss, rows["features"],
                   rows.get("proba"), rng=rng)
        del rows
        scorer = AssistantScorer(self)
        start = time.perf_counter()
        pool.scores(scorer)
        self.timings_["score"] = time.perf_counter() - start
        self.config_ = config
        self.timings_["task_forward"] = forward
        start = time.perf_counter()
        picked, scores = top_batch(pool, scorer, n_instances, rng,
                                   config["diversity"], "features")
        self.timings_["select"] = time.perf_counter() - start
        return picked, scores

    def _labeled_losses(self, source, estimator, X_labeled, y_labeled,
                        final_losses):
        """The loss source actually used and the losses it gives."""
        if source == "final" or self.ranking_weight == 0:
            return source, final_losses
        recorded = getattr(estimator, "training_losses_", None)
        matches = recorded is not None and len(recorded) == len(y_labeled) \
            and getattr(estimator, "training_fingerprint_", None) == \
            array_fingerprint(X_labeled, y_labeled)
        if matches:
            return "training", np.asarray(recorded)
        raise ValueError(
            "loss_source='training' needs the losses recorded while the "
            "estimator was fit on exactly this labeled set: fit an "
            "ImageClassifier(record_losses=True) on X_labeled, y_labeled "
            "(with modAL, not with teach(only_new=True)), or use "
            "loss_source='final'.")

    def fit_scores(self, features_labeled, proba_labeled, loss_labeled,
                   features_pool, proba_pool, random_state=None):
        """Train the VAE and the assistant on precomputed outputs; score the pool.

        This is the whole selector without a task model, for users who
        already have features (and for tests with known answers). It is
        :meth:`fit_selector` on the pool (or, under a ``max_steps``
        budget, on :meth:`training_sample` of it) followed by :meth:`score`
        of the whole pool.

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
        _, config = self._check_params()
        rng = check_random_state(self.random_state if random_state is None
                                 else random_state)
        sample = self.training_sample(len(features_pool), config["max_steps"],
                                      rng)
        self.fit_selector(
            features_labeled, proba_labeled, loss_labeled,
            features_pool if sample is None else features_pool[sample],
            proba_pool if proba_pool is None or sample is None
            else proba_pool[sample], rng)
        start = time.perf_counter()
        scores = self.score(features_pool, proba_pool)
        self.timings_["score"] = time.perf_counter() - start
        return scores

    def training_sample(self, n_pool, max_steps, random_state):
        """Pool rows the selector trains on under a step budget, or None.

        With ``max_steps`` steps of ``batch_size`` pool samples, training
        sees at most ``max_steps * batch_size`` pool samples; they are
        drawn up front (sorted, without replacement) so that the selector
        of a huge pool trains on a sample of that size and nothing else,
        which a distributed pool can gather. None: train on the whole pool
        (no budget, or a pool no larger than the sample).

        Parameters
        ----------
        n_pool : int
        max_steps : int or None
        random_state : RandomState instance
            Advanced only when a sample is drawn.

        Returns
        -------
        rows : ndarray of int64 or None
        """
        return budget_sample(n_pool, max_steps, self.batch_size,
                             random_state)

    def fit_selector(self, features_labeled, proba_labeled, loss_labeled,
                     features_pool, proba_pool, random_state=None):
        """Co-train the VAE and the assistant (Algorithm 1); return ``self``.

        ``features_pool`` may be a random sample of a larger pool
        (:meth:`training_sample`): with a ``max_steps`` budget the selector
        sees at most ``max_steps * batch_size`` pool samples anyway; the
        features are standardised with the mean and spread of the labeled
        set and this sample. Parameters as in :meth:`fit_scores`.
        """
        device, config = self._check_params()
        t = self._check_outputs(features_labeled, proba_labeled,
                                loss_labeled, features_pool, proba_pool,
                                device)
        rng = self.random_state if random_state is None else random_state
        # How p enters m is part of the fitted assistant: score() reads it.
        self.sort_prediction_ = bool(config["sort_prediction"])
        start = time.perf_counter()
        with seeded(seed_from(rng), device):
            f_l, f_u = t["features_labeled"], t["features_pool"]
            scale = self._feature_scale(f_l, f_u)
            vae, assistant, history = self._train(f_l, f_u, scale, t, device,
                                                  config)
        # Kept on the CPU: they are for inspection, and a sampler pickled on
        # a GPU machine then loads anywhere.
        self.vae_, self.assistant_ = vae.cpu(), assistant.cpu()
        self.scale_ = (scale[0].cpu(), scale[1].cpu())
        self.history_ = history
        self.timings_ = {"train": time.perf_counter() - start,
                         "steps": self.n_steps_}
        log.debug("AALU selector: %d steps (%s start, cap %s, tol %s) in "
                  "%.2fs", self.n_steps_,
                  "warm" if self.warm_started_ else "cold",
                  config["max_steps"], config["tol"], self.timings_["train"])
        return self

    def score(self, features, proba=None, batch_size=4096):
        """Assistant scores ``A([mu, p])`` of samples, with the fitted selector.

        Parameters
        ----------
        features : array-like of shape (n_samples, n_features)
        proba : array-like of shape (n_samples, n_classes) or None
            Needed when ``use_prediction=True``.
        batch_size : int, default=4096
            Rows scored at once.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            In (0, 1); larger means more worth labeling.
        """
        if getattr(self, "assistant_", None) is None:
            raise ValueError("score needs a fitted selector; call "
                             "fit_selector (or query) first.")
        features = check_samples(features, "features")
        if self.use_prediction:
            if proba is None:
                raise ValueError("proba is None, but use_prediction=True "
                                 "reads it.")
            proba = check_samples(proba, "proba")
        device = resolve_device(self.device)
        vae, assistant = self.vae_.to(device).eval(), \
            self.assistant_.to(device).eval()
        mean, std = (v.to(device) for v in self.scale_)
        scores = np.empty(features.shape[0], dtype=np.float64)
        try:
            with torch.no_grad():
                for s in range(0, features.shape[0], batch_size):
                    f = torch.as_tensor(np.asarray(
                        features[s:s + batch_size], dtype=np.float32),
                        device=device).flatten(1)
                    mu = vae.encode((f - mean) / std)[0]
                    p = torch.as_tensor(np.asarray(
                        proba[s:s + batch_size], dtype=np.float32),
                        device=device) if self.use_prediction else None
                    # float64: a float32 sigmoid ties confident scores at 1
                    scores[s:s + batch_size] = torch.sigmoid(
                        assistant(self._assistant_input(mu, p)).double()
                    ).cpu().numpy()
        finally:  # the fitted networks live on the CPU between calls
            self.vae_, self.assistant_ = vae.cpu(), assistant.cpu()
        return scores

    # -- internals ------------------------------------------------------------
    def _check_outputs(self, features_labeled, proba_labeled, loss_labeled,
                       features_pool, proba_pool, device):
        """Validated inputs of :meth:`fit_selector` as float32 tensors."""
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
        return t

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
        """``m = [z, p]``, with ``p`` sorted when the fit said so."""
        if not self.use_prediction:
            return z
        if self.sort_prediction_:
            proba = torch.sort(proba, dim=1, descending=True).values
        return torch.cat([z, proba], dim=1)

    def _train(self, f_l, f_u, scale, t, device, config):
        n_l, n_u, dim = f_l.shape[0], f_u.shape[0], f_l.shape[1]
        n_classes = t["proba_pool"].shape[1] if self.use_prediction else 0
        vae = FeatureVAE(dim, self.latent_dim, config["hidden_dim"]).to(device)
        assistant = Assistant(self.latent_dim + n_classes,
                              config["hidden_dim"]).to(device)
        # Fresh networks are built (and the RNG advanced) either way, so a
        # warm and a cold query draw the same batches afterwards.
        self.warm_started_ = bool(config["warm_start"]) and warm_modules(
            (vae, assistant), (getattr(self, "vae_", None),
                               getattr(self, "assistant_", None)))
        monitor = None if config["tol"] is None else LossPlateau(
            config["tol"], self.n_iter_no_change, CHECK_EVERY, MIN_STEPS)
        opt_vae = torch.optim.Adam(vae.parameters(), lr=config["lr"])
        opt_a = torch.optim.Adam(assistant.parameters(), lr=config["lr"])
        b_l, b_u = min(self.batch_size, n_l), min(self.batch_size, n_u)
        p_l, p_u = t.get("proba_labeled"), t.get("proba_pool")
        loss_l = t.get("loss_labeled")
        history, done, converged = [], 0, False
        vae.train()
        assistant.train()
        for n_steps in progress_bar(
                epoch_plan(n_l, n_u, self.batch_size, self.epochs,
                           config["max_steps"]),
                desc="AALU selector", leave=False,
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
                done += 1
                if monitor is not None and monitor.update(loss_a):
                    converged = True
                    break
            steps = done - sum(h["steps"] for h in history)
            means = (sums / steps).tolist()
            history.append({"vae_loss": means[0], "assistant_loss": means[1],
                            "steps": steps})
            if converged:
                break
        self.n_steps_, self.converged_ = done, converged
        self.loss_curve_ = [] if monitor is None else monitor.curve
        return vae, assistant, history


class AssistantScorer(FittedSelectorScorer):
    """A pool scorer: a fitted AALU selector's scores.

    :meth:`AdversarialUncertaintySampler.score` of the pool rows.

    Reads the ``features`` (and ``proba``) columns. Pickled to another
    process (a Ray worker), the selector scores on whatever device that
    process has.

    Parameters
    ----------
    strategy : AdversarialUncertaintySampler
        Fitted (its ``assistant_`` is set).
    """

    def __call__(self, columns):
        return self.strategy.score(columns["features"], columns.get("proba"))
