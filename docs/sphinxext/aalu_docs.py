"""Build-time helpers for the aalu_sk documentation.

``conf.py`` calls :func:`generate_all` before Sphinx reads any source. It
writes three generated inputs under ``docs/gen_modules/`` (ignored by git):

- ``benchmark_results.rst.inc``: the files under ``benchmarks/results/``
  (Markdown reports converted to reStructuredText, figures, raw data);
- ``cli_help.rst.inc``: the ``--help`` text of each ``aalu-sk`` command;
- ``api_experiment.rst``: the API page of the experiment runner, plotting
  and command-line modules.

Each piece degrades to a short note when its input does not exist, so the
build passes on a fresh clone with no benchmark results.

The Markdown converter handles what benchmark reports use: headings,
paragraphs, pipe tables, bullet and numbered lists, fenced code, images and
links. Text is escaped so that no Markdown input can produce reST markup
(and therefore no Sphinx warning); a file it cannot convert is shown as a
literal block instead.
"""

import contextlib
import importlib
import inspect
import io
import os
import re
from pathlib import Path

__all__ = ["ExampleOrder", "markdown_to_rst", "benchmark_results_rst",
           "scaling_results_rst",
           "cli_help_rst", "api_experiment_rst", "generate_all",
           "write_if_changed", "GALLERY_ORDER"]

#: The order of the gallery (file names in examples/); unknown files follow
#: in alphabetical order.
GALLERY_ORDER = (
    "plot_quickstart.py",
    "plot_compare_strategies.py",
    "plot_batch_diversity.py",
    "plot_ablation.py",
    "plot_custom_module.py",
    "plot_sklearn_classifier.py",
    "plot_low_budget.py",
    "plot_skactiveml.py",
    "plot_image_folder.py",
)


class ExampleOrder:
    """sphinx-gallery ``within_subsection_order`` key: :data:`GALLERY_ORDER`."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        name = os.path.basename(filename)
        if name in GALLERY_ORDER:
            return (GALLERY_ORDER.index(name), name)
        return (len(GALLERY_ORDER), name)


def write_if_changed(path, text):
    """Write ``text`` to ``path`` unless it already holds exactly that.

    Leaving unchanged files alone keeps Sphinx's incremental builds
    incremental.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


# -- Markdown -> reStructuredText -------------------------------------------------
_SPECIAL = set("\\`*_|[]<>:")
_BEFORE_OK = set(" \t\n-:/'\"<([{")
_AFTER_OK = set(" \t\n-.,:;!?\\/'\")]}>")
_INLINE = re.compile(
    r"(?P<code>(?P<ticks>`+)(?P<codebody>.+?)(?P=ticks))"
    r"|(?P<img>!\[(?P<imgalt>[^\]]*)\]\((?P<imgsrc>[^)\s]+)(?:\s+\"[^\"]*\")?\))"
    r"|(?P<link>\[(?P<linktext>[^\]]+)\]\((?P<linkurl>[^)\s]+)"
    r"(?:\s+\"[^\"]*\")?\))"
    r"|(?P<bold>\*\*(?P<boldbody>\S(?:.*?\S)?)\*\*)"
    r"|(?P<em>(?<![\w*])\*(?P<embody>[^\s*](?:[^*]*[^\s*])?)\*(?![\w*]))")


def _escape(text):
    """Backslash-escape everything reST could read as markup."""
    out = "".join("\\" + c if c in _SPECIAL else c for c in text)
    if out.lstrip().startswith(".."):
        out = out.replace("..", "\\..", 1)
    return out


def _inline(text):
    """Convert Markdown inline markup in one line of text to escaped reST."""
    pieces = []  # (is_markup, text)
    pos = 0
    for match in _INLINE.finditer(text):
        if match.start() > pos:
            pieces.append((False, _escape(text[pos:match.start()])))
        pos = match.end()
        if match.group("code"):
            body = match.group("codebody").strip()
            if body and "``" not in body and not body.endswith("\\"):
                pieces.append((True, f"``{body}``"))
            else:
                pieces.append((False, _escape(match.group(0))))
        elif match.group("img"):
            pieces.append((False, _escape(match.group("imgalt") or "image")))
        elif match.group("link"):
            label, url = match.group("linktext"), match.group("linkurl")
            if re.match(r"https?://", url) and "`" not in label and \
                    "<" not in label and "`" not in url and ">" not in url:
                label = label.replace("\\", "\\\\")
                pieces.append((True, f"`{label} <{url}>`__"))
            else:
                pieces.append((False, _escape(f"{label} ({url})")))
        elif match.group("bold"):
            pieces.append((True, f"**{_escape(match.group('boldbody'))}**"))
        else:
            pieces.append((True, f"*{_escape(match.group('embody'))}*"))
    if pos < len(text):
        pieces.append((False, _escape(text[pos:])))
    out = ""
    for i, (markup, piece) in enumerate(pieces):
        if markup:
            if out and out[-1] not in _BEFORE_OK:
                out += "\\ "
            out += piece
            nxt = pieces[i + 1][1] if i + 1 < len(pieces) else ""
            if nxt and nxt[0] not in _AFTER_OK:
                out += "\\ "
        else:
            out += piece
    stripped = out.strip()
    if stripped and re.fullmatch(r"[^\w\s\\]+", stripped):
        # A line of punctuation alone would read as a title underline.
        out = "".join("\\" + c if not c.isspace() else c for c in out)
    return out


