"""
Choosing which image files to label
===================================

The usual situation: a folder of images sorted into one sub-folder per
class (what you have labeled so far), and a folder of new, unlabeled
images. :func:`aalu_sk.experiment.datasets.load_image_folder` reads the first;
the second is read into an array while keeping the file names, so that
AALU's choice comes out as a list of files to send to your annotators.

The example writes both folders itself, as PNG files made from the digits
data, into a temporary directory.
"""

# %%
# Write two folders of PNG files
# ------------------------------
# ``labeled/<class name>/*.png``: 25 images per class.
# ``incoming/*.png``: 200 images without labels (we keep their true labels
# aside, only to check the example).
import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from aalu_sk import AdversarialUncertaintySampler, ImageClassifier
from aalu_sk.experiment.datasets import load_dataset, load_image_folder

digits = load_dataset("digits", random_state=0)
names = ["zero", "one", "two", "three", "four", "five", "six", "seven",
         "eight", "nine"]
rng = np.random.RandomState(0)
root = Path(tempfile.mkdtemp(prefix="aalu_folder_"))


def save_png(image, path):
    """Save an (8, 8) float image in [0, 1] as a 16x16 grayscale PNG."""
    pixels = (255 * (1 - image)).round().astype(np.uint8)     # dark ink
    Image.fromarray(pixels).resize((16, 16), Image.Resampling.NEAREST).save(path)


order = rng.permutation(len(digits.y_train))
for k, name in enumerate(names):
    (root / "labeled" / name).mkdir(parents=True)
    for j, i in enumerate(order[digits.y_train[order] == k][:25]):
        save_png(digits.X_train[i, 0], root / "labeled" / name / f"{j:03d}.png")
used = np.concatenate([order[digits.y_train[order] == k][:25]
                       for k in range(10)])
incoming = np.setdiff1d(order, used)[:200]
(root / "incoming").mkdir()
for j, i in enumerate(incoming):
    save_png(digits.X_train[i, 0], root / "incoming" / f"scan_{j:04d}.png")
print(sorted(p.name for p in (root / "labeled").iterdir()))
print(len(list((root / "incoming").glob("*.png"))), "unlabeled files")

# %%
# Read the labeled folder
# -----------------------
# Class names are the sorted sub-folder names, and ``test_per_class``
# images per class are held out for testing. ``grayscale=True`` gives
# ``uint8`` arrays of shape ``(n, 16, 16)``, which ImageClassifier reads
# directly (divided by 255).
labeled = load_image_folder(root / "labeled", image_size=16,
                            test_per_class=5, grayscale=True, random_state=0)
print(labeled)
print("classes:", labeled.classes)

# %%
# Read the unlabeled folder, keeping the file names
# -------------------------------------------------
files = sorted((root / "incoming").glob("*.png"))
X_new = np.stack([np.asarray(Image.open(f).convert("L").resize((16, 16)))
                  for f in files])
print(X_new.shape, X_new.dtype)

# %%
# Train, then ask AALU which files to label
# -----------------------------------------
net = ImageClassifier("small_cnn", num_classes=labeled.n_classes,
                      max_epochs=25, batch_size=32, random_state=0)
net.fit(labeled.X_train, labeled.y_train)
print(f"test accuracy on the held-out labeled images: "
      f"{net.score(labeled.X_test, labeled.y_test):.3f}")

sampler = AdversarialUncertaintySampler(epochs=20, random_state=0)
picked = sampler.query(labeled.X_train, labeled.y_train, X_new, net,
                       n_instances=12)
to_label = [files[i].name for i in picked]
print("send these to the annotators:", to_label)

# %%
# How hard are they for the current model? Compare the model's accuracy on
# the chosen files with its accuracy on all new files (we know the true
# labels here; in practice the annotators provide them). Label ``k`` means
# ``labeled.classes[k]``: the classes are sorted by folder name, so the
# digit names must be mapped to those labels.
truth = np.array([labeled.classes.index(names[d])
                  for d in digits.y_train[incoming]])
predicted = net.predict(X_new)
print(f"accuracy on the chosen files: {np.mean(predicted[picked] == truth[picked]):.2f},"
      f" on all new files: {np.mean(predicted == truth):.2f}")

fig, axes = plt.subplots(2, 6, figsize=(8, 3.4))
for ax, i in zip(axes.ravel(), picked):
    ax.imshow(X_new[i], cmap="gray")
    ax.set_title(f"{files[i].name}\npredicted {labeled.classes[predicted[i]]}",
                 fontsize=7)
    ax.axis("off")
fig.suptitle("The 12 files AALU wants labeled next")
fig.tight_layout()

# %%
# Clean up the temporary folders.
shutil.rmtree(root)
plt.show()
