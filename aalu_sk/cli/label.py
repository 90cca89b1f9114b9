"""The ``aalu-sk label`` command: open a project, bind, print, serve.

:func:`run_label` is called by :mod:`aalu_sk.cli` with the parsed
arguments; the web stack (FastAPI, uvicorn) is imported only here and in
:mod:`.app`/:mod:`.server`, when the command runs.
"""

import logging
import sys
from pathlib import Path

__all__ = ["run_label", "LABEL_DEMO_DIR"]

#: Where ``aalu-sk label --demo`` writes its digits and store.
LABEL_DEMO_DIR = Path("runs") / "label-demo"


def run_label(args, error):
    """Run ``aalu-sk label`` with ``args``; ``error(option, message)``.

    ``error`` returns the :class:`SystemExit` to raise for a bad option.
    """
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
    representation = args.representation
    if args.representation_weights is not None:
        if not representation.startswith("pretrained:"):
            raise error("--representation-weights",
                        f"only for --representation pretrained:SOURCE:MODEL, "
                        f"not {representation!r}")
        from ..representation import PretrainedEmbedding

        representation = PretrainedEmbedding(
            representation.partition(":")[2],
            weights=args.representation_weights, device=args.device)
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