_FENCE = re.compile(r"^\s*(```+|~~~+)\s*([\w+-]*)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
_LIST = re.compile(r"^(\s*)([-*+]|\d+[.)])\s+(.*)$")
_IMAGE = re.compile(r"^\s*!\[(?P<alt>[^\]]*)\]\((?P<src>[^)\s]+)"
                    r"(?:\s+\"[^\"]*\")?\)\s*$")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_LEXERS = {"bash", "console", "sh", "shell", "python", "pycon", "json",
           "yaml", "toml", "text", "ini", "csv"}
_UNDERLINES = "-~^\""


def _split_row(line):
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    cells, cell, i = [], "", 0
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line) and line[i + 1] == "|":
            cell += "|"
            i += 2
            continue
        if line[i] == "|":
            cells.append(cell.strip())
            cell = ""
        else:
            cell += line[i]
        i += 1
    cells.append(cell.strip())
    return cells


def _heading_levels(lines):
    levels, in_fence = [], False
    for line in lines:
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else _HEADING.match(line)
        if match:
            levels.append(len(match.group(1)))
    return levels


def markdown_to_rst(text, image_resolver=None, title=None):
    """Convert a Markdown report into reStructuredText.

    Parameters
    ----------
    text : str
        The Markdown.
    image_resolver : callable or None, default=None
        ``image_resolver(src)`` returns the reST path of a local image, or
        None when it does not exist; None drops every image.
    title : str or None, default=None
        Section title to use when the report does not start with a single
        top-level heading.

    Returns
    -------
    rst : str
        One section (``-`` underline) holding the report; its sub-headings
        use ``~``, ``^`` and ``"`` in that order.
    referenced : list of str
        The image sources that were turned into ``image`` directives.
    """
    lines = text.replace("\t", "    ").splitlines()
    levels = _heading_levels(lines)
    ranks = {lvl: i for i, lvl in enumerate(sorted(set(levels)))}
    out, referenced = [], []
    first_content = next((ln for ln in lines if ln.strip()), "")
    top = _HEADING.match(first_content)
    use_own_title = bool(top) and levels and \
        levels.count(min(levels)) == 1 and len(top.group(1)) == min(levels)
    offset = 0 if use_own_title else 1
    if not use_own_title:
        heading = _inline(title or "Results")
        out += [heading, "-" * max(4, len(heading)), ""]

    def emit_heading(level, content):
        rank = min(ranks[level] + offset, len(_UNDERLINES) - 1)
        heading = _inline(content) or "\\ "
        if rank >= len(_UNDERLINES) - 1 and ranks[level] + offset > rank:
            out.extend([f"**{_escape(content)}**", ""])
            return
        out.extend([heading, _UNDERLINES[rank] * max(4, len(heading)), ""])

    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if not line.strip() or line.strip().startswith("<!--"):
            if line.strip().startswith("<!--"):
                while i < n and "-->" not in lines[i]:
                    i += 1
            i += 1
            continue
        fence = _FENCE.match(line)
        if fence:
            marker, lang = fence.group(1), fence.group(2).lower()
            body = []
            i += 1
            while i < n and not lines[i].strip().startswith(marker):
                body.append(lines[i])
                i += 1
            i += 1
            out += [f".. code-block:: {lang if lang in _LEXERS else 'text'}",
                    ""]
            out += ["   " + b if b.strip() else "" for b in body] or ["   "]
            out.append("")
            continue
        heading = _HEADING.match(line)
        if heading:
            emit_heading(len(heading.group(1)), heading.group(2))
            i += 1
            continue
        if "|" in line and i + 1 < n and _TABLE_SEP.match(lines[i + 1]) \
                and "-" in lines[i + 1]:
            header = _split_row(line)
            rows = []
            i += 2
            while i < n and "|" in lines[i] and lines[i].strip():
                rows.append(_split_row(lines[i]))
                i += 1
            width = len(header)
            out += [".. list-table::", "   :header-rows: 1", ""]
            for row in [header] + rows:
                row = (row + [""] * width)[:width]
                for j, cell in enumerate(row):
                    bullet = "   * - " if j == 0 else "     - "
                    converted = _inline(cell)
                    out.append(bullet + (converted if converted.strip()
                                         else "\\ "))
            out.append("")
            continue
        image = _IMAGE.match(line)
        if image:
            src = image.group("src")
            path = image_resolver(src) if image_resolver else None
            if path:
                referenced.append(src)
                out += [f".. image:: {path}",
                        f"   :alt: {_escape(image.group('alt')) or 'figure'}",
                        ""]
            else:
                out += [_inline(f"(Image not available: {src})"), ""]
            i += 1
            continue
        if _RULE.match(line):
            i += 1
            continue
        item = _LIST.match(line)
        if item:
            while i < n:
                item = _LIST.match(lines[i])
                if not item:
                    break
                content = [item.group(3)]
                i += 1
                while i < n and lines[i].strip() and \
                        not _LIST.match(lines[i]) and \
                        lines[i].startswith((" ", "\t")):
                    content.append(lines[i].strip())
                    i += 1
                out.append("- " + _inline(" ".join(content)))
                while i < n and not lines[i].strip() and i + 1 < n and \
                        _LIST.match(lines[i + 1]):
                    i += 1
            out.append("")
            continue
        paragraph = []
        while i < n and lines[i].strip():
            if paragraph and (_FENCE.match(lines[i]) or
                              _HEADING.match(lines[i]) or
                              _IMAGE.match(lines[i]) or
                              _LIST.match(lines[i]) or
                              ("|" in lines[i] and i + 1 < n and
                               _TABLE_SEP.match(lines[i + 1]))):
                break
            paragraph.append(lines[i].strip().lstrip(">").strip())
            i += 1
        out += [_inline(" ".join(p for p in paragraph if p)), ""]
    return "\n".join(out) + "\n", referenced


