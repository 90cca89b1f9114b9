"""Sphinx configuration of the aalu_sk documentation.

Build with ``make -C docs html`` (warnings are errors). Nothing is
downloaded during a build: intersphinx has no inventories unless
``AALU_SK_DOCS_INTERSPHINX=1`` is set, and the gallery uses the embedded
digits data only.
"""

import importlib.util
import os
import re
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "sphinxext"))
sys.path.insert(0, str(ROOT))

# One torch thread: the examples' networks are tiny, and with two threads on
# a busy two-core machine OpenMP's spinning makes them many times slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch  # noqa: E402

torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

import aalu_sk  # noqa: E402
from aalu_docs import generate_all  # noqa: E402

# -- project ---------------------------------------------------------------------
project = "aalu_sk"
author = "the aalu_sk developers"
copyright = "2026, the aalu_sk developers"
release = aalu_sk.__version__
version = ".".join(release.split(".")[:2])

# -- general ---------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
# Math is typeset by MathJax. With sphinx-mathjax-offline installed (list it
# in the docs extra) MathJax is copied into the build and the pages render
# without network; otherwise Sphinx loads MathJax from its CDN.
if importlib.util.find_spec("sphinx-mathjax-offline") is not None:
    extensions.append("sphinx-mathjax-offline")
templates_path = ["_templates"]
exclude_patterns = ["_build", "sphinxext", "**.ipynb_checkpoints",
                    "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.codeobj.json"]
root_doc = "index"
default_role = "literal"
pygments_style = "sphinx"
nitpicky = False

# Generated inputs (benchmark results, CLI help, runner API page).
generate_all(HERE)

# -- autodoc / autosummary / numpydoc -----------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"member-order": "bysource"}
# An override without a docstring of its own (skorch's initialize_module,
# get_dataset...) is an implementation detail, not an API entry.
autodoc_inherit_docstrings = False
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False


def _skip_member(app, what, name, obj, skip, options):
    """Leave scikit-learn's metadata-routing plumbing out of class pages."""
    if name == "get_metadata_routing" or re.fullmatch(r"set_\w+_request", name):
        return True
    return None


def _describe_data(app, what, name, obj, options, lines):
    """Show what a module-level constant holds (its repr is often noisy)."""
    if what != "data":
        return
    if isinstance(obj, dict):
        keys = ", ".join(f"``{k!r}``" for k in obj)
        lines += ["", f"A dict with the keys {keys}."]
    elif isinstance(obj, (tuple, list, str, int, float)) and \
            len(repr(obj)) < 400:
        lines += ["", f"Value: ``{obj!r}``"]


# -- intersphinx: offline by default ---------------------------------------------------
intersphinx_mapping = {}
intersphinx_timeout = 10
if os.environ.get("AALU_SK_DOCS_INTERSPHINX") == "1":
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "torch": ("https://pytorch.org/docs/stable", None),
        "skorch": ("https://skorch.readthedocs.io/en/stable", None),
    }

# -- sphinx-gallery ----------------------------------------------------------------
# modAL's learners pass force_all_finite to scikit-learn, which warns about
# the rename on every fit; that noise is not the examples' output.
warnings.filterwarnings("ignore", message=".*force_all_finite.*",
                        category=FutureWarning)

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "aalu_docs.ExampleOrder",
    "doc_module": ("aalu_sk",),
    "backreferences_dir": "gen_modules/backreferences",
    "exclude_implicit_doc": set(),
    "remove_config_comments": True,
    "min_reported_time": 0,
    # The computation-times pages load DataTables from a CDN; the running
    # time is on every example page anyway.
    "write_computation_times": False,
    "show_memory": False,
    "plot_gallery": "True",
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "download_all_examples": True,
    "capture_repr": ("_repr_html_", "__repr__"),
    "matplotlib_animations": False,
}

# -- HTML ----------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"aalu_sk {release}"
html_short_title = "aalu_sk"
html_theme_options = {
    "navbar_align": "left",
    "header_links_before_dropdown": 7,
    "show_prev_next": True,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_sidebars = {"index": [], "install": [], "benchmarks": []}
html_static_path = ["_static"]
html_css_files = ["aalu.css"]
html_show_sourcelink = True
html_copy_source = True


def setup(app):
    app.connect("autodoc-process-docstring", _describe_data)
    app.connect("autodoc-skip-member", _skip_member)
