"""
Quickstart: an active-learning loop
===================================

Start with a few labeled digits, let AALU choose which images to label
next, and watch the test accuracy grow cycle by cycle. modAL's
``ActiveLearner`` runs the loop; :class:`~aalu_sk.ImageClassifier` is the
task model and :class:`~aalu_sk.AdversarialUncertaintySampler` the query
strategy. The settings are tiny so that the example runs in seconds on a
CPU; the paper's defaults (ResNet-18, 100 selector epochs) are for real
image sizes.
"""

# %%
# The data: 8x8 digits, split into a pool and a test set
# -------------------------------------------------------
# ``load_dataset("digits")`` returns ``float32`` images of shape
# ``(n, 1, 8, 8)`` with values in [0, 1], the layout ImageClassifier reads.
# We pretend the training labels are unknown, except for a random 5 % (70 images).
import matplotlib.pyplot as plt
import numpy as np
from modAL.models import ActiveLearner

from aalu_sk import AdversarialUncertaintySampler, ImageClassifier
from aalu_sk.experiment.datasets import load_dataset

data = load_dataset("digits", random_state=0)
rng = np.random.RandomState(0)
labeled = rng.choice(len(data.y_train), size=70, replace=False)
pool = np.setdiff1d(np.arange(len(data.y_train)), labeled)
print(f"{len(labeled)} labeled, {len(pool)} in the pool, "
      f"{len(data.y_test)} for testing")

# %%
# Task model and query strategy
# -----------------------------
# A small CNN trained for a few epochs. ``num_classes`` is given because a
# small first labeled set may miss a class. AALU trains its VAE and
# assistant for 10 epochs over the pool. Both are seeded.
net = ImageClassifier("small_cnn", num_classes=10, max_epochs=20,
                      batch_size=32, random_state=0)
sampler = AdversarialUncertaintySampler(epochs=10, random_state=0)

learner = ActiveLearner(estimator=net, query_strategy=sampler,
                        X_training=data.X_train[labeled],
                        y_training=data.y_train[labeled])

# %%
# The loop
# --------
# Each cycle asks for 40 images, "labels" them with the known answers (in
# practice: your annotators), and retrains from scratch on everything
# labeled so far (``teach`` refits the skorch model).
sizes = [len(labeled)]
accuracies = [learner.score(data.X_test, data.y_test)]
first_queries = None
for cycle in range(3):
    query_idx, _ = learner.query(data.X_train[pool], n_instances=40)
    picked = pool[query_idx]
    if first_queries is None:
        first_queries = picked
    learner.teach(data.X_train[picked], data.y_train[picked])
    pool = np.setdiff1d(pool, picked)
    sizes.append(sizes[-1] + len(picked))
    accuracies.append(learner.score(data.X_test, data.y_test))
    print(f"cycle {cycle + 1}: {sizes[-1]} labeled, test accuracy "
          f"{accuracies[-1]:.3f}, query took {sampler.query_time_:.1f} s")

# %%
# Accuracy against the number of labels
# -------------------------------------
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(sizes, 100 * np.array(accuracies), marker="o")
ax.set_xlabel("labeled images")
ax.set_ylabel("test accuracy (%)")
ax.set_title("AALU on the digits")
ax.grid(alpha=0.3)
fig.tight_layout()

# %%
# What AALU asked for first
# -------------------------
# The first 40 images AALU sent to the "annotator", with their true labels.
# ``sampler.scores_`` holds the assistant's score of every pool image in
# the last query (larger means "label me").
fig, axes = plt.subplots(4, 10, figsize=(8, 3.6))
for ax, i in zip(axes.ravel(), first_queries):
    ax.imshow(data.X_train[i, 0], cmap="gray_r")
    ax.set_title(str(data.y_train[i]), fontsize=8)
    ax.axis("off")
fig.suptitle("First query: 40 images chosen by AALU")
fig.tight_layout()
plt.show()