# -- benchmarks page --------------------------------------------------------------
_FIGURES = (".png", ".svg", ".jpg", ".jpeg", ".gif")
_DATA = (".csv", ".json", ".txt", ".tsv")


def benchmark_results_rst(results_dir, docs_dir):
    """The reST body of the benchmarks page, from whatever results exist.

    Parameters
    ----------
    results_dir : path-like
        ``benchmarks/results``.
    docs_dir : path-like
        The Sphinx source folder (paths are written relative to it, with a
        leading ``/``, which Sphinx reads as "from the source folder").

    Returns
    -------
    rst : str
    """
    results_dir, docs_dir = Path(results_dir), Path(docs_dir)

    def source_path(path):
        rel = os.path.relpath(path, docs_dir).replace(os.sep, "/")
        return "/" + rel

    if not results_dir.is_dir() or not any(
            p.is_file() for p in results_dir.iterdir()):
        return (".. note::\n\n"
                "   No measured results are in this build: "
                "``benchmarks/results/`` is empty or missing. Run\n"
                "   ``make bench`` and rebuild the documentation to fill "
                "this page.\n")
    files = sorted(p for p in results_dir.iterdir() if p.is_file()
                   and not p.name.startswith("."))
    used_images = set()
    parts = []
    for md in (p for p in files if p.suffix.lower() == ".md"):
        def resolve(src, base=md.parent):
            if re.match(r"[a-z]+://", src):
                return None
            target = (base / src).resolve()
            if target.is_file() and target.suffix.lower() in _FIGURES:
                used_images.add(target)
                return source_path(target)
            return None
        text = md.read_text(encoding="utf-8", errors="replace")
        try:
            rst, _ = markdown_to_rst(text, resolve,
                                     title=md.stem.replace("_", " "))
        except Exception:  # noqa: BLE001 - show the file rather than fail
            heading = _escape(md.name)
            rst = (f"{heading}\n{'-' * max(4, len(heading))}\n\n"
                   f".. literalinclude:: {source_path(md)}\n"
                   f"   :language: text\n")
        parts.append(rst)
    figures = [p for p in files if p.suffix.lower() in _FIGURES
               and p.resolve() not in used_images]
    if figures:
        parts.append("Figures\n-------\n")
        for fig in figures:
            parts.append(f".. figure:: {source_path(fig)}\n"
                         f"   :alt: {_escape(fig.stem)}\n\n"
                         f"   ``{fig.name}``\n")
    data = [p for p in files if p.suffix.lower() in _DATA]
    if data:
        parts.append("Raw data\n--------\n")
        parts.append("\n".join(
            f"- :download:`{_escape(p.name)} <{source_path(p)}>`"
            for p in data) + "\n")
    return "\n".join(parts)


