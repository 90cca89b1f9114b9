"""Label your own images with AALU choosing what to label next.

:class:`LabelingProject` is the loop (usable from a notebook);
``aalu-sk label IMAGE_DIR --classes A,B`` serves it as a local web page
(:mod:`aalu_sk.labeling.app`, which needs the ``label`` extra: FastAPI
and uvicorn). The store is one SQLite file (:mod:`.store`).
"""

from .loop import LabelingProject, check_class_names
from .store import default_store_path
from .samples import write_digits_folder
from .store import SCHEMA_VERSION, LabelStore, StoreError

__all__ = ["LabelingProject", "LabelStore", "StoreError", "SCHEMA_VERSION",
           "default_store_path", "check_class_names", "write_digits_folder"]
