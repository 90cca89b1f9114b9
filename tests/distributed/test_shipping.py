"""Task models whose class lives in the user's script reach Ray workers.

A user's ``nn.Module`` subclass defined in ``__main__`` (a script, a
notebook) cannot be imported by a worker process; the tests run real
scripts as subprocesses, so the class is truly in their ``__main__``.
"""

import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import aalu_sk
from aalu_sk import ImageClassifier
from aalu_sk.distributed.shipping import dumps_for_workers, loads_on_worker

pytest.importorskip("ray")

ROOT = Path(aalu_sk.__file__).resolve().parents[1]

#: Defines ``MLP`` in ``__main__`` and the digits ``X``, ``y``.
PRELUDE = """
import json, logging, pickle, sys
import numpy as np
import torch
from torch import nn
from sklearn.datasets import load_digits

torch.set_num_threads(1)


class MLP(nn.Module):
    def __init__(self, n_hidden=16, num_classes=10):
        super().__init__()
        self.hidden = nn.Sequential(nn.Flatten(), nn.Linear(64, n_hidden),
                                    nn.ReLU())
        self.out = nn.Linear(n_hidden, num_classes)

    def forward(self, x):
        return self.out(self.hidden(x))


digits = load_digits()
X = (digits.images / 16.0).astype(np.float32)[:, None]
y = digits.target.astype(np.int64)
"""

RAY_INIT = """
import ray
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
         logging_level=logging.WARNING)
ray.data.DataContext.get_current().enable_progress_bars = False
"""


def run_script(tmp_path, body, ray=False, timeout=900):
    """Run ``PRELUDE + body`` as ``python script.py``; its last line (JSON).

    With ``ray``, the script starts a local Ray of 2 CPUs first.
    """
    script = tmp_path / "script.py"
    script.write_text(PRELUDE + (RAY_INIT if ray else "") +
                      textwrap.dedent(body))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep
           .join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(script)],
                          capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def load_elsewhere(tmp_path, payload, loader):
    """Unpickle ``payload`` in a fresh process that has no ``MLP``."""
    (tmp_path / "payload.pkl").write_bytes(payload)
    code = textwrap.dedent(f"""
        import sys
        import numpy as np
        from aalu_sk.distributed.shipping import loads_on_worker
        import pickle
        try:
            net = {loader}(open("payload.pkl", "rb").read())
        except AttributeError as exc:
            sys.exit(f"AttributeError: {{exc}}")
        np.save("proba.npy", net.predict_proba(np.load("X.npy")))
        print(type(net.module_).__name__, net.device)
    """)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep
           .join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=120, env=env, cwd=tmp_path)


def test_a_net_with_a_main_module_class_loads_where_the_class_is_unknown(
        tmp_path):
    run_script(tmp_path, """
        from aalu_sk import ImageClassifier
        from aalu_sk.distributed.shipping import dumps_for_workers

        net = ImageClassifier(MLP, num_classes=10, max_epochs=2,
                              random_state=0).fit(X[:100], y[:100])
        np.save("X.npy", X[100:140])
        np.save("proba.npy", net.predict_proba(X[100:140]))
        open("shipped.pkl", "wb").write(dumps_for_workers(net))
        open("plain.pkl", "wb").write(pickle.dumps(net))
        print(json.dumps("ok"))
    """)
    expected = np.load(tmp_path / "proba.npy")
    # skorch's own pickle names the class by reference: the failure users saw
    plain = load_elsewhere(tmp_path, (tmp_path / "plain.pkl").read_bytes(),
                           "pickle.loads")
    assert plain.returncode != 0
    assert "Can't get attribute 'MLP'" in plain.stderr
    shipped = load_elsewhere(tmp_path,
                             (tmp_path / "shipped.pkl").read_bytes(),
                             "loads_on_worker")
    assert shipped.returncode == 0, shipped.stderr[-3000:]
    assert shipped.stdout.split() == ["MLP", "cpu"]
    np.testing.assert_array_equal(np.load(tmp_path / "proba.npy"), expected)


def test_importable_estimators_round_trip(fitted_net, split):
    from sklearn.linear_model import LogisticRegression

    X_l, y_l, X_p = split[0], split[1], split[2]
    model = LogisticRegression(max_iter=200).fit(X_l.reshape(60, -1), y_l)
    back = loads_on_worker(dumps_for_workers(model))
    np.testing.assert_array_equal(back.coef_, model.coef_)
    net = loads_on_worker(dumps_for_workers({"net": fitted_net}))["net"]
    assert type(net) is ImageClassifier and net is not fitted_net
    np.testing.assert_array_equal(net.predict_proba(X_p),
                                  fitted_net.predict_proba(X_p))
    # a net read back on a worker still pickles the ordinary way
    again = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(again.predict_proba(X_p[:5]),
                                  fitted_net.predict_proba(X_p[:5]))


def test_a_net_pickles_after_ray_patched_print(fitted_net, split):
    import builtins

    original = builtins.print
    builtins.print = lambda *a, **k: original(*a, **k)  # as Ray's tqdm does
    try:
        with pytest.raises(pickle.PicklingError):
            pickle.dumps(fitted_net)
        payload = dumps_for_workers(fitted_net)
    finally:
        builtins.print = original
    net = loads_on_worker(payload)
    np.testing.assert_array_equal(net.predict_proba(split[2][:5]),
                                  fitted_net.predict_proba(split[2][:5]))


@pytest.mark.slow
def test_query_with_a_main_module_class_matches_the_local_query(tmp_path):
    out = run_script(tmp_path, ray=True, body="""
        from aalu_sk import EntropySampler, ImageClassifier
        from aalu_sk.distributed import pool_dataset, query

        net = ImageClassifier(MLP, num_classes=10, max_epochs=2,
                              batch_size=40, random_state=0)
        net.fit(X[:60], y[:60])
        X_pool = X[60:220]
        local = EntropySampler(random_state=0).query(X[:60], y[:60], X_pool,
                                                     net, 8)
        ids = query(EntropySampler(random_state=0), net, X[:60], y[:60],
                    pool_dataset(X_pool, rows_per_block=80), 8,
                    num_workers=1)
        print(json.dumps({"local": np.asarray(local).tolist(),
                          "ray": np.asarray(ids).tolist()}))
    """)
    assert len(set(out["local"])) == 8
    assert out["ray"] == out["local"]


@pytest.mark.slow
def test_fit_distributed_with_a_main_module_class(tmp_path):
    out = run_script(tmp_path, ray=True, body="""
        from aalu_sk import ImageClassifier
        from aalu_sk.distributed import fit_distributed

        net = fit_distributed(
            ImageClassifier(MLP, num_classes=10, max_epochs=4, lr=1e-2,
                            batch_size=40, random_state=0),
            X[:200], y[:200], num_workers=2, backend="gloo")
        again = pickle.loads(pickle.dumps(net))
        print(json.dumps({
            "module": type(net.module_).__module__ + "." +
                      type(net.module_).__name__,
            "accuracy": float((net.predict(X[:200]) == y[:200]).mean()),
            "same_after_pickle": bool(np.array_equal(
                again.predict_proba(X[:200]), net.predict_proba(X[:200]))),
            "epochs": len(net.history)}))
    """)
    assert out["module"] == "__main__.MLP"
    assert out["epochs"] == 4
    assert out["accuracy"] > 0.5  # chance: 0.1
    assert out["same_after_pickle"]
