"""The modAL compatibility layer (aalu_sk._compat) on the installed stack.

The matrix venvs of .ci/matrix.sh run these on scikit-learn 1.6 (keyword
accepted: nothing rebound) through 1.9 (keyword removed: modAL's names
rebound), each test checking the branch its scikit-learn calls for.
"""

import importlib.util
import inspect
import sys

import numpy as np
import pandas as pd
import pytest
import sklearn.utils
import sklearn.utils.validation
from modAL.models import ActiveLearner, Committee
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

import aalu_sk.strategies.base as base
from aalu_sk import EntropySampler, ImageClassifier, _compat
from aalu_sk.strategies import make_strategy

pytestmark = pytest.mark.contract

SKLEARN_HAS_OLD_KEYWORD = "force_all_finite" in inspect.signature(
    sklearn.utils.check_X_y).parameters
PANDAS_HAS_APPEND = hasattr(pd.DataFrame, "append")


def _modal_modules_binding(name):
    return {m: mod for m, mod in sys.modules.items()
            if (m == "modAL" or m.startswith("modAL.")) and mod is not None
            and hasattr(mod, name)}


@pytest.fixture
def data():
    """60 samples, classes alternating (every slice of 2+ has both)."""
    rng = np.random.RandomState(0)
    y = np.tile([0, 1], 30)
    X = rng.randn(60, 3)
    X[:, 0] += 4.0 * y
    return X, y


# -- what is rebound, and only there ---------------------------------------------
def test_modal_check_x_y_is_rebound_exactly_when_sklearn_dropped_the_keyword():
    users = _modal_modules_binding("check_X_y")
    assert users, "modAL binds check_X_y in none of its modules"
    for name, module in users.items():
        wrapped = getattr(module.check_X_y, "__aalu_sk_compat__", None)
        if SKLEARN_HAS_OLD_KEYWORD:
            assert wrapped is None, f"{name} rebound on a scikit-learn that " \
                                    f"still accepts force_all_finite"
        else:
            assert wrapped is sklearn.utils.check_X_y, name
            assert _compat.status()[(name, "check_X_y")].startswith(
                "scikit-learn")


def test_scikit_learn_itself_is_never_patched():
    assert sklearn.utils.check_X_y is sklearn.utils.validation.check_X_y
    assert sklearn.utils.check_array is sklearn.utils.validation.check_array
    assert not hasattr(sklearn.utils.check_X_y, "__aalu_sk_compat__")
    assert not hasattr(sklearn.utils.check_array, "__aalu_sk_compat__")
    X, y = np.zeros((2, 1)), np.zeros(2)
    if not SKLEARN_HAS_OLD_KEYWORD:
        # Other callers still get scikit-learn's own answer.
        with pytest.raises(TypeError, match="force_all_finite"):
            sklearn.utils.check_X_y(X, y, force_all_finite=True)


def test_data_vstack_is_rebound_exactly_when_pandas_dropped_append():
    import modAL.utils.data

    wrapped = getattr(modAL.utils.data.data_vstack, "__aalu_sk_compat__",
                      None)
    assert (wrapped is None) == PANDAS_HAS_APPEND
    if wrapped is not None:
        for name, module in _modal_modules_binding("data_vstack").items():
            assert module.data_vstack is modAL.utils.data.data_vstack, name


def test_apply_twice_wraps_once():
    before = _compat.status()
    assert _compat.apply() == before
    import modAL.utils.data

    inner = getattr(modAL.utils.data.data_vstack, "__aalu_sk_compat__", None)
    assert not hasattr(inner, "__aalu_sk_compat__")


# -- the layer is what makes modAL work ---------------------------------------------
@pytest.fixture
def without_layer():
    _compat.undo()
    yield
    _compat.apply()


@pytest.mark.skipif(SKLEARN_HAS_OLD_KEYWORD,
                    reason="this scikit-learn still accepts force_all_finite")
def test_without_the_layer_teach_fails_on_this_scikit_learn(data,
                                                            without_layer):
    X, y = data
    learner = ActiveLearner(LogisticRegression(), X_training=X[:10],
                            y_training=y[:10])
    with pytest.raises(TypeError, match="force_all_finite"):
        learner.teach(X[10:12], y[10:12])


@pytest.mark.skipif(PANDAS_HAS_APPEND, reason="this pandas has DataFrame.append")
def test_without_the_layer_modal_cannot_stack_frames_on_this_pandas(
        without_layer):
    from modAL.utils.data import data_vstack

    frame = pd.DataFrame({"a": [1.0]})
    with pytest.raises(AttributeError, match="append"):
        data_vstack((frame, frame))


# -- modAL's ActiveLearner on the installed stack ------------------------------------
def test_fit_query_teach_score_with_arrays(data):
    X, y = data
    learner = ActiveLearner(LogisticRegression(), X_training=X[:10],
                            y_training=y[:10])
    idx, X_q = learner.query(X[10:], n_instances=3)
    np.testing.assert_array_equal(X_q, X[10:][idx])
    learner.teach(X[10:][idx], y[10:][idx])
    assert learner.X_training.shape == (13, 3)
    np.testing.assert_array_equal(learner.X_training[10:], X[10:][idx])
    assert learner.score(X, y) > 0.8


