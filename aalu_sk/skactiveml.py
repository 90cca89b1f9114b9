"""AALU and every baseline as scikit-activeml pool query strategies.

`scikit-activeml <https://github.com/scikit-activeml/scikit-activeml>`_
asks a strategy for ``query(X, y, clf, ...)`` over the *whole* data set,
the unlabeled samples marked in ``y`` by ``missing_label`` (``np.nan`` by
default). This module builds, for every query strategy exported by
:mod:`aalu_sk.strategies`, a class of the same name that follows that
contract (``SingleAnnotatorPoolQueryStrategy``), with the same constructor
parameters plus scikit-activeml's ``missing_label`` and
``clf_embedding_flag_name``::

    from aalu_sk.skactiveml import AdversarialUncertaintySampler
    qs = AdversarialUncertaintySampler(random_state=0)
    query_idx = qs.query(X, y, clf=clf, batch_size=32)   # y: NaN = unlabeled

``clf`` is a scikit-activeml classifier (``SkorchClassifier``,
``SklearnClassifier``, ...) or an :class:`aalu_sk.ImageClassifier`; with
``fit_clf=True`` (the default) a clone of it is fit on the labeled samples
first, and the given ``clf`` is left as it was. Utilities (``return_utilities=True``) are
the strategy's ``scores_`` turned so that larger means "query" (VAAL's are
negated), of shape ``(batch_size, n_samples)`` with NaN for samples that
are not candidates and, in row ``i``, for the ``i`` samples picked before.
For strategies that do not simply take the best scores (core-set and
BADGE, or a ``diversity`` rule), row ``i`` shows the scores before the
batch, so its maximum need not be pick ``i``.

A strategy class added to :mod:`aalu_sk.strategies` appears here without
changes; :func:`make_skactiveml_strategy` wraps a strategy class of your own.
Importing this module needs scikit-activeml (``pip install
"aalu_sk[skactiveml]"``); ``import aalu_sk`` does not.
"""

import inspect

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone

try:
    from skactiveml.base import (SingleAnnotatorPoolQueryStrategy,
                                 SkactivemlClassifier)
    from skactiveml.utils import (MISSING_LABEL, check_equal_missing_label,
                                  check_type, is_labeled)
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "aalu_sk.skactiveml needs scikit-activeml: pip install "
        "'aalu_sk[skactiveml]' (or 'scikit-activeml>=1.0').") from exc

from . import strategies as _strategies
from .classifier import ImageClassifier
from .strategies.base import BaseQueryStrategy

__all__ = ["make_skactiveml_strategy"]

_ADAPTER_PARAMS = ("clf_embedding_flag_name", "missing_label")


class _TaskModelView(ClassifierMixin, BaseEstimator):
    """What aalu_sk's strategies read, from a fitted scikit-activeml model.

    ``predict_proba`` gives probabilities; with an embedding flag,
    ``transform`` gives the classifier's embeddings (one forward pass for
    both: the last input's outputs are kept).
    """

    def __init__(self, clf, embedding_kwargs=None):
        self.clf = clf
        self.classes_ = np.asarray(clf.classes_)
        self.embedding_kwargs = embedding_kwargs
        self._last = (None, None)

    def _outputs(self, X):
        if self._last[0] is not X:
            if self.embedding_kwargs is None:
                out = (self.clf.predict_proba(X), None)
            else:
                out = self.clf.predict_proba(X, **self.embedding_kwargs)
                if not isinstance(out, tuple) or len(out) != 2:
                    raise TypeError(
                        f"clf.predict_proba(X, **{self.embedding_kwargs!r}) "
                        f"must return (proba, embeddings); got "
                        f"{type(out).__name__}. Check "
                        f"clf_embedding_flag_name.")
            self._last = (X, tuple(np.asarray(o) if o is not None else None
                                   for o in out))
        return self._last[1]

    def fit(self, X, y):
        self.clf.fit(X, y)
        self.classes_ = np.asarray(self.clf.classes_)
        self._last = (None, None)
        return self

    def __sklearn_is_fitted__(self):
        return True

    def predict_proba(self, X):
        return self._outputs(X)[0]


