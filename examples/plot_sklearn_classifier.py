"""
AALU with a plain scikit-learn classifier
=========================================

No neural network is required: every strategy accepts a fitted
scikit-learn classifier with ``predict_proba``. AALU then reads

- features from ``transform`` when the estimator has one, otherwise the
  input itself, flattened;
- probabilities from ``predict_proba``;
- the labeled samples' losses as ``-log p(true class)``.

Here a logistic regression on the flattened 8x8 digits (64 features) is
the task model. We compare AALU, entropy, core-set and random sampling
over a few cycles, then run the same thing through modAL.
"""

# %%
# Flat features and a starting set
# --------------------------------
import matplotlib.pyplot as plt
import numpy as np
from modAL.models import ActiveLearner
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from aalu_sk import (AdversarialUncertaintySampler, CoreSetSampler,
                     EntropySampler, RandomSampler)
from aalu_sk.experiment.datasets import load_dataset

data = load_dataset("digits", random_state=0)
X = data.X_train.reshape(len(data.X_train), -1)      # (1347, 64)
X_test = data.X_test.reshape(len(data.X_test), -1)
y, y_test = data.y_train, data.y_test

start = np.random.RandomState(0).choice(len(y), size=30, replace=False)
model = LogisticRegression(max_iter=2000)

# %%
# The loop, written out
# ---------------------
# ``strategy.query(X_labeled, y_labeled, X_pool, estimator, n_instances)``
# returns positions in ``X_pool``. Each cycle refits the model on all labels
# so far and asks for 20 more.
strategies = {
    "AALU": AdversarialUncertaintySampler(epochs=10, random_state=0),
    "entropy": EntropySampler(random_state=0),
    "core-set": CoreSetSampler(random_state=0),
    "random": RandomSampler(random_state=0),
}
curves = {}
for name, strategy in strategies.items():
    labeled = start.copy()
    sizes, accuracies = [], []
    for cycle in range(5):
        clf = clone(model).fit(X[labeled], y[labeled])
        sizes.append(len(labeled))
        accuracies.append(clf.score(X_test, y_test))
        if cycle == 4:
            break
        pool = np.setdiff1d(np.arange(len(y)), labeled)
        picked = strategy.query(X[labeled], y[labeled], X[pool], clf,
                                n_instances=20)
        labeled = np.concatenate([labeled, pool[picked]])
    curves[name] = (sizes, accuracies)
    print(f"{name:>8}: accuracy {accuracies[0]:.3f} -> {accuracies[-1]:.3f}")

fig, ax = plt.subplots(figsize=(6.5, 4))
for name, (sizes, accuracies) in curves.items():
    ax.plot(sizes, 100 * np.array(accuracies), marker="o", label=name)
ax.set_xlabel("labeled images")
ax.set_ylabel("test accuracy (%)")
ax.set_title("Logistic regression on flattened digits")
ax.grid(alpha=0.3)
ax.legend()
fig.tight_layout()

# %%
# On this small, easy problem the simple strategies are hard to beat: AALU
# was designed for the features of a deep network trained on thousands of
# images. The point here is the interface: nothing in the code above is
# specific to a neural network.

# %%
# The same with modAL
# -------------------
# An aalu_sk strategy is a modAL query strategy, so it plugs into
# ``ActiveLearner`` with any scikit-learn estimator. modAL refits the model
# on everything labeled so far in ``teach``.
learner = ActiveLearner(
    estimator=LogisticRegression(max_iter=2000),
    query_strategy=AdversarialUncertaintySampler(epochs=10, random_state=0),
    X_training=X[start], y_training=y[start])
pool = np.setdiff1d(np.arange(len(y)), start)
for _ in range(2):
    query_idx, _ = learner.query(X[pool], n_instances=20)
    learner.teach(X[pool[query_idx]], y[pool[query_idx]])
    pool = np.delete(pool, query_idx)
print(f"modAL learner: {len(learner.y_training)} labels, test accuracy "
      f"{learner.score(X_test, y_test):.3f}")
plt.show()
