"""
The same loop in modAL and in scikit-activeml
=============================================

aalu_sk's strategies are modAL query strategies, and
:mod:`aalu_sk.skactiveml` offers each of them as a scikit-activeml pool
query strategy too, with the same parameters. Here one active-learning run
is written both ways: with modAL's ``ActiveLearner`` and AALU, then as
scikit-activeml users write it (labels in one array, ``NaN`` for
"unlabeled", a ``SkorchClassifier``), where AALU takes the place of
scikit-activeml's own uncertainty sampling without any other change.
"""

# %%
# Data: 8x8 digits, 5 % labeled
# -----------------------------
import matplotlib.pyplot as plt
import numpy as np
import torch
from modAL.models import ActiveLearner
from skactiveml.classifier import SkorchClassifier
from skactiveml.pool import UncertaintySampling
from skactiveml.utils import MISSING_LABEL

import aalu_sk.skactiveml
from aalu_sk import AdversarialUncertaintySampler, ImageClassifier
from aalu_sk.experiment.datasets import load_dataset
from aalu_sk.modules import SmallCNN

data = load_dataset("digits", random_state=0)
X, y_true = data.X_train, data.y_train
first = np.random.RandomState(0).choice(len(X), size=70, replace=False)
CYCLES, BATCH = 3, 40

# %%
# modAL: a learner holds the labeled set
# --------------------------------------
# The learner keeps ``X_training``/``y_training``; the pool is the rest.
learner = ActiveLearner(
    estimator=ImageClassifier("small_cnn", num_classes=10, max_epochs=15,
                              batch_size=32, random_state=0),
    query_strategy=AdversarialUncertaintySampler(epochs=5, random_state=0),
    X_training=X[first], y_training=y_true[first])
pool = np.setdiff1d(np.arange(len(X)), first)
modal_curve = [learner.score(data.X_test, data.y_test)]
for _ in range(CYCLES):
    query_idx, _ = learner.query(X[pool], n_instances=BATCH)
    picked = pool[query_idx]
    learner.teach(X[picked], y_true[picked])
    pool = np.setdiff1d(pool, picked)
    modal_curve.append(learner.score(data.X_test, data.y_test))
print("modAL + AALU:           ", np.round(modal_curve, 3))

# %%
# scikit-activeml: one label array, NaN for "unlabeled"
# -----------------------------------------------------
# A ``SkorchClassifier`` around the same small CNN. Its forward pass also
# returns the penultimate features, so that AALU reads the features the
# paper uses (``clf_embedding_flag_name``); without it AALU would read the
# raw pixels.


class CNNWithEmbeddings(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.cnn = SmallCNN(num_classes=10, in_channels=1)

    def forward(self, x):
        features = self.cnn.features(x)
        return self.cnn.fc(features), features


def make_clf():
    return SkorchClassifier(
        CNNWithEmbeddings,
        forward_outputs={"proba": (0, torch.nn.Softmax(dim=-1)),
                         "emb": (1, None)},
        criterion_output_keys="proba",
        neural_net_param_dict=dict(max_epochs=15, batch_size=32, lr=1e-3,
                                   optimizer=torch.optim.Adam,
                                   train_split=None, verbose=0),
        classes=np.arange(10), random_state=0)


def skactiveml_loop(qs):
    """A scikit-activeml user's loop: query, label, refit; test accuracy."""
    torch.manual_seed(0)    # the same initial weights for every strategy
    y = np.full(len(X), MISSING_LABEL)
    y[first] = y_true[first]
    clf = make_clf().fit(X, y)
    curve = [clf.score(data.X_test, data.y_test)]
    for _ in range(CYCLES):
        query_idx = qs.query(X, y, clf=clf, batch_size=BATCH)
        y[query_idx] = y_true[query_idx]
        clf.fit(X, y)
        curve.append(clf.score(data.X_test, data.y_test))
    return curve


# %%
# The loop with scikit-activeml's entropy sampling, then with AALU
# ----------------------------------------------------------------
# Only the strategy changes.
entropy_curve = skactiveml_loop(
    UncertaintySampling(method="entropy", random_state=0))
print("scikit-activeml entropy:", np.round(entropy_curve, 3))
aalu_curve = skactiveml_loop(aalu_sk.skactiveml.AdversarialUncertaintySampler(
    epochs=5, random_state=0, clf_embedding_flag_name={"extra_outputs": "emb"}))
print("scikit-activeml + AALU: ", np.round(aalu_curve, 3))

# %%
# Utilities, the scikit-activeml way
# ----------------------------------
# ``return_utilities=True`` gives one row per pick of the batch, one column
# per sample: larger means "query", NaN for labeled samples and earlier
# picks. AALU's are its assistant's scores.
y = np.full(len(X), MISSING_LABEL)
y[first] = y_true[first]
qs = aalu_sk.skactiveml.AdversarialUncertaintySampler(
    epochs=5, random_state=0, clf_embedding_flag_name={"extra_outputs": "emb"})
query_idx, utilities = qs.query(X, y, clf=make_clf(), batch_size=3,
                                return_utilities=True)
print("utilities", utilities.shape, "NaN per row:",
      np.isnan(utilities).sum(axis=1), "picks:", query_idx)

# %%
# Learning curves
# ---------------
labels = len(first) + BATCH * np.arange(CYCLES + 1)
fig, ax = plt.subplots(figsize=(6, 3.5))
for curve, name in ((modal_curve, "modAL: AALU + ImageClassifier"),
                    (aalu_curve, "scikit-activeml: AALU + SkorchClassifier"),
                    (entropy_curve, "scikit-activeml: entropy sampling")):
    ax.plot(labels, 100 * np.asarray(curve), marker="o", label=name)
ax.set_xlabel("labeled images")
ax.set_ylabel("test accuracy (%)")
ax.legend(fontsize=8)
ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()
