"""The ``aalu-sk label`` command: open a project, bind, print, serve.

:func:`add_label_parser` adds the subcommand to ``aalu-sk``'s parser;
:func:`run_label` runs it with the parsed arguments. The web stack
(FastAPI, uvicorn) is imported only in :func:`run_label` and in
:mod:`aalu_sk.labeling.app`/:mod:`aalu_sk.labeling.server`, when the
command runs.
"""

import functools
import logging
import sys
from pathlib import Path

from ..experiment import STRATEGIES
from ..modules import TASK_MODULES
from ._options import (add_output_options, device, fail, option_type,
                       port, positive_int, representation_name,
                       representation_with_weights, seed, share,
                       strategy_name)

__all__ = ["add_label_parser", "run_label", "LABEL_DEMO_DIR"]

#: Where ``aalu-sk label --demo`` writes its digits and store.
LABEL_DEMO_DIR = Path("runs") / "label-demo"


@option_type
def _class_list(text):
    from ..labeling import check_class_names

    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise ValueError(f"give class names separated by commas, such as "
                         f"cat,dog; got {text!r}")
    return check_class_names(names, "class names")


def _audit_share(text):
    return share(text, zero=True, one=False)


def add_label_parser(commands):
    """Add the ``label`` subcommand to ``aalu-sk``'s subparsers."""
    label = commands.add_parser(
        "label", help="label a folder of images in your browser",
        description="Index IMAGE_DIR (PNG, JPEG, BMP, GIF, TIFF, WebP, "
                    "recursively), "
                    "start a local labeling app and print its URL with an "
                    "access token. A model retrains after each batch and "
                    "the strategy picks the next one. Labels live in a "
                    "SQLite store; running the same command again resumes.")
    label.add_argument("image_dir", nargs="?", metavar="IMAGE_DIR",
                       help="folder of images (not needed with --demo)")
    label.add_argument("--classes", type=_class_list, default=None,
                       metavar="A,B,...",
                       help="class names, comma-separated; new names are "
                            "added to a resumed store's classes")
    label.add_argument("--store", default=None, metavar="FILE",
                       help="SQLite store (default: "
                            "$XDG_DATA_HOME/aalu_sk/labeling/<folder>-<hash>"
                            ".sqlite, ~/.local/share when XDG_DATA_HOME is "
                            "unset; never inside IMAGE_DIR)")
    label.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default: %(default)s; "
                            "0.0.0.0 exposes the app to your network)")
    label.add_argument("--port", type=port, default=8765,
                       help="port (default: %(default)s; 0 picks a free one)")
    label.add_argument("--batch-size", type=positive_int, default=20,
                       help="images per batch (default: %(default)s)")
    label.add_argument("--prefetch", type=share, default=0.5,
                       metavar="SHARE",
                       help="start choosing the next batch when this share "
                            "of the current one is answered; 1 waits for "
                            "all of it (default: %(default)s)")
    label.add_argument("--random-share", type=_audit_share, default=0.1,
                       metavar="SHARE",
                       help="share of each batch drawn uniformly at random "
                            "and kept out of training, for an unbiased "
                            "accuracy estimate; 0 turns it off (default: "
                            "%(default)s)")
    label.add_argument("--strategy", type=strategy_name, default="aalu",
                       metavar="NAME",
                       help=f"query strategy, of {','.join(STRATEGIES)}, "
                            f"optionally with +div or +topk (default: "
                            f"%(default)s)")
    label.add_argument("--representation", type=representation_name,
                       default="pixels", metavar="NAME",
                       help="label-free embedding of the whole folder, "
                            "fitted once and cached beside the store (fitted "
                            "again when the folder's images change): the "
                            "first batch covers it and the model is a linear "
                            "head on it, retrained in about a second. pixels: "
                            "PCA of the pixels, under a second to fit; ssl: "
                            "SimCLR on the folder (the `ssl` extra), a minute "
                            "or more on a CPU the first time, the best model "
                            "on the demo digits; pretrained:SOURCE:MODEL: a "
                            "torchvision or timm backbone with local weights "
                            "(see --representation-weights); none: 8x8 "
                            "thumbnails for the first batch and --model "
                            "trained from scratch. Default: %(default)s, "
                            "the cheap one: on the demo digits its model was "
                            "right on 0.80 of the images after the first "
                            "batch, against 0.65 for none and 0.87 for ssl "
                            "(after a 55 s fit); see the labeling page of "
                            "the documentation")
    label.add_argument("--representation-weights", default=None,
                       metavar="FILE",
                       help="state-dict file (.pth, .pt, .safetensors) for "
                            "--representation pretrained:SOURCE:MODEL; by "
                            "default the weights of the local torch or "
                            "Hugging Face cache (nothing is downloaded)")
    label.add_argument("--model", choices=sorted(TASK_MODULES),
                       default="small_cnn",
                       help="task model with --representation none "
                            "(default: %(default)s)")
    label.add_argument("--image-size", type=positive_int, default=32,
                       help="side images are resized to for the model "
                            "(default: %(default)s)")
    label.add_argument("--epochs", type=positive_int, default=None,
                       help="task-model epochs per cycle (default: about "
                            "150 optimiser steps)")
    label.add_argument("--selector-epochs", type=positive_int, default=20,
                       help="AALU and VAAL epochs (default: %(default)s)")
    label.add_argument("--device", type=device, default="auto",
                       help="auto, cpu, cuda or cuda:N (default: auto)")
    label.add_argument("--seed", type=seed, default=0,
                       help="seeds the cold start, models and strategy "
                            "(default: %(default)s)")
    label.add_argument("--follow-symlinks", action="store_true",
                       help="also index and serve files whose real path is "
                            "outside IMAGE_DIR (symbolic links); by default "
                            "they are listed as skipped")
    label.add_argument("--no-browser", action="store_true",
                       help="do not open a browser")
    label.add_argument("--demo", action="store_true",
                       help=f"write scikit-learn's digits as PNG files to "
                            f"{LABEL_DEMO_DIR / 'digits'} (once) and label "
                            f"them with classes 0-9; the store is "
                            f"{LABEL_DEMO_DIR / 'labels.sqlite'}")
    add_output_options(label)
    label.set_defaults(func=run_label)
    return label