def test_teach_only_new_fits_on_the_new_samples_only(data):
    X, y = data
    learner = ActiveLearner(LogisticRegression(), X_training=X[:10],
                            y_training=y[:10])
    learner.teach(X[10:50], y[10:50], only_new=True)
    # The model is the one fit on the new 40. (modAL 0.4.1 also adds them
    # to X_training; 0.4.2 does not.)
    modal_042 = base.modal_expects_scores()
    assert learner.X_training.shape == ((10, 3) if modal_042 else (50, 3))
    reference = LogisticRegression().fit(X[10:50], y[10:50])
    np.testing.assert_allclose(learner.estimator.coef_, reference.coef_)


def test_teach_with_bootstrap_fits_a_resample(data):
    X, y = data
    learner = ActiveLearner(LogisticRegression(), X_training=X[:20],
                            y_training=y[:20], bootstrap_init=True)
    learner.teach(X[20:40], y[20:40], bootstrap=True)
    assert learner.X_training.shape == (40, 3)
    full = LogisticRegression().fit(X[:40], y[:40])
    # A bootstrap resample, not the full set: the coefficients differ.
    assert not np.allclose(learner.estimator.coef_, full.coef_)


def test_non_finite_values_are_still_refused(data):
    X, y = data
    learner = ActiveLearner(LogisticRegression(), X_training=X[:10],
                            y_training=y[:10])
    bad = X[10:12].copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        learner.teach(bad, y[10:12])


def test_teach_with_data_frames_appends_rows_in_order(data):
    X, y = data
    frame = pd.DataFrame(X, columns=list("abc"), index=np.arange(100, 160))
    learner = ActiveLearner(LogisticRegression(), X_training=frame.iloc[:10],
                            y_training=y[:10])
    learner.teach(frame.iloc[[30, 12]], y[[30, 12]])
    assert isinstance(learner.X_training, pd.DataFrame)
    assert learner.X_training.index.tolist() == list(range(100, 110)) + \
        [130, 112]
    np.testing.assert_array_equal(learner.X_training.to_numpy(),
                                  X[list(range(10)) + [30, 12]])
    assert list(learner.X_training.columns) == ["a", "b", "c"]
    idx, X_q = learner.query(frame.iloc[40:], n_instances=2)
    assert isinstance(X_q, pd.DataFrame) and X_q.shape == (2, 3)


def test_data_vstack_takes_a_series_as_one_row():
    from modAL.utils.data import data_vstack

    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}, index=[7, 8])
    row = pd.Series({"a": 5.0, "b": 6.0}, name=9)
    stacked = data_vstack((frame, row))
    assert stacked.index.tolist() == [7, 8, 9]
    np.testing.assert_array_equal(stacked.to_numpy(),
                                  [[1, 3], [2, 4], [5, 6]])
    assert (stacked.dtypes == np.float64).all()


def test_data_vstack_other_types_still_go_to_modal():
    import scipy.sparse as sp
    from modAL.utils.data import data_vstack

    np.testing.assert_array_equal(
        data_vstack((np.ones((1, 2)), np.zeros((1, 2)))), [[1, 1], [0, 0]])
    assert data_vstack(([[1, 2]], [[3, 4]])) == [[1, 2], [3, 4]]
    stacked = data_vstack((sp.csr_matrix(np.eye(2)), sp.csr_matrix(np.eye(2))))
    assert sp.issparse(stacked) and stacked.shape == (4, 2)
    with pytest.raises(TypeError, match="not supported"):
        data_vstack(({1: 2}, {3: 4}))


# -- the pieces, on made-up modules ---------------------------------------------------
def _module_from_source(tmp_path, name, source):
    path = tmp_path / f"{name.replace('.', '_')}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


OLD_MODAL = """
from sklearn.utils import check_X_y

def add(X, y, finite=True):
    check_X_y(X, y, accept_sparse=True, ensure_2d=False, allow_nd=True,
              multi_output=True, dtype=None,
              force_all_finite=finite)
"""
FIXED_MODAL = """
from sklearn.utils import check_X_y

def add(X, y, finite=True):
    check_X_y(X, y, ensure_2d=False, ensure_all_finite=finite)
"""


def test_only_modules_passing_the_old_keyword_are_rebound(tmp_path,
                                                          monkeypatch):
    old = _module_from_source(tmp_path, "modAL.zz_old", OLD_MODAL)
    fixed = _module_from_source(tmp_path, "modAL.zz_fixed", FIXED_MODAL)
    monkeypatch.setitem(sys.modules, "modAL.zz_old", old)
    monkeypatch.setitem(sys.modules, "modAL.zz_fixed", fixed)
    # As on a scikit-learn without force_all_finite, whatever is installed.
    monkeypatch.setattr(_compat, "_sklearn_accepts", lambda func, kw: False)
    _compat.undo()
    try:
        applied = _compat.apply()
        assert ("modAL.zz_old", "check_X_y") in applied
        assert ("modAL.zz_fixed", "check_X_y") not in applied
        assert old.check_X_y.__aalu_sk_compat__ is sklearn.utils.check_X_y
        assert fixed.check_X_y is sklearn.utils.check_X_y
        old.add(np.ones((2, 1)), np.ones(2))  # runs on any scikit-learn
    finally:
        _compat.undo()
        monkeypatch.undo()
        _compat.apply()
    assert ("modAL.zz_old", "check_X_y") not in _compat.status()


