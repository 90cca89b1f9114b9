"""Tests for the documentation sources, the gallery and the docs tooling.

They read files and run the small helpers; none builds the site (that is
``make docs``) or needs a browser.
"""

import ast
import importlib.util
import re
import sys
from pathlib import Path

import io

import docutils.core
import docutils.nodes
import pytest

import aalu_sk

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))
PUBLIC = [name for name in aalu_sk.__all__ if name != "__version__"]
SAMPLERS = [name for name in aalu_sk.__all__ if name.endswith("Sampler")]


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def aalu_docs():
    return _load("aalu_docs", DOCS / "sphinxext" / "aalu_docs.py")


@pytest.fixture(scope="module")
def check_site():
    return _load("check_site", DOCS / "check_site.py")


def _tree(path):
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _called_names(tree):
    """Names of every callable called in the module (``f(...)``, ``m.f(...)``)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                names.add(func.id)
            elif isinstance(func, ast.Attribute):
                names.add(func.attr)
    return names


def _rst_problems(text):
    """docutils messages of level WARNING or worse for a reST snippet."""
    doctree = docutils.core.publish_doctree(
        text, settings_overrides={"report_level": 2, "halt_level": 5,
                                  "warning_stream": io.StringIO()})
    return [msg.astext() for msg in doctree.findall(
        docutils.nodes.system_message) if msg["level"] >= 2], doctree


# -- the gallery ---------------------------------------------------------------
def test_there_are_examples():
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_every_public_strategy_is_used_in_an_example(sampler):
    users = [p.name for p in EXAMPLES if sampler in _called_names(_tree(p))]
    assert users, (f"{sampler} is in aalu_sk.__all__ but no example in "
                   f"examples/ creates it")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_has_a_rest_title(path):
    doc = ast.get_docstring(_tree(path), clean=True)
    assert doc, f"{path.name} has no module docstring"
    lines = [ln.rstrip() for ln in doc.splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    if set(lines[0]) <= set("=-~#*^"):      # an overline
        lines.pop(0)
    title, underline = lines[0], lines[1]
    assert title.strip() and underline, f"{path.name}: no title"
    assert len(set(underline)) == 1 and underline[0] in "=-~#*^", \
        f"{path.name}: {underline!r} is not a title underline"
    assert len(underline) >= len(title), \
        f"{path.name}: the underline is shorter than the title {title!r}"
    assert len(lines) > 3, f"{path.name}: the docstring has no description"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_is_seeded(path):
    """Every aalu_sk estimator an example creates gets an int random_state."""
    tree = _tree(path)
    estimators = set(PUBLIC)
    created, seeded = [], []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(
            func, "attr", None)
        seed = [kw for kw in node.keywords if kw.arg == "random_state"]
        if name in estimators:
            created.append(name)
            assert seed and isinstance(seed[0].value, ast.Constant) and \
                isinstance(seed[0].value.value, int), \
                (f"{path.name}:{node.lineno}: {name}(...) needs "
                 f"random_state=<int>")
        if seed or (name in ("RandomState", "default_rng", "manual_seed")
                    and node.args):
            seeded.append(node.lineno)
    assert seeded, f"{path.name} sets no seed"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_has_cells_and_no_downloads(path):
    text = path.read_text(encoding="utf-8")
    assert text.count("\n# %%") >= 2, f"{path.name}: use `# %%` cells"
    assert not re.search(r"download\s*=\s*True", text)
    strings = [n.value for n in ast.walk(_tree(path))
               if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert not [s for s in strings if re.search(r"https?://", s)], \
        f"{path.name} refers to a URL; examples must run offline"


def test_gallery_order_names_existing_examples(aalu_docs):
    names = {p.name for p in EXAMPLES}
    assert set(aalu_docs.GALLERY_ORDER) == names
    order = aalu_docs.ExampleOrder("examples")
    ranked = sorted(names | {"plot_zzz_new.py"}, key=order)
    assert ranked[0] == aalu_docs.GALLERY_ORDER[0]
    assert ranked[-1] == "plot_zzz_new.py"


def test_gallery_has_a_header():
    header = ROOT / "examples" / "GALLERY_HEADER.rst"
    problems, _ = _rst_problems(header.read_text(encoding="utf-8"))
    assert problems == []


# -- the pages -----------------------------------------------------------------
def _autosummary_entries(text):
    entries, inside = set(), False
    for line in text.splitlines():
        if line.startswith(".. autosummary::"):
            inside = True
            continue
        if inside:
            if line.strip() and not line.startswith("   "):
                inside = False
            elif line.strip() and not line.strip().startswith(":"):
                entries.add(line.strip())
    return entries


def test_api_page_lists_every_public_name():
    entries = _autosummary_entries((DOCS / "api.rst").read_text())
    missing = [name for name in PUBLIC if name not in entries]
    assert missing == [], f"add {missing} to docs/api.rst"


@pytest.mark.parametrize("modname", ["aalu_sk.experiment.datasets", "aalu_sk.strategies.selection",
                                     "aalu_sk.strategies.coverage",
                                     "aalu_sk.representation",
                                     "aalu_sk.strategies.losses", "aalu_sk.modules",
                                     "aalu_sk.validation", "aalu_sk.strategies.base",
                                     "aalu_sk.stopping", "aalu_sk.labeling",
                                     "aalu_sk.labeling.images",
                                     "aalu_sk.labeling.coverage",
                                     "aalu_sk.labeling.embedding",
                                     "aalu_sk.labeling.exchange",
                                     "aalu_sk.labeling.app",
                                     "aalu_sk.labeling.server",
                                     "aalu_sk.labeling.cycle",
                                     "aalu_sk.labeling.monitor",
                                     "aalu_sk.labeling.estimate",
                                     "aalu_sk.labeling.review",
                                     "aalu_sk.images",
                                     "aalu_sk.cli.label",
                                     "aalu_sk.skactiveml",
                                     "aalu_sk.strategies.registry",
                                     "aalu_sk.experiment.stats",
                                     "aalu_sk.distributed",
                                     "aalu_sk.representation",
                                     "aalu_sk.representation.views",
                                     "aalu_sk.augmentation",
                                     "aalu_sk.pools"])
def test_api_page_lists_every_name_of_the_documented_modules(modname):
    module = importlib.import_module(modname)
    text = (DOCS / "api.rst").read_text()
    assert f".. automodule:: {modname}" in text
    entries = _autosummary_entries(text)
    missing = [n for n in module.__all__ if n not in entries]
    assert missing == [], f"add {missing} of {modname} to docs/api.rst"


def test_runner_api_page_lists_every_name_or_marks_the_gap(aalu_docs):
    text = aalu_docs.api_experiment_rst()
    entries = _autosummary_entries(text)
    for modname, _ in aalu_docs.RUNNER_MODULES:
        try:
            module = importlib.import_module(modname)
        except ImportError:
            assert f"``{modname}`` cannot be imported" in text
            continue
        for name in module.__all__:
            obj = getattr(module, name)
            home = getattr(obj, "__module__", modname)
            if callable(obj) and home != modname:
                continue  # re-export: documented where it is defined
            assert name in entries, f"{modname}.{name} is missing"


def test_landing_page_quickstart_uses_the_issue_api():
    text = (DOCS / "index.rst").read_text()
    code = _quickstart(text)
    for needle in ("ImageClassifier(num_classes=10, max_epochs=30",
                   "AdversarialUncertaintySampler(random_state=0)",
                   "ActiveLearner(estimator=net, query_strategy=sampler",
                   "learner.query(X_pool, n_instances=",
                   "learner.teach("):
        assert needle in code
    body = [ln for ln in code.splitlines()
            if ln.strip() and not ln.startswith(("import", "from"))]
    assert len(body) <= 11


def _quickstart(text):
    block = text.split(".. code-block:: python", 1)[1]
    lines = []
    for line in block.splitlines()[1:]:
        if line.strip() and not line.startswith("   "):
            break
        lines.append(line[3:])
    return "\n".join(lines).strip() + "\n"


@pytest.mark.slow
def test_landing_page_quickstart_runs():
    """The quickstart as printed, with tiny settings so it runs in seconds."""
    code = _quickstart((DOCS / "index.rst").read_text())
    code = code.replace("ImageClassifier(num_classes=10, max_epochs=30",
                        "ImageClassifier('small_cnn', num_classes=10, "
                        "max_epochs=2")
    code = code.replace("AdversarialUncertaintySampler(random_state=0)",
                        "AdversarialUncertaintySampler(random_state=0, "
                        "epochs=1, hidden_dim=32)")
    namespace = {}
    exec(compile(code, "index.rst quickstart", "exec"), namespace)
    learner = namespace["learner"]
    assert len(learner.y_training) == namespace["labeled"].sum() + 50


def test_intersphinx_is_offline_by_default():
    """No inventory is fetched unless AALU_SK_DOCS_INTERSPHINX=1."""
    tree = _tree(DOCS / "conf.py")
    top = [n for n in tree.body if isinstance(n, ast.Assign) and any(
        getattr(t, "id", None) == "intersphinx_mapping" for t in n.targets)]
    assert len(top) == 1 and isinstance(top[0].value, ast.Dict) and \
        top[0].value.keys == []
    for node in tree.body:
        if isinstance(node, ast.If):
            inner = [n for n in ast.walk(node) if isinstance(n, ast.Assign)
                     and any(getattr(t, "id", None) == "intersphinx_mapping"
                             for t in n.targets)]
            if inner:
                assert "AALU_SK_DOCS_INTERSPHINX" in ast.unparse(node.test)


def test_docs_makefile_treats_warnings_as_errors():
    text = (DOCS / "Makefile").read_text()
    html = text.split("\nhtml:", 1)[1].split("\n\n", 1)[0]
    assert "-W" in html and "--keep-going" in html and "_build" in text


@pytest.mark.parametrize("page", sorted(
    str(p.relative_to(DOCS)) for p in DOCS.rglob("*.rst")
    if "_build" not in p.parts and "gen_modules" not in p.parts
    and "auto_examples" not in p.parts and "_templates" not in p.parts
    and p.name != "sg_execution_times.rst"))
def test_pages_link_only_to_existing_documents(page):
    """Every :doc: target exists (Sphinx would catch it, this is faster)."""
    path = DOCS / page
    for target in re.findall(r":doc:`(?:[^`<]*<)?([^`>]+)>?`", path.read_text()):
        target = target.strip()
        if target.startswith("/"):
            resolved = DOCS / (target.lstrip("/") + ".rst")
        else:
            resolved = (path.parent / (target + ".rst")).resolve()
        generated = "auto_examples" in target
        assert generated or resolved.exists(), f"{page}: :doc:`{target}`"


# -- the Markdown converter of the benchmarks page ----------------------------
REPORT = """\
# Query speed

