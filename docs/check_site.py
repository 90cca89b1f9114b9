"""Check the built documentation the way a reader would meet it.

1. Parse every HTML file of the build (Python's ``html.parser``) and check
   that each internal ``href``/``src``/``srcset`` resolves to an existing
   file, that each ``#anchor`` exists in its target page, and that every
   image exists, is not empty and can be decoded.
2. Serve the build on 127.0.0.1 with ``http.server`` and fetch every page
   over HTTP.
3. Open the landing page and one gallery page in headless Chromium with no
   network access besides that local server, and save screenshots to
   ``<build-dir>/screenshots/``; a blank screenshot is an error.

Usage::

    python docs/check_site.py                    # after `make docs`
    python docs/check_site.py --no-browser       # links and images only

Exit status: 0 when everything passes, 1 when a check failed, 2 when the
build or the browser is missing (``--no-browser`` skips step 3).
``docs/install_chromium.sh`` installs Debian's Chromium.
"""

import argparse
import functools
import http.server
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_BUILD = HERE / "_build"

#: Pages photographed: (output name, path inside the HTML build).
SCREENSHOTS = (("landing.png", "index.html"),
               ("gallery_index.png", "auto_examples/index.html"),
               ("gallery_quickstart.png", "auto_examples/plot_quickstart.html"),
               ("user_guide_aalu.png", "user_guide/aalu.html"))

#: A page with equations: MathJax must have typeset them in the browser.
MATH_PAGE = "user_guide/aalu.html"

#: Attributes holding a URL, per tag.
URL_ATTRS = {"a": ("href",), "link": ("href",), "img": ("src", "srcset"),
             "script": ("src",), "source": ("src", "srcset"),
             "iframe": ("src",), "video": ("src", "poster"),
             "audio": ("src",), "embed": ("src",), "object": ("data",)}

#: Hosts a page may load a resource from: MathJax's CDN, Sphinx's default
#: when sphinx-mathjax-offline is not installed (check_math reports it).
ALLOWED_REMOTE = ("cdn.jsdelivr.net/npm/mathjax",)

#: Links that point at something generated on the fly, never a file.
IGNORED_HREFS = ("#",)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".ico")
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome",
                  "google-chrome-stable")


