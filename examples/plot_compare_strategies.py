"""
Comparing query strategies
==========================

AALU against the paper's four baselines (random, entropy, core-set and
VAAL) on the same pool, with the experiment runner behind ``aalu-sk run``:
the same random initial labeled set for every strategy, the task model
retrained from scratch each cycle, and test accuracy after every cycle.

One seed, four cycles and tiny models keep it fast; with so little data the
differences are within seed-to-seed noise. ``aalu-sk demo`` runs the same
comparison with two seeds, and the :doc:`/benchmarks` page has measured
results.
"""

# %%
# Configure and run
# -----------------
# :class:`~aalu_sk.experiment.ExperimentConfig` holds the protocol: start
# with 5 % of the 1347 training digits labeled, add 5 % per cycle up to
# 20 %. :func:`~aalu_sk.experiment.run_experiment` writes ``results.csv``,
# ``summary.md``, the plots and a checkpoint into the output folder, like
# the command line; a temporary folder will do here.
import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from aalu_sk.experiment.datasets import load_dataset
from aalu_sk.experiment import ExperimentConfig, run_experiment
from aalu_sk.experiment.plotting import learning_curve_auc

config = ExperimentConfig(
    dataset="digits", model="small_cnn",
    strategies=("aalu", "vaal", "coreset", "entropy", "random"),
    seeds=(0,), initial=0.05, step=0.05, final=0.20,
    epochs=15, batch_size=32, selector_epochs=8, vaal_channels=(16, 32),
    device="cpu")
data = load_dataset("digits", random_state=0)

out = Path(tempfile.mkdtemp(prefix="aalu_compare_"))
rows = run_experiment(config, out, progress=False, dataset=data)
print(f"{len(rows)} rows written to results.csv; files: "
      f"{sorted(p.name for p in out.iterdir())}")

# %%
# Learning curves
# ---------------
# One row per strategy and cycle: the labeled fraction and the test
# accuracy of the task model trained on it.
fig, ax = plt.subplots(figsize=(6.5, 4))
for name in config.strategies:
    mine = [r for r in rows if r["strategy"] == name]
    ax.plot([100 * r["fraction"] for r in mine],
            [100 * r["accuracy"] for r in mine], marker="o", label=name)
ax.set_xlabel("labeled images (% of the training set)")
ax.set_ylabel("test accuracy (%)")
ax.set_title("Learning curves on the digits (one seed)")
ax.grid(alpha=0.3)
ax.legend()
fig.tight_layout()

# %%
# Query time
# ----------
# Seconds each strategy needed per 100 selected images: selector training
# plus selection, the measure of the paper's Table 2. Random and entropy are
# nearly free; VAAL trains a convolutional VAE on the raw images.
per_100 = {}
for name in config.strategies:
    mine = [r for r in rows if r["strategy"] == name]
    selected = sum(r["n_selected"] for r in mine)
    per_100[name] = 100 * sum(r["query_seconds"] for r in mine) / selected

fig, ax = plt.subplots(figsize=(6.5, 3.2))
ax.bar(list(per_100), list(per_100.values()), color="tab:blue")
ax.set_ylabel("seconds per 100 images")
ax.set_title("Query time")
fig.tight_layout()

# %%
# The summary the command line prints
# -----------------------------------
# ``summary.md`` has the same numbers as tables (mean ± std over seeds;
# with one seed the std is 0) and the area under each learning curve.
print((out / "summary.md").read_text())

# %%
# Which strategy picked the most useful images here? The area under the
# learning curve (:func:`~aalu_sk.experiment.plotting.learning_curve_auc`) ranks them
# with one number, a mean accuracy over the fraction range; one seed on 8x8
# digits proves little.
auc = {}
for name in config.strategies:
    mine = [r for r in rows if r["strategy"] == name]
    auc[name] = learning_curve_auc([r["fraction"] for r in mine],
                                   [r["accuracy"] for r in mine])
for name, value in sorted(auc.items(), key=lambda kv: -kv[1]):
    print(f"{name:>8}: {100 * value:.2f} %")

# %%
# Re-running ``run_experiment`` with the same folder would resume from its
# checkpoint; here we are done with it.
shutil.rmtree(out)
plt.show()
