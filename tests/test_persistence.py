"""Samplers and fitted classifiers survive pickling, across devices."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone

from aalu_sk import AdversarialUncertaintySampler, ImageClassifier, VAALSampler


def test_classifier_saved_for_cuda_loads_on_cpu(split, fitted_net):
    """A net whose device says CUDA unpickles on a CPU-only machine.

    Without a GPU here the weights themselves are CPU tensors; skorch's
    loading path (map to the available device, with a DeviceWarning) is
    what this exercises. On a CUDA machine the ``gpu`` test in
    test_classifier.py trains on the GPU for real.
    """
    if torch.cuda.is_available():
        pytest.skip("the machine has CUDA; nothing to map")
    net = pickle.loads(pickle.dumps(fitted_net))
    net.device = "cuda"
    blob = pickle.dumps(net)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = pickle.loads(blob)
    assert str(loaded.device) == "cpu"
    assert any("cuda" in str(w.message).lower() for w in caught)
    X = split[2][:10]
    np.testing.assert_allclose(loaded.predict_proba(X),
                               fitted_net.predict_proba(X), rtol=1e-6)


def test_selector_networks_are_kept_on_cpu(split, fitted_net):
    s = AdversarialUncertaintySampler(epochs=1, random_state=0,
                                      cold_start=None)
    s.query(split[0], split[1], split[2], fitted_net, 2)
    devices = {p.device.type for m in (s.vae_, s.assistant_)
               for p in m.parameters()}
    assert devices == {"cpu"}
    v = VAALSampler(epochs=1, channels=(4, 8), random_state=0)
    v.query(split[0], split[1], split[2], None, 2)
    assert {p.device.type for p in v.vae_.parameters()} == {"cpu"}
    assert pickle.loads(pickle.dumps(v)).scores_.shape == (len(split[2]),)


def test_state_dict_round_trip_reproduces_predictions(tmp_path, split,
                                                      fitted_net):
    path = tmp_path / "params.pt"
    fitted_net.save_params(f_params=str(path))
    fresh = ImageClassifier("small_cnn", num_classes=10)
    fresh.input_shape_, fresh.n_classes_ = fitted_net.input_shape_, 10
    fresh.initialize()
    fresh.load_params(f_params=str(path))
    X = split[2][:10]
    np.testing.assert_allclose(fresh.predict_proba(X),
                               fitted_net.predict_proba(X), rtol=1e-6)


def test_clone_of_a_queried_sampler_is_unfitted_with_same_params(
        split, fitted_net):
    s = AdversarialUncertaintySampler(epochs=1, beta=2.0, random_state=4)
    s.query(split[0], split[1], split[2], fitted_net, 2)
    c = clone(s)
    assert c.get_params() == s.get_params()
    assert not any(k.endswith("_") for k in vars(c))