# -- command-line help ------------------------------------------------------------
def cli_help_rst(commands=((), ("run",), ("demo",), ("report",), ("query",))):
    """``aalu-sk [COMMAND] --help`` of each command as literal blocks.

    Runs the parser in-process (``aalu_sk.cli.build_parser``) with an
    88-column terminal, so the text is what users see.
    """
    try:
        cli = importlib.import_module("aalu_sk.cli")
        build_parser = cli.build_parser
    except (ImportError, AttributeError) as exc:
        return (".. note::\n\n   The command-line interface is not available "
                f"in this build ({_escape(str(exc))}).\n")
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "88"
    parts = []
    try:
        for command in commands:
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                with contextlib.suppress(SystemExit):
                    build_parser().parse_args(list(command) + ["--help"])
            name = " ".join(("aalu-sk",) + tuple(command))
            title = f"``{name}``"
            parts.append(f"{title}\n{'~' * len(title)}\n\n"
                         f".. code-block:: text\n\n"
                         + "\n".join("   " + ln if ln.strip() else ""
                                     for ln in buffer.getvalue()
                                     .rstrip().splitlines())
                         + "\n")
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    return "\n".join(parts)


# -- API page of the runner modules -----------------------------------------------
RUNNER_MODULES = (
    ("aalu_sk.experiment", "Experiments"),
    ("aalu_sk.experiment.plotting", "Reports and plots"),
    ("aalu_sk.cli", "Command line"),
)


def _public(module):
    """Names of ``module.__all__`` defined in it (re-exports are skipped)."""
    names = []
    for name in getattr(module, "__all__", ()):
        obj = getattr(module, name, None)
        home = getattr(obj, "__module__", None)
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and \
                home != module.__name__:
            continue
        names.append(name)
    return names


def api_experiment_rst():
    """The API page for the experiment runner, plotting and the CLI.

    Lists ``__all__`` of each module that can be imported; a module that
    cannot is named in a clearly marked "not available" note.
    """
    title = "Experiments, reports and the command line"
    parts = [f"{title}\n{'=' * len(title)}\n",
             "The loop runner behind ``aalu-sk run`` and the functions that "
             "write its reports. Names re-exported from another module are "
             "documented where they are defined.\n"]
    for modname, heading in RUNNER_MODULES:
        head = f"{heading}: ``{modname}``"
        parts.append(f"{head}\n{'-' * len(head)}\n")
        try:
            module = importlib.import_module(modname)
        except ImportError as exc:
            parts.append(
                ".. warning::\n\n"
                f"   **Not yet available.** ``{modname}`` cannot be imported "
                f"in this build ({_escape(str(exc))}); its reference will "
                "appear here once it exists.\n")
            continue
        names = _public(module)
        parts.append(f".. automodule:: {modname}\n   :no-members:\n")
        parts.append(f".. currentmodule:: {modname}\n")
        classes = [n for n in names if inspect.isclass(getattr(module, n))]
        functions = [n for n in names if callable(getattr(module, n))
                     and n not in classes]
        data = [n for n in names if n not in classes and n not in functions]
        for kind, group in (("Classes", classes), ("Functions", functions),
                            ("Data", data)):
            if group:
                parts.append(f"**{kind}**\n\n.. autosummary::\n"
                             f"   :toctree: .\n\n"
                             + "\n".join(f"   {n}" for n in group) + "\n")
    return "\n".join(parts)


def scaling_results_rst(results_dir, names=("scaling.md", "scaling_ray.md")):
    """The measured scaling tables (``make bench``) as reST sections."""
    parts = []
    for name in names:
        path = Path(results_dir) / name
        if path.is_file():
            parts.append(markdown_to_rst(path.read_text(encoding="utf-8"),
                                         title=path.stem)[0])
    return "\n".join(parts) or (
        ".. note::\n\n   No scaling measurements in this build: run "
        "``make bench`` and rebuild.\n")


def generate_all(docs_dir):
    """Write every generated input under ``docs_dir/gen_modules``."""
    docs_dir = Path(docs_dir)
    gen = docs_dir / "gen_modules"
    root = docs_dir.parent
    write_if_changed(gen / "benchmark_results.rst.inc",
                     benchmark_results_rst(root / "benchmarks" / "results",
                                           docs_dir))
    write_if_changed(gen / "cli_help.rst.inc", cli_help_rst())
    write_if_changed(gen / "api_experiment.rst", api_experiment_rst())
    write_if_changed(gen / "scaling_results.rst.inc",
                     scaling_results_rst(root / "benchmarks" / "results"))