class _EmbeddingView(_TaskModelView):
    def transform(self, X):
        return self._outputs(X)[1]


def _embedding_kwargs(flag):
    if flag is None:
        return None
    if isinstance(flag, str):
        return {flag: True}
    if isinstance(flag, dict):
        return dict(flag)
    raise TypeError(
        f"clf_embedding_flag_name={flag!r}: give None, the name of a "
        f"boolean predict_proba keyword (str) or predict_proba keywords "
        f"(dict), e.g. {{'extra_outputs': 'emb'}} for a SkorchClassifier.")


def _integer_labels(y, name="y"):
    """Labels as int64 for an ImageClassifier, refusing anything else."""
    try:
        as_int = np.asarray(y).astype(np.int64)
        same = np.array_equal(as_int, np.asarray(y).astype(np.float64))
    except (TypeError, ValueError):
        same = False
    if not same:
        raise ValueError(
            f"An ImageClassifier needs integer labels 0..num_classes-1; the "
            f"labeled part of {name} holds {np.unique(y)[:10]!r}. Use a "
            f"scikit-activeml classifier for other labels.")
    return as_int


class _SkactivemlAdapter(SingleAnnotatorPoolQueryStrategy):
    """Shared ``query`` of the generated classes (see the module docstring).

    After a query, ``strategy_`` is the wrapped strategy that ran it (its
    ``scores_``, ``query_time_`` and, for AALU and VAAL, trained networks).
    """

    #: The wrapped :class:`~aalu_sk.strategies.BaseQueryStrategy` subclass.
    strategy_class = None

    def _strategy(self):
        params = {name: getattr(self, name)
                  for name in self.strategy_class._get_param_names()}
        params["random_state"] = self.random_state_
        return self.strategy_class(**params)

    def _check_clf(self, clf):
        if isinstance(clf, ImageClassifier):
            return clf
        check_type(clf, "clf", SkactivemlClassifier, ImageClassifier)
        check_equal_missing_label(clf.missing_label, self.missing_label_)
        return clf

    def _fitted(self, clf, X, y, labeled, strategy):
        if isinstance(clf, ImageClassifier):
            if not labeled.any():
                raise ValueError(
                    "fit_clf=True with an ImageClassifier needs labeled "
                    "samples; every label in y is missing_label.")
            model = clone(clf)
            if strategy.reads_training_losses():
                model.set_params(record_losses=True)
            return model.fit(X[labeled], _integer_labels(y[labeled]))
        return clone(clf).fit(X, y)

    def _task_model(self, clf):
        if isinstance(clf, ImageClassifier):
            return clf
        kwargs = _embedding_kwargs(self.clf_embedding_flag_name)
        view = _TaskModelView if kwargs is None else _EmbeddingView
        return view(clf, kwargs)

    def query(self, X, y, clf=None, fit_clf=True, candidates=None,
              batch_size=1, return_utilities=False):
        """Choose the samples of ``X`` whose labels to ask for next.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            All samples, labeled and unlabeled (images as for
            :class:`~aalu_sk.ImageClassifier`, or feature rows).
        y : array-like of shape (n_samples,)
            Labels, ``missing_label`` for the unlabeled samples.
        clf : SkactivemlClassifier, ImageClassifier or None, default=None
            The task model; needed unless the strategy reads no model
            (random, VAAL, TypiClust, ProbCover; the last two embed with
            ``clf``'s representation if it has one, see
            :mod:`aalu_sk.strategies.lowbudget`).
        fit_clf : bool, default=True
            Fit a clone of ``clf`` on the labeled samples first; if False,
            ``clf`` must be fitted.
        candidates : None, array-like of int of shape (n_candidates,) or \
array-like of shape (n_candidates, ...), default=None
            None: the unlabeled samples of ``X``; integers: those
            positions of ``X``; samples: these, outside ``X``.
        batch_size : int, default=1
            How many samples to choose (fewer, with a warning, when there
            are fewer candidates).
        return_utilities : bool, default=False
            Also return the utilities.

        Returns
        -------
        query_indices : ndarray of shape (batch_size,)
            Positions in ``X`` (or in ``candidates`` when samples were
            given), most useful first.
        utilities : ndarray of shape (batch_size, n_samples) or \
(batch_size, n_candidates)
            Only with ``return_utilities=True``: larger means "query";
            NaN for non-candidates and for the earlier picks of the batch.
        """
        X, y, candidates, batch_size, return_utilities = self._validate_data(
            X, y, candidates, batch_size, return_utilities, reset=True)
        X_cand, mapping = self._transform_candidates(candidates, X, y)
        check_type(fit_clf, "fit_clf", bool)
        strategy = self._strategy()
        if clf is not None or strategy.needs_estimator:
            if clf is None:
                raise TypeError(
                    f"{type(self).__name__} reads the task model: pass clf "
                    f"(a scikit-activeml classifier or an ImageClassifier).")
            clf = self._check_clf(clf)
        labeled = is_labeled(y, self.missing_label_)
        columns = np.arange(len(X_cand)) if mapping is None else \
            np.asarray(mapping)
        n_columns = len(X_cand) if mapping is None else len(X)
        if batch_size == 0:
            indices = np.zeros(0, dtype=int)
            utilities = np.zeros((0, n_columns))
            return (indices, utilities) if return_utilities else indices
        # A strategy that reads no task model still gets ``clf`` as it is
        # (unfitted): the low-budget ones embed with its representation,
        # if it has one (``clf.representation`` and ``clf.embed``).
        estimator = clf
        if strategy.needs_estimator:
            if fit_clf:
                clf = self._fitted(clf, X, y, labeled, strategy)
            estimator = self._task_model(clf)
        y_labeled = y[labeled]
        if isinstance(clf, ImageClassifier):
            y_labeled = _integer_labels(y_labeled)
        picked = strategy.query(X[labeled], y_labeled, X_cand, estimator,
                                batch_size)
        self.strategy_ = strategy
        query_indices = columns[picked]
        if not return_utilities:
            return query_indices
        scores = np.asarray(strategy.scores_, dtype=np.float64)
        row = np.full(n_columns, np.nan)
        row[columns] = -scores if strategy.lower_scores_first else scores
        utilities = np.repeat(row[None], batch_size, axis=0)
        for i in range(1, batch_size):
            utilities[i, query_indices[:i]] = np.nan
        return query_indices, utilities


