"""Module paths of the first release that moved, kept as warning aliases.

aalu_sk 0.1.0 documented flat modules (``aalu_sk.datasets``,
``aalu_sk.sampler``...) that now live in the ``strategies`` and
``experiment`` subpackages. Each old path is a small module that calls
:func:`alias`: importing it emits a :class:`FutureWarning` naming the new
place and gives the very objects of the new module. The aliases stay for
one release: they are removed in aalu_sk :data:`REMOVED_IN`. The package's
own code never imports them (a test checks).
"""

import importlib
import warnings

__all__ = ["MOVED", "REMOVED_IN", "alias"]

#: The release that drops the aliases.
REMOVED_IN = "0.3.0"

#: Old module -> (its new module, the public names the old one had).
MOVED = {
    "aalu_sk.base": ("aalu_sk.strategies.base", (
        "BaseQueryStrategy", "modal_expects_scores")),
    "aalu_sk.checkpoint": ("aalu_sk.experiment.checkpoint", (
        "ConfigMismatchError", "RESULT_FIELDS", "CHECKPOINT", "atomic_write",
        "remove_partial_writes", "dataset_fingerprint", "derive_seed",
        "check_split", "config_identity", "open_checkpoint", "start_run",
        "save_checkpoint", "result_rows")),
    "aalu_sk.datasets": ("aalu_sk.experiment.datasets", (
        "DATASETS", "IMAGE_EXTENSIONS", "ImageDataset", "load_dataset",
        "load_image_folder")),
    "aalu_sk.losses": ("aalu_sk.strategies.losses", (
        "kl_divergence", "reconstruction_loss", "representation_loss",
        "discriminator_loss", "vae_adversarial_loss",
        "assistant_adversarial_loss", "ranking_loss")),
    "aalu_sk.plotting": ("aalu_sk.experiment.plotting", (
        "summary_tables", "plot_learning_curves", "plot_query_time",
        "learning_curve_auc", "aggregate", "atomic_write", "load_results",
        "write_report")),
    "aalu_sk.sampler": ("aalu_sk.strategies.aalu", (
        "AdversarialUncertaintySampler", "ABLATIONS")),
    "aalu_sk.selection": ("aalu_sk.strategies.selection", (
        "top_k", "entropy", "nearest_distances", "k_center_greedy")),
    "aalu_sk.vaal": ("aalu_sk.strategies.vaal", ("VAALSampler",)),
    # 0.2.0: the subcommands' runners moved into aalu_sk.cli.
    "aalu_sk.labeling.command": ("aalu_sk.cli.label", (
        "LABEL_DEMO_DIR", "run_label")),
    "aalu_sk.distributed.command": ("aalu_sk.cli.query", (
        "add_query_parser", "read_table", "list_pool", "run_query")),
}


def alias(old, namespace):
    """Fill the alias module ``old``'s ``namespace``; warn where imported.

    Parameters
    ----------
    old : str
        The alias module's ``__name__``, a key of :data:`MOVED`.
    namespace : dict
        Its ``globals()``: it receives the old public names, bound to the
        new module's objects, and ``__all__``.
    """
    new, names = MOVED[old]
    # stacklevel 3: the statement that imports the alias (the import
    # machinery's own frames are skipped by the warnings module)
    warnings.warn(f"{old} is deprecated and will be removed in aalu_sk "
                  f"{REMOVED_IN}; import from {new} instead.", FutureWarning,
                  stacklevel=3)
    module = importlib.import_module(new)
    namespace.update({name: getattr(module, name) for name in names})
    namespace["__all__"] = list(names)
