"""
Your own PyTorch model as the task model
========================================

:class:`~aalu_sk.ImageClassifier` accepts any ``torch.nn.Module`` through
``module=``; its constructor arguments go in ``module__<name>``
parameters, as in skorch. AALU reads the module's features from the
*input* of one layer, chosen with ``feature_layer``. This example defines
a network whose head has two linear layers, shows what the default and an
explicit ``feature_layer`` give, and compares what AALU, entropy sampling
and VAAL choose with it.
"""

# %%
# A network with a two-layer head
# -------------------------------
# ``forward`` returns logits. By default the features are the input of the
# module's *last* ``nn.Linear`` (here ``head.2``, 32 values); we want the
# 64-value embedding that enters the whole head, so we name ``"head"``.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA
from torch import nn

from aalu_sk import (AdversarialUncertaintySampler, EntropySampler,
                     ImageClassifier, VAALSampler)
from aalu_sk.experiment.datasets import load_dataset


class DigitNet(nn.Module):
    def __init__(self, num_classes=10, embed_dim=64):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(16 * 4 * 4, embed_dim), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(embed_dim, 32), nn.ReLU(),
                                  nn.Linear(32, num_classes))

    def forward(self, x):
        return self.head(self.body(x))


data = load_dataset("digits", random_state=0)
rng = np.random.RandomState(0)
labeled = rng.choice(len(data.y_train), size=120, replace=False)
pool = np.setdiff1d(np.arange(len(data.y_train)), labeled)

net = ImageClassifier(DigitNet, module__num_classes=10, module__embed_dim=64,
                      num_classes=10, feature_layer="head", max_epochs=30,
                      batch_size=32, lr=3e-3, random_state=0)
net.fit(data.X_train[labeled], data.y_train[labeled])
print(f"test accuracy: {net.score(data.X_test, data.y_test):.3f}")

# %%
# What the strategies will read
# -----------------------------
# :meth:`~aalu_sk.ImageClassifier.forward_pass` gives features,
# probabilities and (with labels) per-sample losses in one batched pass.
# Changing ``feature_layer`` needs no retraining: it only moves the hook.
out = net.forward_pass(data.X_train[pool])
print("feature_layer='head':", out.features.shape, out.proba.shape)
net.set_params(feature_layer=None)
print("default (last Linear):", net.forward_pass(data.X_train[pool]).features.shape)
net.set_params(feature_layer="head")

# %%
# Query with AALU, entropy and VAAL
# ---------------------------------
# The strategies work with the custom model unchanged. Without modAL, a
# strategy's ``query`` takes the labeled set, the pool and the fitted model.
# VAAL is the exception that proves the rule: it trains its own
# convolutional VAE on the raw images and never reads the task model.
X_lab, y_lab = data.X_train[labeled], data.y_train[labeled]
X_pool = data.X_train[pool]
aalu = AdversarialUncertaintySampler(epochs=15, random_state=0)
picked_aalu = aalu.query(X_lab, y_lab, X_pool, net, n_instances=30)
entropy = EntropySampler(random_state=0)
picked_entropy = entropy.query(X_lab, y_lab, X_pool, net, n_instances=30)
vaal = VAALSampler(epochs=5, channels=(16, 32), random_state=0)
picked_vaal = vaal.query(X_lab, y_lab, X_pool, n_instances=30)
for name, picked in (("entropy", picked_entropy), ("VAAL", picked_vaal)):
    print(f"AALU and {name} agree on "
          f"{len(np.intersect1d(picked_aalu, picked))} of 30 images")

# %%
# Where the chosen images lie
# ---------------------------
# The pool's 64-d features projected to two dimensions, coloured by AALU's
# score (larger: more worth labeling). The labeled images are grey dots.
pca = PCA(n_components=2, random_state=0).fit(out.features)
pool_2d = pca.transform(out.features)
lab_2d = pca.transform(net.forward_pass(X_lab).features)

fig, ax = plt.subplots(figsize=(7, 5))
points = ax.scatter(pool_2d[:, 0], pool_2d[:, 1], c=aalu.scores_, s=8,
                    cmap="viridis")
ax.scatter(lab_2d[:, 0], lab_2d[:, 1], s=8, color="0.6", label="labeled")
ax.scatter(*pool_2d[picked_aalu].T, s=70, facecolors="none",
           edgecolors="red", label="chosen by AALU")
ax.scatter(*pool_2d[picked_entropy].T, s=40, marker="x", color="black",
           label="chosen by entropy")
ax.scatter(*pool_2d[picked_vaal].T, s=40, marker="^", facecolors="none",
           edgecolors="tab:orange", label="chosen by VAAL")
fig.colorbar(points, label="AALU score")
ax.set_xlabel("PC 1")
ax.set_ylabel("PC 2")
ax.legend(loc="best", fontsize=8)
ax.set_title("Pool features of the custom network")
fig.tight_layout()
plt.show()
