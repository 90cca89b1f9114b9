"""Label three batches of digits in headless Chromium, kill, restart, check.

The walkthrough of the "Label your own images" page, run by a script:

1. write scikit-learn's digits as PNG files (``aalu_sk.labeling``);
2. start ``aalu-sk label`` on them (a real server, ``--port 0``) and read
   the URL it prints;
3. open it in headless Chromium (Debian's ``chromium`` and
   ``chromium-driver``, driven by Selenium through the system's
   ``/usr/bin/chromedriver``; nothing is downloaded), label ``--batches``
   batches with the number keys (one undo on the way), waiting for each
   next batch to appear;
4. download the CSV export with the page's link;
5. ``kill -9`` the server, start it again on the same store and check that
   the token, every label and the open batch are back;
6. load the exported CSV into a fresh store with ``import_labels``.

Usage::

    python docs/label_walkthrough.py --workdir /tmp/walk          # ~2 min
    python docs/label_walkthrough.py --workdir /tmp/demo --demo \\
        --screenshots docs/_static/labeling     # `aalu-sk label --demo`

Exit status 0 when every check passed. ``tests/test_labeling_browser.py``
runs the same function with a smaller setting.
"""

import argparse
import hashlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_NAMES = ("/usr/bin/chromium", "/usr/bin/chromium-browser",
                  "/usr/bin/google-chrome")


def start_server(image_dir, store, *options, env=None, timeout=120,
                 cwd=None):
    """Start ``aalu-sk label`` and return ``(process, url, stderr path)``.

    ``image_dir=None`` leaves out IMAGE_DIR and ``--store`` (for
    ``--demo``, run in ``cwd``).
    """
    err = Path(cwd or Path(store).parent) / \
        f"server-{int(time.time() * 1e3)}.stderr.log"
    where = [] if image_dir is None else [str(image_dir), "--store",
                                          str(store)]
    cmd = [sys.executable, "-m", "aalu_sk.cli", "label", *where,
           "--no-browser", "--port", "0", *options]
    env = dict(os.environ if env is None else env, OMP_NUM_THREADS="1",
               PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=cwd,
                            stderr=open(err, "w"), text=True, env=env)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout],
                     daemon=True).start()
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        match = re.search(r"(http://\S+\?token=\S+)", line)
        if match:
            return proc, match.group(1), err
    proc.kill()
    raise RuntimeError(f"aalu-sk label printed no URL; stderr:\n"
                       f"{err.read_text()}")


def api(url, path, token, body=None):
    """JSON from the app (``body`` posts JSON)."""
    base = url.split("/?")[0]
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, headers={
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        text = response.read().decode()
    return json.loads(text) if text.startswith(("{", "[")) else text


def chromium(download_dir=None):
    """Headless Chromium through the system chromedriver (no download)."""
    os.environ["SE_OFFLINE"] = "true"   # Selenium Manager must not fetch
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    binary = next((b for b in CHROMIUM_NAMES if Path(b).exists()), None)
    if binary:
        options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-dev-shm-usage", "--window-size=1400,1200"):
        options.add_argument(flag)
    if download_dir:
        options.add_experimental_option("prefs", {
            "download.default_directory": str(download_dir),
            "download.prompt_for_download": False})
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER),
                            options=options)


