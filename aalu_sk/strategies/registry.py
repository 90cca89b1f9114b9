"""Every strategy of the toolkit by name, for the command line and runners.

The experiment runner, the labeling app and the distributed path build
strategies through :func:`make_strategy`, so a name means the same
configuration everywhere.

A name is a key of :data:`STRATEGIES`, optionally followed by a batch
rule for the strategies that rank by a score: ``"entropy+div"`` forms the
batch with k-means among the top candidates
(:func:`~aalu_sk.strategies.selection.diverse_top_k`), ``"aalu+topk"``
takes the plain top-k; without a suffix the strategy's own default holds.
"""

import inspect

from .aalu import ABLATIONS, AdversarialUncertaintySampler
from .geometry import BADGESampler, CoreSetSampler
from .lowbudget import ProbCoverSampler, TypiClustSampler
from .random import RandomSampler
from .uncertainty import EntropySampler, MarginSampler
from .vaal import VAALSampler

__all__ = ["STRATEGIES", "SUFFIXES", "OPTIONS", "make_strategy",
           "check_strategy_name"]

_PAPER = dict(preset="paper")

#: Strategies by name: ``name -> (class, fixed parameters)``. The AALU
#: ablations of the paper's Table 1 use the paper preset; ``"aalu"`` is
#: the default preset and ``"aalu_paper"`` the paper's exact recipe. Add an
#: entry to make a strategy of your own selectable by name.
STRATEGIES = {
    "aalu": (AdversarialUncertaintySampler, {}),
    "aalu_paper": (AdversarialUncertaintySampler, {**_PAPER,
                                                   **ABLATIONS["AALU"]}),
    "advvae": (AdversarialUncertaintySampler, {**_PAPER,
                                               **ABLATIONS["advVAE"]}),
    "advvae_pred": (AdversarialUncertaintySampler,
                    {**_PAPER, **ABLATIONS["advVAE+Prediction"]}),
    "losslearn": (AdversarialUncertaintySampler,
                  {**_PAPER, **ABLATIONS["lossLearn"]}),
    "advvae_losslearn": (AdversarialUncertaintySampler,
                         {**_PAPER, **ABLATIONS["advVAE+lossLearn"]}),
    "vaal": (VAALSampler, {}),
    "badge": (BADGESampler, {}),
    "coreset": (CoreSetSampler, {}),
    "margin": (MarginSampler, {}),
    "entropy": (EntropySampler, {}),
    "random": (RandomSampler, {}),
    "typiclust": (TypiClustSampler, {}),
    "probcover": (ProbCoverSampler, {}),
}

#: Name suffixes and the ``diversity`` they set.
SUFFIXES = {"+div": "kmeans", "+topk": None}

#: Options of :func:`make_strategy` and the constructor parameter each one
#: sets, in the strategies that have that parameter.
OPTIONS = {
    "device": "device",
    "verbose": "verbose",
    "selector_epochs": "epochs",
    "selector_batch_size": "batch_size",
    "selector_max_steps": "max_steps",
    "vaal_channels": "channels",
}


def _has_diversity(name):
    return "diversity" in inspect.signature(STRATEGIES[name][0]).parameters


def _parse(name):
    if not isinstance(name, str):
        raise ValueError(f"A strategy name must be a string; got {name!r}.")
    for suffix, diversity in SUFFIXES.items():
        base = name[:-len(suffix)]
        if name.endswith(suffix) and base in STRATEGIES:
            if not _has_diversity(base):
                raise ValueError(
                    f"Strategy {base!r} forms its batches itself; {suffix!r} "
                    f"applies only to "
                    f"{sorted(filter(_has_diversity, STRATEGIES))}.")
            return base, {"diversity": diversity}
    if name not in STRATEGIES:
        raise ValueError(
            f"Unknown strategy {name!r}; choose from {sorted(STRATEGIES)}, "
            f"optionally followed by {' or '.join(SUFFIXES)}.")
    return name, {}


def check_strategy_name(name):
    """Return ``name`` if :func:`make_strategy` knows it, else raise ValueError."""
    _parse(name)
    return name


def make_strategy(name, random_state=None, **options):
    """Build the strategy registered as ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`STRATEGIES`, optionally with a suffix of
        :data:`SUFFIXES` (``"entropy+div"``).
    random_state : int, RandomState instance or None, default=None
    **options
        Keys of :data:`OPTIONS` (``device``, ``verbose``,
        ``selector_epochs``, ``selector_batch_size``,
        ``selector_max_steps``, ``vaal_channels``). Each sets its
        parameter in the strategies that have it and is ignored by the
        others, so one set of options serves every strategy of an
        experiment.

    Returns
    -------
    strategy : BaseQueryStrategy

    Examples
    --------
    >>> from aalu_sk.strategies import make_strategy
    >>> make_strategy("entropy+div", random_state=0)
    EntropySampler(diversity='kmeans', random_state=0)
    """
    base, extra = _parse(name)
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise TypeError(f"make_strategy got unknown options {unknown}; "
                        f"allowed are {sorted(OPTIONS)}.")
    cls, fixed = STRATEGIES[base]
    accepted = inspect.signature(cls).parameters
    params = {OPTIONS[key]: value for key, value in options.items()
              if OPTIONS[key] in accepted}
    if "channels" in params:
        params["channels"] = tuple(params["channels"])
    return cls(**{**params, **fixed, **extra, "random_state": random_state})