def test_the_keyword_wrapper_renames_and_nothing_else():
    calls = []

    def check(X, y=None, *, ensure_all_finite=True, dtype="numeric"):
        calls.append((X, y, ensure_all_finite, dtype))

    wrapper = _compat._renaming_wrapper(check)
    wrapper(1, 2, force_all_finite="allow-nan", dtype=None)
    wrapper(3, dtype=None)
    assert calls == [(1, 2, "allow-nan", None), (3, None, True, None)]
    assert wrapper.__name__ == "check"
    with pytest.raises(TypeError, match="both force_all_finite"):
        wrapper(1, force_all_finite=True, ensure_all_finite=False)


def test_the_source_check_reads_multi_line_calls(tmp_path):
    old = _module_from_source(tmp_path, "zz_old_src", OLD_MODAL)
    fixed = _module_from_source(tmp_path, "zz_fixed_src", FIXED_MODAL)
    assert _compat._passes_old_keyword(old)
    assert not _compat._passes_old_keyword(fixed)


def test_no_compat_environment_variable_turns_the_layer_off(monkeypatch):
    _compat.undo()
    try:
        monkeypatch.setenv("AALU_SK_NO_COMPAT", "1")
        assert _compat.apply() == {}
        import modAL.utils.data

        assert not hasattr(modAL.utils.data.data_vstack,
                           "__aalu_sk_compat__")
    finally:
        monkeypatch.delenv("AALU_SK_NO_COMPAT")
        _compat.apply()


# -- printing a learner ------------------------------------------------------------
def _modal_drops_arguments():
    """Whether the installed modAL's own ActiveLearner.__init__ drops any."""
    init = ActiveLearner.__dict__["__init__"]
    original = getattr(init, "__aalu_sk_compat__", init)
    probe = ActiveLearner.__new__(ActiveLearner)
    original(probe, LogisticRegression(), EntropySampler())
    return any(name not in vars(probe)
               for name in ActiveLearner._get_param_names())


def test_learner_init_is_wrapped_exactly_when_modal_drops_arguments():
    wrapped = hasattr(ActiveLearner.__dict__["__init__"],
                      "__aalu_sk_compat__")
    assert wrapped == _modal_drops_arguments()
    assert (("modAL.models.learners", "ActiveLearner.__init__")
            in _compat.status()) == wrapped


def test_without_the_layer_repr_fails_where_modal_drops_arguments():
    _compat.undo()
    try:
        learner = ActiveLearner(estimator=LogisticRegression(),
                                query_strategy=EntropySampler())
        if _modal_drops_arguments():
            with pytest.raises(AttributeError, match="bootstrap_init"):
                repr(learner)
        else:
            assert repr(learner).startswith("ActiveLearner(")
    finally:
        _compat.apply()


@pytest.mark.parametrize("strategy", ["aalu", "margin+div", "badge",
                                      "random"])
def test_repr_of_a_learner_with_our_strategy_and_estimator(digits, strategy):
    X, y = digits
    net = ImageClassifier("mlp", num_classes=10, max_epochs=1,
                          random_state=0, device="cpu")
    bare = ActiveLearner(estimator=net, query_strategy=make_strategy(strategy),
                         bootstrap_init=True)
    text = repr(bare)
    assert text.startswith("ActiveLearner(bootstrap_init=True,")  # as given
    assert "estimator=ImageClassifier(" in text
    cls = type(bare.query_strategy).__name__
    assert f"query_strategy={cls}(" in text
    # With data (scikit-learn elides the long arrays in the middle).
    learner = ActiveLearner(estimator=net, query_strategy=bare.query_strategy,
                            X_training=X[:30], y_training=y[:30],
                            bootstrap_init=True)
    assert repr(learner).startswith("ActiveLearner(X_training=array(")
    params = learner.get_params(deep=False)
    assert params["bootstrap_init"] is True and params["estimator"] is net
    np.testing.assert_array_equal(params["X_training"], X[:30])
    # repr of the modAL-wrapped learner in a committee works too.
    assert "learner_list=[ActiveLearner(" in repr(Committee([learner]))


def test_clone_of_a_learner_keeps_every_argument(data):
    X, y = data
    learner = ActiveLearner(estimator=LogisticRegression(),
                            query_strategy=EntropySampler(random_state=3),
                            X_training=X[:20], y_training=y[:20],
                            bootstrap_init=True)
    twin = clone(learner)
    assert twin is not learner and twin.bootstrap_init is True
    assert twin.query_strategy.get_params() == \
        learner.query_strategy.get_params()
    np.testing.assert_array_equal(twin.X_training, X[:20])