def run_label(args, error=None):
    """Run ``aalu-sk label`` with parsed ``args``; return the exit status.

    ``error(option, message)`` returns the :class:`SystemExit` to raise for
    a bad option; by default the one every subcommand raises
    (:func:`aalu_sk._cliparser.option_error` with the ``label`` parser).
    """
    if error is None:
        error = functools.partial(fail, "label")
    try:
        from ..labeling import (LabelingProject, StoreError, default_store_path,
                       write_digits_folder)
        from ..labeling.server import PUBLIC_HOST_WARNING, app_url, bind, serve
        import fastapi  # noqa: F401  (the web stack: the `label` extra)
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise error(None, f"the labeling app needs the `label` extra: "
                          f"pip install 'aalu_sk[label]' ({exc})") from None
    # Shown through the handler ``aalu-sk`` installs (configure_cli_logging).
    log = logging.getLogger("aalu_sk.labeling")
    image_dir, classes, store = args.image_dir, args.classes, args.store
    if args.demo:
        image_dir = image_dir or str(LABEL_DEMO_DIR / "digits")
        write_digits_folder(image_dir)
        classes = classes or [str(d) for d in range(10)]
        store = store or str(LABEL_DEMO_DIR / "labels.sqlite")
    if image_dir is None:
        raise error("IMAGE_DIR", "give the folder of images to label (or "
                                 "--demo)")
    if not Path(image_dir).is_dir():
        raise error("IMAGE_DIR", f"{image_dir!r} is not a folder")
    representation = representation_with_weights(
        "label", args.representation, args.representation_weights,
        args.device)
    store_path = Path(store) if store else default_store_path(image_dir)
    if not classes and not store_path.exists():    # nothing written yet
        raise error("--classes", "give at least one class, e.g. --classes "
                                 "cat,dog")
    try:
        project = LabelingProject(
            image_dir, classes or (), store=store, strategy=args.strategy,
            batch_size=args.batch_size, prefetch=args.prefetch,
            representation=representation, model=args.model,
            image_size=args.image_size, epochs=args.epochs,
            selector_epochs=args.selector_epochs, device=args.device,
            random_state=args.seed, follow_symlinks=args.follow_symlinks,
            random_share=args.random_share)
    except (ValueError, StoreError) as exc:
        option = "IMAGE_DIR" if "image_dir" in str(exc) else (
            "--representation" if str(exc).startswith("representation=")
            else "--classes" if "classes" in str(exc) else "--store")
        raise error(option, exc) from None
    if not project.classes:
        raise error("--classes", "give at least one class, e.g. --classes "
                                 "cat,dog")
    if not project.items:
        log.warning("%s holds no readable image (%d unreadable); the page "
                    "will be empty", image_dir, len(project.unreadable))
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        raise error("--port", f"cannot listen on {args.host}:{args.port} "
                              f"({exc.strerror or exc}); pick another port, "
                              f"or --port 0 for a free one") from None
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(PUBLIC_HOST_WARNING.format(host=args.host), file=sys.stderr)
    print(f"aalu-sk label: open {app_url(sock, project.store.token)}",
          flush=True)
    log.info("store: %s", project.store.path)
    try:
        serve(project, sock, open_browser=not args.no_browser,
              host=args.host)
    except KeyboardInterrupt:
        pass
    return 0
