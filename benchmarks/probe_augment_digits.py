"""Augmentation on 100 labeled digits: small_cnn, 3 seeds, "none" vs "crop".

Numbers in docs/user_guide/representations.rst and ImageClassifier's
docstring. Run from the repository root:

    OMP_NUM_THREADS=1 python benchmarks/probe_augment_digits.py 40
"""
import sys
import time

import numpy as np
import torch
from sklearn.datasets import load_digits

from aalu_sk import ImageClassifier

torch.set_num_threads(1)
d = load_digits()
X = (d.images / 16).astype(np.float32)[:, None]
y = d.target
epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 40
for augment in ["none", "crop"]:
    accs = []
    for seed in range(3):
        idx = np.random.RandomState(seed).permutation(len(X))
        lab, test = idx[:100], idx[100:]
        t = time.time()
        net = ImageClassifier("small_cnn", num_classes=10, max_epochs=epochs, batch_size=32, augment=augment, random_state=seed).fit(X[lab], y[lab])
        accs.append(float((net.predict(X[test]) == y[test]).mean()))
    print(augment, epochs, np.round(accs, 3), round(float(np.mean(accs)), 3), flush=True)