class PageParser(HTMLParser):
    """Collect the ids (anchors) and the URLs of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()
        self.urls = []  # (tag, attribute, value, line)
        self.resources = []  # URLs the browser loads by itself: (url, line)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(key):
                self.ids.add(attrs[key])
        for attr in URL_ATTRS.get(tag, ()):
            value = attrs.get(attr)
            if value is None:
                continue
            if attr in ("srcset",):
                for part in value.split(","):
                    if part.strip():
                        self.urls.append((tag, attr, part.split()[0],
                                          self.getpos()[0]))
            else:
                self.urls.append((tag, attr, value, self.getpos()[0]))
        loads = tag in ("script", "img", "iframe", "source", "video",
                        "audio", "embed", "object") or (
            tag == "link" and set((attrs.get("rel") or "").split()) &
            {"stylesheet", "icon", "preload", "modulepreload", "manifest"})
        if loads:
            for attr in URL_ATTRS.get(tag, ()):
                if attrs.get(attr) and attr != "srcset":
                    self.resources.append((attrs[attr], self.getpos()[0]))

    handle_startendtag = handle_starttag


def is_external(url):
    """True for URLs that leave the site (or are not files at all)."""
    parsed = urllib.parse.urlsplit(url)
    return bool(parsed.scheme or parsed.netloc) or url.startswith("//")


def site_pages(html_dir):
    """The HTML pages of the site (``_static`` holds theme templates)."""
    return sorted(p for p in Path(html_dir).rglob("*.html")
                  if "_static" not in p.relative_to(html_dir).parts)


@functools.lru_cache(maxsize=None)
def parse_page(path):
    parser = PageParser()
    parser.feed(Path(path).read_text(encoding="utf-8", errors="replace"))
    parser.close()
    return parser


def resolve(html_dir, page, url):
    """The file a relative URL in ``page`` points to, and its fragment."""
    parsed = urllib.parse.urlsplit(url)
    path = urllib.parse.unquote(parsed.path)
    if not path:
        target = page
    elif path.startswith("/"):
        target = html_dir / path.lstrip("/")
    else:
        target = page.parent / path
    target = Path(os.path.normpath(target))
    if target.is_dir():
        target = target / "index.html"
    return target, urllib.parse.unquote(parsed.fragment)


def check_image(path):
    """An error message for a broken image file, or None."""
    if path.stat().st_size == 0:
        return "is empty"
    if path.suffix.lower() == ".svg":
        head = path.read_bytes()[:2048].lower()
        return None if b"<svg" in head else "is not an SVG file"
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a dependency
        return None
    try:
        with Image.open(path) as image:
            image.verify()
    except Exception as exc:  # noqa: BLE001 - any decoding failure
        return f"cannot be decoded ({exc})"
    return None


def check_links(html_dir):
    """Check every internal link, anchor and image of the build.

    Returns
    -------
    problems : list of str
    stats : dict
    """
    html_dir = Path(html_dir).resolve()
    pages = site_pages(html_dir)
    problems, n_links, n_images, external = [], 0, 0, set()
    checked_images = {}
    for page in pages:
        parser = parse_page(str(page))
        rel_page = page.relative_to(html_dir)
        for url, line in parser.resources:
            if is_external(url) and not any(host in url
                                            for host in ALLOWED_REMOTE):
                problems.append(f"{rel_page}:{line}: loads {url} from "
                                f"another host; the site must work offline")
        for tag, attr, url, line in parser.urls:
            url = url.strip()
            if not url or url in IGNORED_HREFS or url.startswith(
                    ("mailto:", "javascript:", "data:", "tel:")):
                continue
            if is_external(url):
                external.add(url)
                continue
            n_links += 1
            target, fragment = resolve(html_dir, page, url)
            where = f"{rel_page}:{line}: <{tag} {attr}={url!r}>"
            try:
                target.relative_to(html_dir)
            except ValueError:
                problems.append(f"{where} points outside the site")
                continue
            if not target.is_file():
                problems.append(f"{where}: {target.relative_to(html_dir)} "
                                f"does not exist")
                continue
            is_image = tag == "img" or (
                tag in ("source", "link") and
                target.suffix.lower() in IMAGE_SUFFIXES)
            if is_image:
                n_images += 1
                if target not in checked_images:
                    checked_images[target] = check_image(target)
                if checked_images[target]:
                    problems.append(f"{where}: image "
                                    f"{checked_images[target]}")
            if fragment and target.suffix == ".html":
                if fragment not in parse_page(str(target)).ids:
                    problems.append(f"{where}: no anchor #{fragment} in "
                                    f"{target.relative_to(html_dir)}")
    stats = {"pages": len(pages), "links": n_links, "images": n_images,
             "external": len(external)}
    return problems, stats


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass


def serve(html_dir):
    """Start a threaded HTTP server for ``html_dir`` on 127.0.0.1."""
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


def check_served(html_dir, base_url):
    """Fetch every page over HTTP; return the failures."""
    problems = []
    for page in site_pages(html_dir):
        rel = page.relative_to(html_dir).as_posix()
        url = base_url + urllib.parse.quote(rel)
        try:
            with urllib.request.urlopen(url, timeout=20) as response:
                body = response.read()
                if response.status != 200 or not body:
                    problems.append(f"GET {rel}: status {response.status}, "
                                    f"{len(body)} bytes")
        except (urllib.error.URLError, OSError) as exc:
            problems.append(f"GET {rel}: {exc}")
    return problems


def find_chromium(explicit=None):
    """Path of a Chromium executable, or None."""
    candidates = [explicit] if explicit else []
    candidates += [os.environ.get("CHROMIUM")] if os.environ.get(
        "CHROMIUM") else []
    candidates += [shutil.which(name) for name in CHROMIUM_NAMES]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def chromium_command(chromium, url, screenshot, profile,
                     window=(1280, 2000)):
    """Headless Chromium with no network beyond the local server.

    ``screenshot=None`` prints the rendered DOM (``--dump-dom``) instead of
    saving a screenshot.
    """
    output = "--dump-dom" if screenshot is None else \
        f"--screenshot={screenshot}"
    return [
        chromium, "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
        "--disable-default-apps", "--disable-extensions",
        "--no-default-browser-check", "--hide-scrollbars",
        "--disable-dev-shm-usage", "--mute-audio",
        # Every host name but the local server fails to resolve, so not
        # even a stray request can leave the machine.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--user-data-dir={profile}",
        f"--window-size={window[0]},{window[1]}",
        "--virtual-time-budget=5000",
        output, url,
    ]


def run_chromium(command, timeout=90):
    """Run Chromium in its own process group; return (exit code, output).

    On timeout the whole group is killed and the exit code is None.
    """
    process = subprocess.Popen(command, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        return None, out.decode(errors="replace"), err.decode(errors="replace")
    return (process.returncode, out.decode(errors="replace"),
            err.decode(errors="replace"))


def blank_fraction(path):
    """Share of the screenshot's pixels equal to its most common colour."""
    from PIL import Image

    with Image.open(path) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 24)
    total = sum(count for count, _ in colours)
    return max(count for count, _ in colours) / total