def _numpydoc_section(doc, title):
    """The body lines of section ``title`` of a numpydoc docstring."""
    lines = inspect.cleandoc(doc or "").splitlines()
    for i in range(len(lines) - 1):
        if lines[i].strip() == title and set(lines[i + 1].strip()) == {"-"}:
            body = []
            for j in range(i + 2, len(lines)):
                if j + 1 < len(lines) and lines[j + 1].strip() and \
                        set(lines[j + 1].strip()) == {"-"} and \
                        not lines[j].startswith(" "):
                    break
                body.append(lines[j])
            while body and not body[-1].strip():
                body.pop()
            return body
    return []


def _docstring(cls):
    import aalu_sk

    name = cls.__name__
    where = f"aalu_sk.{name}" if getattr(aalu_sk, name, None) is cls else \
        f"{cls.__module__}.{cls.__qualname__}"
    summary = inspect.cleandoc(cls.__doc__ or "").splitlines()[:1]
    params = _numpydoc_section(cls.__doc__, "Parameters")
    lines = [
        f"{name} as a scikit-activeml pool query strategy.",
        "",
        f"Wraps :class:`{where}`"
        + (f" ({summary[0].rstrip('.')})" if summary else "")
        + " in scikit-activeml's ``SingleAnnotatorPoolQueryStrategy`` "
        "contract: ``query(X, y, clf, ...)`` on the whole data set, "
        "unlabeled samples marked by ``missing_label``. See "
        ":mod:`aalu_sk.skactiveml`.",
        "",
        "Parameters",
        "----------",
        *params,
        "clf_embedding_flag_name : str, dict or None, default=None",
        "    How to get embeddings (used as features) from a "
        "scikit-activeml ``clf``,",
        "    as in scikit-activeml's BADGE: None uses ``predict_proba`` "
        "only (features",
        "    are the flattened input); a str ``s`` calls "
        "``predict_proba(X, s=True)``; a",
        "    dict ``d`` calls ``predict_proba(X, **d)`` (e.g. "
        "``{'extra_outputs': 'emb'}``",
        "    for a ``SkorchClassifier``), which must return "
        "``(proba, embeddings)``.",
        "    Not used with an :class:`~aalu_sk.ImageClassifier`, which "
        "gives its own",
        "    penultimate features.",
        "missing_label : scalar, str, np.nan or None, default=np.nan",
        "    The value that marks an unlabeled sample in ``y``.",
        "",
        "See Also",
        "--------",
        f"{where} : The strategy itself, for modAL and plain arrays.",
    ]
    return "\n".join(lines)


