"""ImageClassifier: a skorch classifier for image arrays.

Beyond skorch's ``NeuralNetClassifier`` it knows image layouts (see
:mod:`aalu_sk.validation`), shuffles and augments training batches with
seeded generators (:mod:`aalu_sk.augmentation`), can train on a label-free
representation (:mod:`aalu_sk.representation`), and gives in
one batched pass what active-learning selectors need: penultimate features,
class probabilities and per-sample losses (:meth:`ImageClassifier.forward_pass`).
"""

import copy
import inspect

import numpy as np
import torch
import torch.nn.functional as F
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback
from skorch.exceptions import NotInitializedError
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._runtime import prefetch, resolve_device, seed_from, seeded
from .augmentation import augment_batch, check_augment
from .features import TaskOutputs
from .modules import TASK_MODULES, EmbeddingHead, RepresentationNet
from .representation.base import (EmbeddingCache, check_representation,
                                  fitted_representation, is_fitted,
                                  is_frozen_head)
from .validation import (array_fingerprint, as_image_tensor, check_images,
                         check_labels, image_shape, to_tensor)

__all__ = ["ImageClassifier", "TaskOutputs", "LossRecorder",
           "INFERENCE_DTYPES"]

#: Values of ``ImageClassifier(inference_dtype=...)``.
INFERENCE_DTYPES = ("auto", "float32", "bfloat16", "float16")
#: Values of ``ImageClassifier(head=...)``.
HEADS = ("linear", "mlp")
# Purposes of the classifier's generators (each gets its own stream).
_STREAMS = {"shuffle": 1, "augment": 2}


class _ImageArrayDataset(torch.utils.data.Dataset):
    """Index an image array and convert one image at a time."""

    def __init__(self, X, y=None):
        self.X, self.y = X, y

    def __len__(self):
        return self.X.shape[0]

    def __getitem__(self, i):
        x = to_tensor(self.X[i:i + 1])[0]
        y = torch.zeros(()) if self.y is None else torch.as_tensor(self.y[i])
        return x, y


class LossRecorder(Callback):
    """Keep each training sample's loss across the epochs of a fit.

    After every epoch the model is evaluated (eval mode, no augmentation)
    on the whole training set, and each sample's cross-entropy is added
    up; at the end of training ``net.training_losses_`` holds the mean
    over epochs. A sample the network learns late, or never, has a high
    mean loss even when the final model fits it perfectly, so the mean is
    a signal of how hard a labeled sample is where the final training
    loss (close to zero for a network that memorises its small labeled
    set) is mostly noise. :class:`ImageClassifier` adds this callback
    itself when ``record_losses=True``.

    Notes
    -----
    This follows the training-dynamics view of Swayamdipta et al.,
    "Dataset Cartography" (EMNLP 2020), who record the model's confidence
    on each training sample at the end of every epoch.
    """

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.X_, self.y_ = X, y
        self.sums_, self.epochs_ = None, 0

    def on_epoch_end(self, net, **kwargs):
        loss = net.forward_pass(self.X_, self.y_).loss.astype(np.float64)
        self.sums_ = loss if self.sums_ is None else self.sums_ + loss
        self.epochs_ += 1

    def on_train_end(self, net, X=None, y=None, **kwargs):
        if self.epochs_:
            net.training_losses_ = (self.sums_ / self.epochs_).astype(
                np.float32)
        self.X_ = self.y_ = None  # do not keep the data alive