Measured on 2025-01-01 with `python benchmarks/bench_query_speed.py`
on *2 CPU cores* and **no GPU**; see [the paper](https://example.org/aalu).

| strategy | s / 100 | note |
|---|---:|---|
| aalu | 1.23 | uses `fit_scores` |
| vaal | 4.56 | a_b_c * 2 |
| random | 0.00 |

## Details

- first item with a_snake_case_name
- second item, `code` and |pipes| and [ref]_ and `unclosed
  continued line

1. numbered

```bash
aalu-sk run --out runs/x
```

![learning curves](curves.png)

.. not a directive

*** 
Final paragraph: 5*3 = 15, path_to_file, `x`y.
"""


def test_markdown_to_rst_is_valid_and_keeps_the_content(aalu_docs):
    rst, used = aalu_docs.markdown_to_rst(
        REPORT, image_resolver=lambda src: "/img/" + src)
    problems, doctree = _rst_problems(rst)
    assert problems == []
    text = doctree.astext()
    for needle in ("Query speed", "Details", "python benchmarks/bench_query_speed.py",
                   "2 CPU cores", "1.23", "a_b_c * 2", "a_snake_case_name",
                   "|pipes|", "[ref]_", "aalu-sk run --out runs/x",
                   ".. not a directive", "5*3 = 15, path_to_file"):
        assert needle in text, needle
    assert used == ["curves.png"]
    assert ".. image:: /img/curves.png" in rst
    assert "`the paper <https://example.org/aalu>`__" in rst
    tables = list(doctree.findall(docutils.nodes.table))
    assert len(tables) == 1
    assert len(list(tables[0].findall(docutils.nodes.row))) == 4


def test_markdown_without_a_single_title_gets_one(aalu_docs):
    rst, _ = aalu_docs.markdown_to_rst("## a\n\ntext\n\n## b\n\nmore\n",
                                       title="speed report")
    problems, doctree = _rst_problems(rst)
    assert problems == []
    assert rst.startswith("speed report\n----")
    assert "a\n~" in rst and "b\n~" in rst


def test_markdown_drops_missing_images(aalu_docs):
    rst, used = aalu_docs.markdown_to_rst("# t\n\n![x](missing.png)\n",
                                          image_resolver=lambda src: None)
    assert used == [] and ".. image::" not in rst
    assert "Image not available" in rst


def test_benchmark_page_without_results(aalu_docs, tmp_path):
    rst = aalu_docs.benchmark_results_rst(tmp_path / "nothing", DOCS)
    assert "No measured results" in rst
    assert _rst_problems(rst)[0] == []


def test_benchmark_page_with_results(aalu_docs, tmp_path):
    results = tmp_path / "benchmarks" / "results"
    results.mkdir(parents=True)
    (results / "query_speed.md").write_text(
        "# Query speed\n\nDate: today. Machine: 2 cores.\n\n"
        "![plot](speed.png)\n")
    (results / "speed.png").write_bytes(b"\x89PNG fake")
    (results / "other.png").write_bytes(b"\x89PNG fake")
    (results / "speed.csv").write_text("a,b\n1,2\n")
    docs = tmp_path / "docs"
    docs.mkdir()
    rst = aalu_docs.benchmark_results_rst(results, docs)
    assert "Query speed\n-----------" in rst
    assert ".. image:: /../benchmarks/results/speed.png" in rst
    assert ".. figure:: /../benchmarks/results/other.png" in rst
    assert ":download:`speed.csv </../benchmarks/results/speed.csv>`" in rst


def test_cli_help_is_generated(aalu_docs):
    rst = aalu_docs.cli_help_rst()
    try:
        importlib.import_module("aalu_sk.cli")
    except ImportError:
        assert "not available" in rst
        return
    for command in ("``aalu-sk``", "``aalu-sk run``", "``aalu-sk demo``",
                    "``aalu-sk report``"):
        assert command in rst
    assert "--out" in rst and "--strategies" in rst


def test_write_if_changed(aalu_docs, tmp_path):
    path = tmp_path / "a" / "b.txt"
    assert aalu_docs.write_if_changed(path, "x") is True
    mtime = path.stat().st_mtime_ns
    assert aalu_docs.write_if_changed(path, "x") is False
    assert path.stat().st_mtime_ns == mtime
    assert aalu_docs.write_if_changed(path, "y") is True
    assert path.read_text() == "y"


# -- the site checker ------------------------------------------------------------
def _png_bytes():
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def _site(root, index_body):
    html = root / "html"
    (html / "sub").mkdir(parents=True)
    (html / "_static").mkdir()
    (html / "img.png").write_bytes(_png_bytes())
    (html / "sub" / "page.html").write_text(
        '<html><body><h1 id="top">Page</h1>'
        '<a href="../index.html#intro">back</a></body></html>')
    (html / "sub" / "index.html").write_text("<html><body>i</body></html>")
    (html / "_static" / "macros.html").write_text(
        "<link href=\"{{ pathto('x.css', 1) }}\">")
    (html / "index.html").write_text(
        f'<html><body><p id="intro">Hi</p>{index_body}</body></html>')
    return root


def test_check_site_passes_a_clean_site(check_site, tmp_path):
    root = _site(tmp_path, '<a href="sub/page.html#top">p</a>'
                           '<a href="sub/">dir</a><a href="#intro">i</a>'
                           '<a href="#">menu</a>'
                           '<img src="img.png" srcset="img.png 2x">'
                           '<a href="https://example.org/x">ext</a>')
    problems, stats = check_site.check_links(root / "html")
    assert problems == []
    assert stats["pages"] == 3 and stats["images"] == 2
    assert stats["external"] == 1
    assert check_site.main(["--build-dir", str(root), "--no-browser"]) == 0


def test_check_site_finds_broken_links_anchors_and_images(check_site,
                                                          tmp_path):
    root = _site(tmp_path, '<a href="missing.html">m</a>'
                           '<a href="sub/page.html#nowhere">a</a>'
                           '<img src="empty.png"><img src="bad.png">'
                           '<img src="gone.png">'
                           '<a href="../../outside.html">o</a>')
    (root / "html" / "empty.png").write_bytes(b"")
    (root / "html" / "bad.png").write_bytes(b"not a png at all")
    problems, _ = check_site.check_links(root / "html")
    text = "\n".join(problems)
    assert "missing.html does not exist" in text
    assert "no anchor #nowhere" in text
    assert "empty.png" in text and "is empty" in text
    assert "bad.png" in text and "cannot be decoded" in text
    assert "gone.png does not exist" in text
    assert "points outside the site" in text
    assert len(problems) == 6
    assert check_site.main(["--build-dir", str(root), "--no-browser"]) == 1


def test_check_site_refuses_resources_from_other_hosts(check_site,
                                                        tmp_path):
    root = _site(tmp_path, '<script src="https://cdn.example.org/x.js">'
                           '</script>'
                           '<link rel="stylesheet" href="//cdn.example.org/a.css">'
                           '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/'
                           'es5/tex-chtml.js"></script>'
                           '<a href="https://example.org/page">a link is fine</a>')
    problems, _ = check_site.check_links(root / "html")
    assert len(problems) == 2
    assert all("from another host" in p for p in problems)


def test_check_site_needs_a_build(check_site, tmp_path):
    assert check_site.main(["--build-dir", str(tmp_path),
                            "--no-browser"]) == 2


def test_chromium_runs_without_network(check_site):
    command = check_site.chromium_command("chromium", "http://127.0.0.1:1/",
                                          "/tmp/x.png", "/tmp/profile")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-quic", "--no-first-run",
                 "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--user-data-dir=/tmp/profile", "--window-size=1280,2000",
                 "--screenshot=/tmp/x.png"):
        assert flag in command
    assert any(f.startswith("--host-resolver-rules=MAP * ~NOTFOUND")
               for f in command)
