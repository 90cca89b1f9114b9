"""Every strategy of the toolkit by name, for the command line and runners.

The experiment runner, the labeling app and the distributed path build
strategies through :func:`make_strategy`, so a name means the same
configuration everywhere.
"""

from .aalu import ABLATIONS, AdversarialUncertaintySampler
from .geometry import CoreSetSampler
from .random import RandomSampler
from .uncertainty import EntropySampler
from .vaal import VAALSampler

__all__ = ["STRATEGIES", "make_strategy"]


def _aalu(**flags):
    def factory(random_state, selector_epochs, device, selector_batch_size=128,
                verbose=0, **_):
        return AdversarialUncertaintySampler(
            epochs=selector_epochs, batch_size=selector_batch_size,
            device=device, random_state=random_state, verbose=verbose, **flags)
    return factory


def _vaal(random_state, selector_epochs, device, selector_batch_size=128,
          vaal_channels=(128, 256, 512, 1024), verbose=0, **_):
    return VAALSampler(channels=tuple(vaal_channels), epochs=selector_epochs,
                       batch_size=selector_batch_size, device=device,
                       random_state=random_state, verbose=verbose)


#: Strategies by name: ``name -> factory(random_state, selector_epochs,
#: device, **options)`` returning a query strategy; the options are
#: ``selector_batch_size``, ``vaal_channels`` and ``verbose``. Add an entry
#: to make a strategy of your own selectable by name.
STRATEGIES = {
    "aalu": _aalu(**ABLATIONS["AALU"]),
    "advvae": _aalu(**ABLATIONS["advVAE"]),
    "advvae_pred": _aalu(**ABLATIONS["advVAE+Prediction"]),
    "losslearn": _aalu(**ABLATIONS["lossLearn"]),
    "advvae_losslearn": _aalu(**ABLATIONS["advVAE+lossLearn"]),
    "vaal": _vaal,
    "coreset": lambda random_state, selector_epochs, device, **_:
        CoreSetSampler(device=device, random_state=random_state),
    "entropy": lambda random_state, selector_epochs, device, **_:
        EntropySampler(random_state=random_state),
    "random": lambda random_state, selector_epochs, device, **_:
        RandomSampler(random_state=random_state),
}


def make_strategy(name, random_state=None, selector_epochs=100,
                  device="auto", **options):
    """Build the strategy registered as ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`STRATEGIES`.
    random_state : int, RandomState instance or None, default=None
    selector_epochs : int, default=100
        Training epochs of the AALU and VAAL selectors.
    device : str, default="auto"
    **options
        ``selector_batch_size``, ``vaal_channels``, ``verbose``.

    Returns
    -------
    strategy : BaseQueryStrategy
    """
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}; choose from "
                         f"{sorted(STRATEGIES)}.")
    return STRATEGIES[name](random_state, selector_epochs, device, **options)
