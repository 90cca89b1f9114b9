"""
The AALU ablation: what each ingredient picks
=============================================

The paper's Table 1 takes AALU apart: an adversarial VAE alone (advVAE),
with the task model's prediction as extra input (advVAE+Prediction), the loss
ranking alone (lossLearn), the two combined (advVAE+lossLearn), and
everything (AALU). Each variant is a setting of three parameters of
:class:`~aalu_sk.AdversarialUncertaintySampler`.

Running full learning curves for five variants takes long; instead this
example trains one task model, lets every variant choose 100 images from
the same pool, and looks at *what* they choose: how hard the chosen images
are for the current model (their true loss), how many classes they cover,
and the test accuracy after adding them.
"""

# %%
# One labeled set, one task model
# -------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import clone

from aalu_sk import AdversarialUncertaintySampler, ImageClassifier, RandomSampler
from aalu_sk.experiment.datasets import load_dataset
from aalu_sk.strategies.aalu import ABLATIONS

data = load_dataset("digits", random_state=0)
rng = np.random.RandomState(0)
labeled = rng.choice(len(data.y_train), size=100, replace=False)
pool = np.setdiff1d(np.arange(len(data.y_train)), labeled)
X_lab, y_lab = data.X_train[labeled], data.y_train[labeled]
X_pool, y_pool = data.X_train[pool], data.y_train[pool]

net = ImageClassifier("small_cnn", num_classes=10, max_epochs=20,
                      batch_size=32, random_state=0).fit(X_lab, y_lab)
print(f"test accuracy with {len(labeled)} labels: "
      f"{net.score(data.X_test, data.y_test):.3f}")

# %%
# The variants
# ------------
# ``adversarial`` switches the VAE/assistant game (Eq. 5 and 7) on or off,
# ``use_prediction`` feeds the softmax output to the assistant, and
# ``ranking_weight`` is the weight lambda of the loss-ranking term (Eq. 8-9).
# ``aalu_sk.strategies.aalu.ABLATIONS`` holds the paper's Table 1 as these flags.
for name, params in ABLATIONS.items():
    print(f"{name:18s} {params}")

strategies = {name: AdversarialUncertaintySampler(epochs=10, random_state=0,
                                                  **params)
              for name, params in ABLATIONS.items()}
strategies["Random"] = RandomSampler(random_state=0)

# %%
# Let each one choose 100 images
# ------------------------------
# The "true loss" of a chosen image is the task model's cross-entropy on
# its real label, which an oracle would reveal: a strategy that finds the
# model's mistakes picks images with a high loss.
pool_loss = net.per_sample_loss(X_pool, y_pool)
results = {}
for name, strategy in strategies.items():
    picked = strategy.query(X_lab, y_lab, X_pool, net, n_instances=100)
    retrained = clone(net).fit(np.concatenate([X_lab, X_pool[picked]]),
                               np.concatenate([y_lab, y_pool[picked]]))
    results[name] = {
        "loss": pool_loss[picked].mean(),
        "classes": len(np.unique(y_pool[picked])),
        "accuracy": retrained.score(data.X_test, data.y_test),
        "seconds": strategy.query_time_,
    }
    print(f"{name:>18}: mean true loss {results[name]['loss']:.3f}, "
          f"{results[name]['classes']} classes, accuracy after "
          f"{results[name]['accuracy']:.3f}, query "
          f"{results[name]['seconds']:.1f} s")
print(f"{'whole pool':>18}: mean true loss {pool_loss.mean():.3f}")

# %%
# Side by side
# ------------
# The variants that read the model (its prediction or its losses) should
# pick harder images than the adversarial VAE alone, which only looks for
# images unlike the labeled ones. One model and one query on 8x8 digits is
# a small experiment: run ``aalu-sk run --strategies advvae,advvae_pred,``
# ``losslearn,advvae_losslearn,aalu,random`` with several seeds for a fair
# comparison.
names = list(results)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
axes[0].barh(names, [results[n]["loss"] for n in names], color="tab:orange")
axes[0].axvline(pool_loss.mean(), color="black", linestyle="--",
                label="whole pool")
axes[0].set_xlabel("mean true loss of the 100 chosen images")
axes[0].legend(loc="lower right")
axes[0].invert_yaxis()
axes[1].barh(names, [100 * results[n]["accuracy"] for n in names])
axes[1].set_xlim(min(100 * r["accuracy"] for r in results.values()) - 3, 100)
axes[1].set_xlabel("test accuracy after adding them (%)")
axes[1].invert_yaxis()
axes[1].tick_params(labelleft=False)
fig.tight_layout()
plt.show()