def _wait(predicate, timeout, what, driver=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    shown = ""
    if driver is not None:  # what the page said, for the failure message
        shown = driver.execute_script(
            "return [document.getElementById('message').textContent, "
            "document.getElementById('progress').textContent, "
            "document.activeElement.tagName + '#' + document.activeElement.id,"
            " JSON.stringify(state.tiles.map(t => [t.id, t.answer, t.pending])),"
            " state.focus, state.waiting]")
    raise TimeoutError(f"waited {timeout}s for {what}; page: {shown}")


def keys_for(classes):
    """The page's key of each class: its name when that is one digit or
    letter, else the next free key of 1-9, 0, a-z (as ``app.js``)."""
    keys, used = [None] * len(classes), set()
    for k, name in enumerate(classes):
        key = name.lower()
        if len(key) == 1 and key in "0123456789abcdefghijklmnopqrstuvwxyz" \
                and key not in used:
            keys[k] = key
            used.add(key)
    free = [c for c in "1234567890abcdefghijklmnopqrstuvwxyz"
            if c not in used]
    for k in range(len(classes)):
        if keys[k] is None and free:
            keys[k] = free.pop(0)
    return dict(zip(classes, keys))


def _ids_by_hash(folder):
    return {hashlib.sha256(p.read_bytes()).hexdigest()[:16]: p.name
            for p in Path(folder).glob("*.png")}


def run_walkthrough(workdir, n=300, batches=3, batch_size=20,
                    options=(), screenshots=None, timeout=300, log=print,
                    demo=False):
    """Run the walkthrough; return a summary dict (raises on a failure).

    ``demo=True`` starts the documented ``aalu-sk label --demo`` in
    ``workdir`` instead (all 1797 digits, classes 0-9, the default batch
    size; ``n`` and ``batch_size`` are then ignored).
    """
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from aalu_sk.labeling import LabelingProject, write_digits_folder

    workdir = Path(workdir)
    images, store = workdir / "digits", workdir / "labels.sqlite"
    if demo:
        images = workdir / "runs" / "label-demo" / "digits"
        store, n = images.parent / "labels.sqlite", None
    downloads = workdir / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    truth = write_digits_folder(images, n=n)  # what --demo writes, for n=None
    truth_by_id = {i: truth[name] for i, name in _ids_by_hash(images).items()}
    keys = keys_for([str(d) for d in range(10)])  # classes 0..9: key = name
    assert keys["3"] == "3"
    classes = ",".join(str(d) for d in range(10))
    args = ("--classes", classes, "--batch-size", str(batch_size), *options)
    where = (images, store)
    if demo:
        args, where = ("--demo", *options), (None, None)
    shots = Path(screenshots) if screenshots else workdir / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    proc, url, _ = start_server(*where, *args, cwd=workdir)
    token = url.split("token=")[1]
    log(f"server: {url}")
    driver = chromium(downloads)
    given, seen_batches, summary = {}, [], {"url": url}
    try:
        driver.get(url)

        def tiles():  # [(id, stored, focused)], read in one script call
            return driver.execute_script(
                "return [...document.querySelectorAll('#grid .tile')].map("
                "t => [t.dataset.id, t.classList.contains('done'), "
                "t.classList.contains('focus')])")

        def done(item):
            # stored; or, for a batch's last answer, already replaced by
            # the next batch (prefetched, so it can appear at once)
            shown = tiles()
            return any(i == item and d for i, d, _ in shown) or \
                bool(shown) and item not in {i for i, _, _ in shown}

        for b in range(batches):
            ids = _wait(lambda: (lambda t: [i for i, _, _ in t] if t and
                                 not any(d for _, d, _ in t) else None)(
                tiles()), timeout, f"batch {b}")
            assert not set(ids) & set(given), "a labeled image came back"
            seen_batches.append(ids)
            log(f"batch {b}: {len(ids)} images")
            body = driver.find_element(By.TAG_NAME, "body")
            for k, item in enumerate(ids):
                assert [i for i, _, f in tiles() if f] == [item]
                body.send_keys(keys[truth_by_id[item]])
                _wait(lambda item=item: done(item), 60, "the label to be stored",
                      driver)
                if b == 0 and k == 1:        # undo once, then label again
                    body.send_keys(Keys.BACKSPACE)
                    _wait(lambda item=item: not done(item), 60, "the undo",
                          driver)
                    assert [i for i, _, f in tiles() if f] == [item]
                    body.send_keys(keys[truth_by_id[item]])
                    _wait(lambda item=item: done(item), 60, "the label again",
                          driver)
                given[item] = truth_by_id[item]
                if b == batches - 1 and k == len(ids) // 2:
                    driver.save_screenshot(str(shots / "labeling_batch.png"))
            # every tile stored, or already the next (prefetched) batch
            _wait(lambda ids=ids: (lambda t: all(d for _, d, _ in t) or
                                   not {i for i, _, _ in t} & set(ids))(
                                       tiles()),
                  30, "every tile answered", driver)
        status = api(url, "/api/status", token)
        assert status["n_labeled"] == len(given), status["n_labeled"]
        _wait(lambda: not any(d for _, d, _ in tiles()) and tiles(),
              timeout, "the batch after the last one")
        time.sleep(1.0)
        driver.refresh()
        _wait(lambda: tiles(), timeout, "the page after a reload")
        time.sleep(1.0)
        driver.save_screenshot(str(shots / "labeling_page.png"))
        # the learning curve has tick values; the accuracy box says something
        ticks = driver.execute_script(
            "return [document.querySelectorAll('#curve .ytick').length, "
            "[...document.querySelectorAll('#curve .xtick')].map("
            "t => t.textContent)]")
        assert ticks[0] == 5 and len(ticks[1]) >= 2, ticks
        accuracy_text = driver.find_element(By.ID, "accuracy").text
        assert accuracy_text and accuracy_text != "No model yet.", \
            accuracy_text
        summary["accuracy"] = api(url, "/api/accuracy", token)
        # the review view: keep the first label, relabel the second
        review = api(url, "/api/review?limit=24", token)["items"]
        driver.find_element(By.ID, "review").click()
        if review:
            _wait(lambda: [i for i, _, _ in tiles()] == [r["id"] for r in
                                                           review],
                  30, "the review view", driver)
            body = driver.find_element(By.TAG_NAME, "body")
            body.send_keys(" ")
            if len(review) > 1:
                second = review[1]["id"]
                before = len(api(url, f"/api/history?id={second}", token)[
                    "events"])
                body.send_keys(keys[truth_by_id[second]])
                _wait(lambda: len(api(url, f"/api/history?id={second}",
                                      token)["events"]) == before + 1,
                      30, "the relabel in the history", driver)
            assert len(api(url, f"/api/history?id={review[0]['id']}",
                           token)["events"]) >= 1
            back = driver.find_element(By.ID, "back")
            if back.is_displayed():        # else every tile was answered
                back.click()
        else:
            _wait(lambda: "Nothing to review" in driver.find_element(
                By.ID, "message").text, 30, "the review message", driver)
        summary["reviewed"] = len(review)
        _wait(lambda: tiles() and not any(d for _, d, _ in tiles()),
              timeout, "the batch after the review", driver)
        # a class name with markup is shown as text, never as HTML
        hostile = '<img src=x onerror="document.title=1">'
        api(url, "/api/classes", token, {"name": hostile})
        _wait(lambda: hostile in driver.find_element(By.ID, "classes").text,
              30, "the new class on the page")
        legend = driver.execute_script(
            "return [...document.querySelectorAll('#classes li')].map("
            "li => [li.querySelector('.name').textContent, "
            "li.querySelector('button').textContent])")
        assert legend == [[c, keys_for([*keys, hostile])[c]]
                          for c in [*keys, hostile]], legend
        assert dict(legend)["3"] == "3" and dict(legend)[hostile] == "a"
        assert not driver.find_elements(By.CSS_SELECTOR, "#classes img")
        assert driver.title == "aalu-sk label"
        driver.find_element(By.ID, "export-csv").click()
        exported = _wait(lambda: [p for p in downloads.glob("*.csv")
                                  if p.stat().st_size], 30, "the download")[0]
        rows = [line.split(",") for line in
                exported.read_text().strip().splitlines()[1:]]
        assert all(truth[p] == v for p, v in rows), "export differs"
        assert len(rows) == len(given), (len(rows), len(given))
        summary["exported"] = str(exported)
        open_before = api(url, "/api/batch", token)["items"]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        log("server killed with SIGKILL; restarting")
        proc, url2, _ = start_server(*where, *args, cwd=workdir)
        assert url2.split("token=")[1] == token, "the token changed"
        after = api(url2, "/api/status", token)
        assert after["n_labeled"] == len(given), after["n_labeled"]
        csv_after = api(url2, "/api/export?format=csv", token)
        assert sorted(csv_after.strip().splitlines()[1:]) == sorted(
            exported.read_text().strip().splitlines()[1:])
        open_after = api(url2, "/api/batch", token)["items"]
        assert [i["id"] for i in open_after] == \
            [i["id"] for i in open_before], "the open batch changed"
        driver.get(url2)
        _wait(lambda: tiles(), timeout, "the page after the restart")
        fresh = LabelingProject(images, [str(d) for d in range(10)],
                                store=workdir / "imported.sqlite")
        result = fresh.import_labels(exported)
        assert fresh.store.labels() == given, "import_labels differs"
        summary.update(n_labeled=len(given), batches=seen_batches,
                       imported=result["imported"])
        log(f"labeled {len(given)} images in {batches} batches; after "
            f"kill -9 and restart: {after['n_labeled']} labels, same token, "
            f"same open batch; import_labels loaded {result['imported']}")
    finally:
        driver.quit()
        proc.kill()
        proc.wait()
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--n", type=int, default=300,
                        help="digits written (default: 300)")
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--screenshots", default=None,
                        help="folder for the page's screenshots")
    parser.add_argument("--demo", action="store_true",
                        help="run `aalu-sk label --demo` (all 1797 digits, "
                             "default settings) in --workdir")
    parser.add_argument("--option", action="append", default=[],
                        help="extra option for aalu-sk label (repeatable), "
                             "e.g. --option=--strategy=entropy")
    args = parser.parse_args(argv)
    start = time.time()
    run_walkthrough(args.workdir, n=args.n, batches=args.batches,
                    batch_size=args.batch_size, options=args.option,
                    screenshots=args.screenshots, demo=args.demo)
    print(f"walkthrough passed in {time.time() - start:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
