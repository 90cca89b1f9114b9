"""
Batches that cover the classes: diversity, margin and BADGE
===========================================================

An uncertainty score ranks single images. Take the top of the ranking as a
batch and it piles up where the model is most confused: two or three
look-alike classes, often near-duplicates. With few labels that batch can
teach the model less than a random one (Hacohen et al., 2022).

This example asks four strategies for one batch of 60 images from the
same pool, after a two-layer perceptron was trained on 60 labeled digits,
and counts the true classes in each batch:

- :class:`~aalu_sk.MarginSampler`, plain top-k;
- the same scores with ``diversity="kmeans"``: the 240 best are grouped
  into 60 clusters in the model's feature space and the best of each
  cluster is taken (:func:`~aalu_sk.strategies.selection.diverse_top_k`);
- :class:`~aalu_sk.BADGESampler`, k-means++ seeding on gradient embeddings;
- :class:`~aalu_sk.AdversarialUncertaintySampler` with its default preset
  (which uses the same diversity step) and with ``preset="paper"``.
"""

# %%
# A small labeled set and a task model
# ------------------------------------
# ``record_losses=True`` keeps each labeled image's loss across the
# training epochs: the signal AALU's default preset ranks.
import matplotlib.pyplot as plt
import numpy as np

from aalu_sk import (AdversarialUncertaintySampler, BADGESampler,
                     ImageClassifier, MarginSampler)
from aalu_sk.experiment.datasets import load_dataset

data = load_dataset("digits", random_state=0)
rng = np.random.RandomState(0)
order = rng.permutation(len(data.y_train))
labeled, pool = order[:60], order[60:]
X_l, y_l = data.X_train[labeled], data.y_train[labeled]
X_pool, y_pool = data.X_train[pool], data.y_train[pool]

net = ImageClassifier("mlp", num_classes=10, max_epochs=100, batch_size=32,
                      record_losses=True, random_state=0, device="cpu")
net.fit(X_l, y_l)
print(f"test accuracy with 60 labels: "
      f"{np.mean(net.predict(data.X_test) == data.y_test):.3f}")

# %%
# One batch from each strategy
# ----------------------------
strategies = {
    "margin (top-k)": MarginSampler(random_state=0),
    "margin + diversity": MarginSampler(diversity="kmeans", random_state=0),
    "BADGE": BADGESampler(random_state=0),
    "AALU (default)": AdversarialUncertaintySampler(
        max_steps=300, random_state=0, device="cpu"),
    "AALU (paper)": AdversarialUncertaintySampler(
        preset="paper", epochs=20, random_state=0, device="cpu"),
}
counts = {}
for name, strategy in strategies.items():
    picked = strategy.query(X_l, y_l, X_pool, net, n_instances=60)
    counts[name] = np.bincount(y_pool[picked], minlength=10)
    print(f"{name:<20} classes in the batch: {counts[name].tolist()}  "
          f"largest share {counts[name].max() / 60:.0%}")

# %%
# How the batches spread over the ten classes
# -------------------------------------------
# A batch that covers every class evenly has six images of each. Plain
# top-k batches lean on a few confusable digits; the diverse ones spread.
fig, axes = plt.subplots(1, len(counts), figsize=(12, 2.8), sharey=True)
for ax, (name, c) in zip(axes, counts.items()):
    ax.bar(range(10), c, color="tab:blue")
    ax.axhline(6, color="gray", linestyle="--", linewidth=1)
    ax.set_title(name, fontsize=9)
    ax.set_xticks(range(10))
    ax.set_xlabel("true class")
axes[0].set_ylabel("images in the batch")
fig.tight_layout()

# %%
# Whether a better-spread batch also gives a better model is what the
# label-efficiency benchmark measures, seed by seed: see :doc:`/benchmarks`.