class ImageClassifier(NeuralNetClassifier):
    """A skorch neural-net classifier for images, ready for active learning.

    Parameters
    ----------
    module : str, torch.nn.Module class or instance, default="resnet18"
        The task model. ``"resnet18"`` is torchvision's ResNet-18 with the
        small-image stem (:class:`~aalu_sk.modules.CifarResNet18`);
        ``"small_cnn"`` is :class:`~aalu_sk.modules.SmallCNN` for 8x8 to
        28x28 grayscale images; ``"mlp"`` is :class:`~aalu_sk.modules.MLP`,
        a two-layer perceptron on the flattened images. Named modules get
        ``num_classes``, the images' channel count (and, where they take
        it, their size) automatically; a module class gets its arguments
        from ``module__<name>`` parameters. Not used when
        ``representation`` is given (the model is then ``head``).
    num_classes : int or None, default=None
        Number of classes; labels must be ``0..num_classes-1``. Set it in
        active learning, where the first labeled set may miss a class. If
        None, it is ``max(y) + 1`` at fit time.
    criterion : torch criterion class, default=torch.nn.CrossEntropyLoss
        Must take logits, like the default.
    optimizer : torch optimizer class, default=torch.optim.Adam
    lr : float, default=1e-3
    max_epochs : int, default=10
    batch_size : int, default=128
        Used for training and for :meth:`forward_pass`. Training batches
        are reshuffled every epoch (a seeded :class:`torch.Generator`), so
        in an active-learning loop, where each queried batch is appended
        at the end of the labeled set, no epoch ends on the newest batch;
        ``iterator_train__shuffle=False`` restores the fixed order.
    augment : {False, True, "none", "flip", "crop", "crop+flip"}, \
            default=False
        Training-time augmentation (:mod:`aalu_sk.augmentation`), never
        applied at prediction time: ``"flip"`` (or True) flips each image
        horizontally with probability 1/2, the paper's only augmentation;
        ``"crop"`` shifts it by up to ``max(1, size // 8)`` pixels (a
        random crop of the zero-padded image: 4 pixels for 32x32, 1 for
        8x8 digits); ``"crop+flip"`` does both. Off by default: flips are
        wrong for digits, and on 100 labeled 8x8 digits (``small_cnn``,
        40 epochs, batch 32, 3 seeds) the crop cost accuracy (0.934
        without, 0.906 with; see :doc:`/user_guide/representations`).
    feature_layer : str or None, default=None
        Name (as in ``module.named_modules()``) of the layer whose *input*
        is the feature vector. None means the last ``torch.nn.Linear``.
    record_losses : bool, default=False
        Record each training sample's loss after every epoch
        (:class:`LossRecorder`) and keep the mean over epochs in
        ``training_losses_``: the labeled-loss signal that
        :class:`~aalu_sk.AdversarialUncertaintySampler` ranks by default.
        Costs one extra no-grad pass over the training set per epoch.
    representation : transformer or None, default=None
        A label-free embedding (:mod:`aalu_sk.representation`, e.g.
        :class:`~aalu_sk.representation.SelfSupervisedEmbedding`). Fit it
        on the whole unlabeled pool first: an unfitted one is fitted (a
        clone) on the training images of every :meth:`fit`, while a fitted
        one is kept as it is, by :func:`sklearn.base.clone` too (so each
        cycle's fresh model reads the pool's embedding). The model is
        then ``head`` on its embedding, which :meth:`embed` returns.
    finetune : bool, default=False
        With a representation: False trains only the head on cached
        embeddings (fast; ``augment`` must be off); True trains a copy of
        the representation's encoder (``encoder_``) end to end with the
        head.
    head : {"linear", "mlp"}, default="linear"
        With a representation: a linear layer, or one ReLU hidden layer
        (``module__hidden_dim``, default 256) then the linear layer
        (:class:`~aalu_sk.modules.EmbeddingHead`).
    random_state : int or None, default=None
        Seeds weight initialisation, shuffling and augmentation (each
        from its own :class:`torch.Generator`). The global torch RNG is
        left as it was. None uses (and advances) the global RNG.
    inference_dtype : {"auto", "float32", "bfloat16", "float16"}, \
            default="auto"
        Precision of :meth:`forward_pass` (and so of ``predict_proba``,
        ``transform``) on CUDA: with ``"bfloat16"`` or ``"float16"`` the
        model runs under :func:`torch.autocast` with ``channels_last``
        convolutions; ``"auto"`` is ``"bfloat16"`` where the GPU supports
        it, else ``"float16"``; ``"float32"`` switches both off (the
        CPU's exact arithmetic). On the CPU the pass is always float32.
        Outputs are float32 either way; training is not affected.
    device : str, default="auto"
        ``"auto"`` uses CUDA when torch sees it, else the CPU. It is
        replaced by the concrete device when the net is initialised.
    train_split : callable or None, default=None
        skorch's internal validation split; off, because labeled sets in
        active learning are small.
    verbose : int, default=0
        1 prints skorch's per-epoch table.
    **kwargs
        Any other skorch parameter (``module__*``, ``optimizer__*``,
        ``callbacks``, ``iterator_train__*``...).

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained task model.
    n_classes_ : int
    input_shape_ : tuple of int
        ``(C, H, W)`` of the images seen in :meth:`fit`.
    representation_ : transformer
        With a representation: the fitted one the model reads.
    training_losses_ : ndarray of shape (n_samples,)
        With ``record_losses=True``: each training sample's cross-entropy,
        averaged over the epochs of the last :meth:`fit`.
    training_fingerprint_ : str
        With ``record_losses=True``: a digest of the images and labels of
        the last :meth:`fit`, so that ``training_losses_`` is only read
        for the data it was recorded on.

    Notes
    -----
    Accepted image layouts (see :mod:`aalu_sk.validation`): ``(n, H, W)``,
    ``(n, C, H, W)`` and ``(n, H, W, C)``, told apart by the shape (a
    shape that fits both 4-D readings, or neither, is refused); uint8
    images are divided by 255, float ones used as they are.

    Examples
    --------
    >>> import numpy as np
    >>> from aalu_sk import ImageClassifier
    >>> X = np.random.RandomState(0).rand(20, 1, 8, 8).astype("float32")
    >>> y = np.arange(20) % 2
    >>> net = ImageClassifier("small_cnn", num_classes=2, max_epochs=1,
    ...                       random_state=0).fit(X, y)
    >>> out = net.forward_pass(X, y)
    >>> out.features.shape, out.proba.shape, out.loss.shape
    ((20, 128), (20, 2), (20,))
    """

    def __init__(self, module="resnet18", *, num_classes=None,
                 criterion=nn.CrossEntropyLoss, optimizer=torch.optim.Adam,
                 lr=1e-3, max_epochs=10, batch_size=128, augment=False,
                 feature_layer=None, record_losses=False, representation=None,
                 finetune=False, head="linear", random_state=None,
                 inference_dtype="auto", device="auto", train_split=None,
                 verbose=0, **kwargs):
        self.num_classes = num_classes
        self.augment = augment
        self.representation = representation
        self.finetune = finetune
        self.head = head
        self.feature_layer = feature_layer
        self.record_losses = record_losses
        self.random_state = random_state
        self.inference_dtype = inference_dtype
        super().__init__(module, criterion=criterion, optimizer=optimizer,
                         lr=lr, max_epochs=max_epochs, batch_size=batch_size,
                         device=device, train_split=train_split,
                         verbose=verbose, **kwargs)

    # -- skorch override points -------------------------------------------
    def initialize(self):
        self.device = resolve_device(self.device)
        return super().initialize()

    def initialize_module(self):
        kwargs = self.get_params_for("module")
        if self.representation is not None:
            self.module_ = self._representation_module(kwargs)
            return self
        if isinstance(self.module, str):
            if self.module not in TASK_MODULES:
                raise ValueError(
                    f"module={self.module!r} is not a known name; use one of "
                    f"{sorted(TASK_MODULES)} or a torch.nn.Module class or "
                    f"instance.")
            defaults = {}
            if getattr(self, "n_classes_", None) or self.num_classes:
                defaults["num_classes"] = self.num_classes or self.n_classes_
            if getattr(self, "input_shape_", None):
                defaults["in_channels"] = self.input_shape_[0]
                if "image_size" in inspect.signature(
                        TASK_MODULES[self.module]).parameters:
                    defaults["image_size"] = self.input_shape_[1:]
            self.module_ = TASK_MODULES[self.module](**{**defaults, **kwargs})
            return self
        return super().initialize_module()

    def get_default_callbacks(self):
        callbacks = list(super().get_default_callbacks())
        if self.record_losses:
            callbacks.append(("loss_recorder", LossRecorder()))
        return callbacks

    def _representation_module(self, kwargs):
        if self.head not in HEADS:
            raise ValueError(f"head={self.head!r}; use one of {list(HEADS)}.")
        if self.head == "mlp":
            kwargs.setdefault("hidden_dim", 256)
        head = EmbeddingHead(self.embedding_dim_, self.n_classes_, **kwargs)
        if not self.finetune:
            return head
        encoder = getattr(self.representation_, "encoder_", None)
        if not isinstance(encoder, nn.Module):
            raise ValueError(
                f"finetune=True trains the representation's encoder, but "
                f"{type(self.representation_).__name__} has no torch module "
                f"in encoder_; use finetune=False or a representation of "
                f"aalu_sk.representation.")
        return RepresentationNet(copy.deepcopy(encoder).train(), head)

    def _frozen(self):
        return is_frozen_head(self)

    def get_dataset(self, X, y=None):
        if isinstance(X, torch.utils.data.Dataset):
            return X
        X = check_images(X)
        return _ImageArrayDataset(self.embed(X) if self._frozen() else X, y)

    def _generator(self, purpose, device="cpu"):
        """The seeded generator of ``purpose`` on ``device`` (made once per fit)."""
        rngs = self.__dict__.setdefault("_rngs", {})
        key = (purpose, str(device))
        if key not in rngs:
            if "_seed" not in rngs:
                rngs["_seed"] = seed_from(self.random_state) \
                    if self.random_state is not None \
                    else int(torch.randint(2 ** 31 - 1, ()))
            seed = np.random.SeedSequence(
                [rngs["_seed"], _STREAMS[purpose]]).generate_state(1)[0]
            rngs[key] = torch.Generator(device).manual_seed(int(seed))
        return rngs[key]

    def get_iterator(self, dataset, training=False):
        if not training:
            return super().get_iterator(dataset, training)
        kwargs = self.get_params_for("iterator_train")
        kwargs.setdefault("batch_size", self.batch_size)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        if not ({"sampler", "batch_sampler"} & set(kwargs)):
            kwargs.setdefault("shuffle", True)
            if kwargs["shuffle"]:
                kwargs.setdefault("generator", self._generator("shuffle"))
        return self.iterator_train(dataset, **kwargs)

    def train_step_single(self, batch, **fit_params):
        augment = check_augment(self.augment)
        if augment != "none" and not self._frozen():
            Xi, yi = batch
            Xi = augment_batch(Xi, augment,
                               self._generator("augment", Xi.device))
            batch = (Xi, yi)
        return super().train_step_single(batch, **fit_params)

    #: Attributes left out of a pickle (not picklable, or large and
    #: rebuilt on demand); all that :meth:`__getstate__` changes, which
    #: :mod:`aalu_sk.distributed.shipping` relies on.
    _transient_attributes = ("_rngs", "_embedding_cache")

    def __getstate__(self):
        state = super().__getstate__()
        for name in self._transient_attributes:
            state.pop(name, None)
        return state

    def __sklearn_clone__(self):
        """:func:`sklearn.base.clone`, sharing a fitted ``representation``.

        A representation is fitted once, without labels, on the pool, and
        the classifier only reads it (``transform``). So a clone (the fresh
        model of each active-learning cycle, a cross-validation fold) keeps
        the same fitted one: an unfitted copy would be fitted on the
        clone's labeled training images alone. Every other parameter, and
        an unfitted representation, is cloned as usual.
        """
        params = {name: value if name == "representation"
                  and value is not None and is_fitted(value)
                  else clone(value, safe=False)
                  for name, value in self.get_params(deep=False).items()}
        return type(self)(**params)

    def __sklearn_tags__(self):
        from sklearn.utils import TransformerTags

        tags = super().__sklearn_tags__()
        # ``transform`` gives penultimate features, so it is a transformer too.
        tags.transformer_tags = TransformerTags(preserves_dtype=["float32"])
        tags.input_tags.three_d_array = True
        return tags

    @property
    def classes_(self):
        n = self.num_classes or getattr(self, "n_classes_", None)
        if n is None:
            raise AttributeError("classes_ is set by fit; the classifier is "
                                 "not fitted yet.")
        return np.arange(n)

    # -- sklearn API ---------------------------------------------------------
    def fit(self, X, y, **fit_params):
        """Train the task model from scratch on images ``X`` and labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, C, H, W), (n_samples, H, W) or \
                (n_samples, H, W, C)
        y : array-like of shape (n_samples,)
            Integer labels ``0..num_classes-1``.
        **fit_params
            Passed to skorch's ``fit``.

        Returns
        -------
        self : ImageClassifier
        """
        X = check_images(X)
        y = check_labels(y, X.shape[0], n_classes=self.num_classes)
        augment = check_augment(self.augment)
        self.input_shape_ = image_shape(X)
        self.n_classes_ = self.num_classes or int(y.max()) + 1
        for name in ("training_losses_", "training_fingerprint_"):
            self.__dict__.pop(name, None)
        self._rngs = {}
        seed = None if self.random_state is None else seed_from(self.random_state)
        if seed is not None:
            self._rngs["_seed"] = seed
        if self.representation is not None:
            if self._frozen() and augment != "none":
                raise ValueError(
                    f"augment={self.augment!r} changes the images, but with "
                    f"a frozen representation the head trains on cached "
                    f"embeddings; use augment=False or finetune=True.")
            self._set_representation(
                fitted_representation(self.representation, X))
            self.embedding_dim_ = int(self.embed(X[:1]).shape[1])
        with seeded(seed, resolve_device(self.device)):
            super().fit(X, y, **fit_params)
        if self.record_losses:
            self.training_fingerprint_ = array_fingerprint(X, y)
        return self

    def _set_representation(self, representation):
        if getattr(self, "representation_", None) is not representation:
            self.representation_ = representation
            self._embedding_cache = EmbeddingCache(representation,
                                                   shared=True)

    def embed(self, X):
        """The representation's label-free embedding of images ``X``.

        Cached image by image
        (:class:`~aalu_sk.representation.EmbeddingCache`, shared by every
        classifier on the same fitted representation, clones included), so
        a pool embedded once is not embedded again in later fits and
        queries.
        Works before :meth:`fit` when the ``representation`` passed in is
        already fitted (e.g. to choose the first images to label). With ``finetune=True`` it is still the
        representation's embedding, not the fine-tuned encoder's.

        Parameters
        ----------
        X : array-like of images

        Returns
        -------
        Z : ndarray of shape (n_samples, d), float32
        """
        if self.representation is None:
            raise ValueError(
                "embed needs a representation; this classifier has "
                "representation=None (use transform for the task model's "
                "features).")
        if getattr(self, "representation_", None) is None:
            check_representation(self.representation)
            try:
                check_is_fitted(self.representation)
            except NotFittedError:
                raise NotFittedError(
                    "The representation is not fitted: fit it on the "
                    "unlabeled pool first (representation.fit(X_pool)), or "
                    "fit the classifier.") from None
            self._set_representation(self.representation)
        if getattr(self, "_embedding_cache", None) is None:  # unpickled
            self._embedding_cache = EmbeddingCache(self.representation_,
                                                   shared=True)
        return self._embedding_cache.transform(X)

    def predict_proba(self, X):
        """Class probabilities, shape ``(n_samples, n_classes)``."""
        return self.forward_pass(X).proba

    def transform(self, X):
        """Penultimate features (input of the final linear layer)."""
        return self.forward_pass(X).features

    def per_sample_loss(self, X, y):
        """Cross-entropy of each sample on its label, shape ``(n_samples,)``."""
        return self.forward_pass(X, y).loss

    def _feature_module(self):
        if self.feature_layer is not None:
            modules = dict(self.module_.named_modules())
            if self.feature_layer not in modules:
                raise ValueError(
                    f"feature_layer={self.feature_layer!r} is not a layer of "
                    f"the module; some names: {list(modules)[1:8]}.")
            return modules[self.feature_layer]
        linears = [m for m in self.module_.modules() if isinstance(m, nn.Linear)]
        if not linears:
            raise ValueError(
                "The module has no torch.nn.Linear layer to read features "
                "from; set feature_layer to the name of the layer whose "
                "input is the feature vector.")
        return linears[-1]

    def _inference_settings(self, device):
        """The autocast dtype (None: float32) and memory format of a pass."""
        if self.inference_dtype not in INFERENCE_DTYPES:
            raise ValueError(
                f"inference_dtype={self.inference_dtype!r}; use one of "
                f"{list(INFERENCE_DTYPES)}.")
        if device.type != "cuda" or self.inference_dtype == "float32":
            return None, torch.contiguous_format
        if self.inference_dtype == "auto":
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() \
                else torch.float16
        else:
            dtype = getattr(torch, self.inference_dtype)
        return dtype, torch.channels_last

    def _batches(self, X, y, cuda):
        """``(start, stop, images, labels)`` of each batch, as CPU tensors.

        For the CPU the images are converted here (in the loading thread);
        for CUDA they stay as stored (``uint8`` is 4x smaller), pinned for
        an asynchronous copy, and are converted on the GPU.
        """
        for start in range(0, X.shape[0], self.batch_size):
            stop = min(start + self.batch_size, X.shape[0])
            yb = None if y is None else torch.as_tensor(y[start:stop])
            if cuda:
                xb = torch.from_numpy(np.ascontiguousarray(
                    X[start:stop])).pin_memory()
                yb = None if yb is None else yb.pin_memory()
            else:
                xb = to_tensor(X[start:stop])
            yield start, stop, xb, yb

    def forward_pass(self, X, y=None):
        """One batched, no-grad, eval-mode pass: features, probabilities, losses.

        Memory is bounded by ``batch_size`` images at a time (plus the
        outputs), so ``X`` may be a large memory-mapped array. A thread
        reads and converts the next batches while the model runs on this
        one; on CUDA the batches are pinned and copied asynchronously, and
        the model runs in ``inference_dtype`` with ``channels_last``
        convolutions.

        Parameters
        ----------
        X : array-like of images
        y : array-like of shape (n_samples,) or None, default=None
            Labels; when given, per-sample cross-entropy is returned too.

        Returns
        -------
        outputs : TaskOutputs
            ``(features, proba, loss)``; ``loss`` is None without ``y``.
        """
        if getattr(self, "input_shape_", None) is None:
            raise NotInitializedError(
                f"This {type(self).__name__} is not fitted yet; call fit "
                f"before forward_pass, predict or transform.")
        X = check_images(X)
        if image_shape(X) != self.input_shape_:
            raise ValueError(
                f"X holds images of shape {image_shape(X)} (C, H, W) but the "
                f"classifier was fitted on {self.input_shape_}.")
        if y is not None:
            y = check_labels(y, X.shape[0], n_classes=self.n_classes_)
        if self._frozen():
            X = self.embed(X)
        device = torch.device(self.device)
        cuda = device.type == "cuda"
        dtype, memory_format = self._inference_settings(device)
        captured = []
        hook = self._feature_module().register_forward_pre_hook(
            lambda module, args: captured.append(args[0]))
        n = X.shape[0]
        features = proba = None
        loss = None if y is None else np.empty(n, np.float32)
        batches = self._batches(X, y, cuda)
        if n > self.batch_size:  # overlap loading with compute
            batches = prefetch(batches)
        self.module_.eval()
        if memory_format is torch.channels_last:
            self.module_.to(memory_format=memory_format)
        try:
            with torch.no_grad(), torch.autocast(
                    device.type, dtype=dtype, enabled=dtype is not None):
                for start, stop, xb, yb in batches:
                    if cuda:
                        xb = as_image_tensor(xb.to(device, non_blocking=True))
                    if xb.ndim == 4:
                        xb = xb.contiguous(memory_format=memory_format)
                    logits = self.module_(xb).float()
                    feats = captured.pop().flatten(1).float()
                    if features is None:  # sizes are known after one batch
                        features = np.empty((n, feats.shape[1]), np.float32)
                        proba = np.empty((n, logits.shape[1]), np.float32)
                    features[start:stop] = feats.cpu().numpy()
                    proba[start:stop] = F.softmax(logits, dim=1).cpu().numpy()
                    if y is not None:
                        loss[start:stop] = F.cross_entropy(
                            logits, yb.to(device, non_blocking=cuda),
                            reduction="none").cpu().numpy()
        finally:
            hook.remove()
            if memory_format is torch.channels_last:
                self.module_.to(memory_format=torch.contiguous_format)
            if hasattr(batches, "close"):
                batches.close()
        return TaskOutputs(features, proba, loss)