def make_skactiveml_strategy(strategy_class):
    """Build the scikit-activeml strategy class that wraps ``strategy_class``.

    Parameters
    ----------
    strategy_class : type
        A subclass of :class:`~aalu_sk.strategies.BaseQueryStrategy`.

    Returns
    -------
    adapter_class : type
        A ``SingleAnnotatorPoolQueryStrategy`` of the same name whose
        constructor takes ``strategy_class``'s parameters (same defaults)
        plus ``clf_embedding_flag_name=None`` and
        ``missing_label=np.nan``.

    Examples
    --------
    >>> from aalu_sk.skactiveml import make_skactiveml_strategy
    >>> from aalu_sk import EntropySampler
    >>> Entropy = make_skactiveml_strategy(EntropySampler)
    >>> sorted(Entropy(random_state=0).get_params())
    ['clf_embedding_flag_name', 'diversity', 'missing_label', 'random_state']
    """
    if not (isinstance(strategy_class, type) and
            issubclass(strategy_class, BaseQueryStrategy)) or \
            strategy_class is BaseQueryStrategy:
        raise TypeError(
            f"strategy_class must be a subclass of BaseQueryStrategy; got "
            f"{strategy_class!r}.")
    own = inspect.signature(strategy_class.__init__).parameters
    clash = [p for p in _ADAPTER_PARAMS if p in own]
    if clash:
        raise TypeError(f"{strategy_class.__name__} already has the "
                        f"parameters {clash} that the adapter adds.")
    params = [p.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD)
              for n, p in own.items() if n != "self"]
    params += [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                 default=d) for n, d in
               zip(_ADAPTER_PARAMS, (None, MISSING_LABEL))]
    signature = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + params)

    def __init__(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        for key, value in list(bound.arguments.items())[1:]:
            setattr(self, key, value)

    __init__.__signature__ = signature
    __init__.__doc__ = "Store the parameters (see the class docstring)."
    return type(strategy_class.__name__, (_SkactivemlAdapter,), {
        "__init__": __init__,
        "__doc__": _docstring(strategy_class),
        "__module__": __name__,
        "__qualname__": strategy_class.__name__,
        "strategy_class": strategy_class,
    })


def _wrap_exported_strategies():
    names = []
    for name in _strategies.__all__:
        obj = getattr(_strategies, name)
        if isinstance(obj, type) and issubclass(obj, BaseQueryStrategy) and \
                obj is not BaseQueryStrategy:
            globals()[name] = make_skactiveml_strategy(obj)
            names.append(name)
    return names


#: Names of the generated classes, one per strategy of aalu_sk.strategies.
STRATEGY_NAMES = tuple(_wrap_exported_strategies())
__all__ += list(STRATEGY_NAMES) + ["STRATEGY_NAMES"]