def take_screenshots(chromium, base_url, out_dir, timeout=90,
                     pages=SCREENSHOTS):
    """Screenshot each ``(file name, page)`` of ``pages``; return the problems."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    problems = []
    for name, page in pages:
        target = out_dir / name
        if target.exists():
            target.unlink()
        profile = tempfile.mkdtemp(prefix="aalu-chromium-")
        command = chromium_command(chromium, base_url + page, target,
                                   profile)
        try:
            code, out, err = run_chromium(command, timeout)
        finally:
            shutil.rmtree(profile, ignore_errors=True)
        if code is None:
            problems.append(f"screenshot of {page}: Chromium did not finish "
                            f"in {timeout} s")
            continue
        if code != 0 or not target.is_file() or target.stat().st_size == 0:
            tail = (out + err).strip().splitlines()[-5:]
            problems.append(f"screenshot of {page} failed (exit {code}): "
                            + " | ".join(tail))
            continue
        blank = blank_fraction(target)
        if blank > 0.995:
            problems.append(f"screenshot of {page} is blank "
                            f"({blank:.1%} one colour)")
        else:
            print(f"screenshot: {target} ({blank:.0%} background)")
    return problems


def check_math(chromium, html_dir, base_url, page=MATH_PAGE, timeout=90):
    """Check that MathJax typeset the equations of ``page``.

    Returns ``(problems, note)``. When the page loads MathJax from another
    host (no offline copy in the build), nothing can be checked without
    network and ``note`` says so.
    """
    path = Path(html_dir) / page
    if not path.is_file():
        return [f"math check: {page} does not exist"], None
    scripts = [url for tag, attr, url, _ in parse_page(str(path)).urls
               if tag == "script" and "mathjax" in url.lower()]
    if not scripts:
        return [f"math check: {page} loads no MathJax"], None
    if all(is_external(url) for url in scripts):
        return [], (f"math not checked: {page} loads MathJax from "
                    f"{scripts[0]} (install sphinx-mathjax-offline to "
                    f"bundle it)")
    profile = tempfile.mkdtemp(prefix="aalu-chromium-")
    try:
        code, dom, err = run_chromium(
            chromium_command(chromium, base_url + page, None, profile),
            timeout)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if code != 0:
        return [f"math check: Chromium failed on {page} (exit {code})"], None
    typeset = dom.count("<mjx-container")
    expected = path.read_text(encoding="utf-8").count('class="math')
    if typeset == 0:
        return [f"math check: MathJax typeset nothing on {page}"], None
    return [], f"math: {typeset} formulas typeset on {page} " \
               f"({expected} math elements in the HTML)"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD,
                        help="the Sphinx build folder holding html/ "
                             "(default: docs/_build)")
    parser.add_argument("--no-browser", action="store_true",
                        help="skip the Chromium screenshots")
    parser.add_argument("--chromium", default=None,
                        help="Chromium executable (default: found on PATH "
                             "or $CHROMIUM)")
    args = parser.parse_args(argv)

    html_dir = (args.build_dir / "html").resolve()
    if not (html_dir / "index.html").is_file():
        print(f"error: no built site at {html_dir}; run `make docs` first",
              file=sys.stderr)
        return 2

    problems, stats = check_links(html_dir)
    print(f"checked {stats['pages']} pages: {stats['links']} internal links "
          f"and {stats['images']} images ({stats['external']} distinct "
          f"external links not followed)")

    server = serve(html_dir)
    base_url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        problems += check_served(html_dir, base_url)
        if not args.no_browser:
            chromium = find_chromium(args.chromium)
            if chromium is None:
                print("error: Chromium not found; install it with "
                      "`bash docs/install_chromium.sh` or pass --no-browser",
                      file=sys.stderr)
                return 2
            problems += take_screenshots(chromium, base_url,
                                         args.build_dir / "screenshots")
            math_problems, note = check_math(chromium, html_dir, base_url)
            problems += math_problems
            if note:
                print(note)
    finally:
        server.shutdown()
        server.server_close()

    for problem in problems:
        print(f"FAIL {problem}")
    if problems:
        print(f"{len(problems)} problem(s) found")
        return 1
    print("site check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
