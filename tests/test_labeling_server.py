"""The real labeling server (``aalu-sk label``) driven over HTTP."""

import http.client
import importlib.util
import json
import os
import random
import signal
import socket
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from aalu_sk.labeling import write_digits_folder  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "label_walkthrough", ROOT / "docs" / "label_walkthrough.py")
walk = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(walk)

CLASSES = ",".join(str(d) for d in range(10))
FAST = ("--classes", CLASSES, "--batch-size", "5", "--strategy", "entropy",
        "--epochs", "2", "--image-size", "8", "--device", "cpu")


class Server:
    """One ``aalu-sk label`` process and a raw HTTP client for it."""

    def __init__(self, image_dir, store, *options):
        self.args = (image_dir, store, *options)
        self.start()

    def start(self):
        self.proc, self.url, self.stderr = walk.start_server(*self.args)
        parsed = urllib.parse.urlsplit(self.url)
        self.host, self.port = parsed.hostname, parsed.port
        self.token = urllib.parse.parse_qs(parsed.query)["token"][0]

    def request(self, method, path, body=None, token=True, headers=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        head = {"Content-Type": "application/json"}
        if token:
            head["Authorization"] = f"Bearer {self.token}"
        head.update(headers or {})
        data = body if isinstance(body, (bytes, type(None))) else \
            json.dumps(body).encode()
        conn.request(method, path, body=data, headers=head)
        response = conn.getresponse()
        raw = response.read()
        conn.close()
        kind = response.getheader("Content-Type", "")
        payload = json.loads(raw) if "json" in kind else raw
        return response.status, payload, response

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    base = tmp_path_factory.mktemp("served")
    truth = write_digits_folder(base / "digits", n=40, size=8)
    odd = base / "digits" / "sous dossier ü" / "été 1.png"
    odd.parent.mkdir()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(odd)
    return base / "digits", truth


@pytest.fixture(scope="module")
def server(folder, tmp_path_factory):
    """One server for the tests that do not restart it (start-up is the
    slow part); each of them works on its own item of the first batch."""
    srv = Server(folder[0], tmp_path_factory.mktemp("store") / "s.sqlite",
                 *FAST)
    yield srv
    srv.stop()


def _paths(image_dir):
    return {walk.hashlib.sha256(p.read_bytes()).hexdigest()[:16]: p.name
            for p in image_dir.glob("*.png")}


def _batch(srv, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, body, _ = srv.get("/api/batch")
        assert status == 200
        if body["items"]:
            return body
        time.sleep(0.1)
    raise TimeoutError("no batch")


def test_every_route_needs_the_token(server):
    item = _batch(server)["items"][0]["id"]
    routes = [("GET", "/"), ("GET", "/api/batch"), ("GET", "/api/status"),
              ("GET", f"/api/image/{item}"), ("GET", "/api/export"),
              ("GET", "/static/app.js"), ("GET", "/nowhere"),
              ("POST", "/api/labels"), ("POST", "/api/skip")]
    for method, path in routes:
        status, body, _ = server.request(method, path,
                                         {"id": item, "label": "1"},
                                         token=False)
        assert status == 401, (method, path)
        assert "token" in body["error"]
        status, _, _ = server.request(method, path, token=False, headers={
            "Authorization": "Bearer wrong"})
        assert status == 401
    assert server.get(f"/api/batch?token={server.token}",
                      token=False)[0] == 200
    status, _, response = server.get(f"/?token={server.token}", token=False)
    assert status == 303
    cookie = response.getheader("Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    status, page, _ = server.get("/", token=False,
                                 headers={"Cookie": cookie.split(";")[0]})
    assert status == 200 and b"/static/app.js" in page
    assert b"http" not in page.replace(b"http-equiv", b"")  # no CDN


def test_traversal_attempts_get_404(server, folder):
    item = _batch(server)["items"][0]["id"]
    real = folder[0] / "digit_0000.png"
    attempts = ["/api/image/../../etc/passwd",
                "/api/image/..%2F..%2F..%2Fetc%2Fpasswd",
                "/api/image/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
                "/api/image/..", "/api/image/%2e%2e",
                "/api/image//etc/passwd",
                "/api/image/" + urllib.parse.quote(str(real), safe=""),
                "/api/image/digit_0000.png",
                f"/api/image/{item}/../../../etc/passwd",
                f"/api/image/{item}%2F..%2F..%2Fsetup.py",
                "/static/../store.py", "/static/..%2Fstore.py",
                "/static/index.html/../app.py", "/static/%2Fetc%2Fpasswd",
                "/../../etc/passwd", "/api/image/" + item.upper()]
    for path in attempts:
        status, body, _ = server.get(path)
        assert status == 404, path
        assert b"root:" not in json.dumps(body).encode()
    status, data, response = server.get(f"/api/image/{item}")
    assert status == 200 and response.getheader("Content-Type") == \
        "image/png" and data[:4] == b"\x89PNG"
    odd = folder[0] / "sous dossier ü" / "été 1.png"
    odd_id = walk.hashlib.sha256(odd.read_bytes()).hexdigest()[:16]
    status, data, _ = server.get(f"/api/image/{odd_id}")
    assert status == 200 and data == odd.read_bytes()


def test_unknown_class_or_id_and_bad_bodies(server):
    item = _batch(server)["items"][0]["id"]
    status, body, _ = server.post("/api/labels", {"id": item, "label": "cat"})
    assert status == 400 and "unknown class 'cat'" in body["error"]
    status, body, _ = server.post("/api/labels", {"id": "f00", "label": "1"})
    assert status == 400 and "unknown id 'f00'" in body["error"]
    status, body, _ = server.post("/api/labels", {"id": item})
    assert status == 400 and "'label'" in body["error"]
    status, body, _ = server.post("/api/labels", b"{not json")
    assert status == 400 and "JSON" in body["error"]
    status, body, _ = server.post("/api/labels", {"id": item, "label": 3})
    assert status == 400 and "text" in body["error"]
    status, body, _ = server.post("/api/labels", {"id": item, "label": "1"},
                                  headers={"Content-Type": "text/plain"})
    assert status == 415
    big = {"id": item, "label": "1", "pad": "x" * 70_000}
    status, body, _ = server.post("/api/labels", big)
    assert status == 413 and "bytes" in body["error"]
    status, body, _ = server.post("/api/classes", {"name": "<b>new</b>"})
    assert status == 200 and body["classes"][-1] == "<b>new</b>"
    status, body, _ = server.post("/api/labels",
                                  {"id": item, "label": "<b>new</b>"})
    assert status == 200
    assert server.get("/api/export?format=xml")[0] == 400


def test_two_clients_last_write_wins_and_both_are_in_history(server,
                                                             folder):
    item = _batch(server)["items"][1]["id"]
    assert server.post("/api/labels", {"id": item, "label": "3",
                                       "who": "alice"})[0] == 200
    assert server.post("/api/labels", {"id": item, "label": "8",
                                       "who": "bob"})[0] == 200
    _, csv_text, _ = server.get("/api/export?format=csv")
    rows = dict(line.split(",") for line in
                csv_text.decode().strip().splitlines()[1:])
    assert rows[_paths(folder[0])[item]] == "8"
    _, history, _ = server.get(f"/api/history?id={item}")
    assert [(e["label"], e["who"]) for e in history["events"]] == \
        [("3", "alice"), ("8", "bob")]
    _, tasks, _ = server.get("/api/export?format=labelstudio")
    mine = [t for t in tasks if t["meta"]["item"] == item]
    assert mine[0]["annotations"][0]["result"][0]["value"]["choices"] == \
        ["8"]


def test_labels_survive_kill_9_and_the_server_resumes(folder, tmp_path):
    image_dir, truth = folder
    srv = Server(image_dir, tmp_path / "k.sqlite", *FAST)
    acked, stop = {}, threading.Event()
    try:
        first = _batch(srv)
        paths = _paths(image_dir)

        def hammer():
            # label (and relabel) batch items until the server dies
            rng = random.Random(0)
            while not stop.is_set():
                try:
                    items = srv.get("/api/batch")[1]["items"]
                    if not items:
                        time.sleep(0.05)
                        continue
                    item = rng.choice(items)["id"]
                    value = truth.get(paths.get(item))
                    if value is None:            # the non-digit image
                        continue
                    status, _, _ = srv.post("/api/labels",
                                            {"id": item, "label": value})
                    if status == 200:
                        acked[item] = value
                except (OSError, http.client.HTTPException):
                    return
        worker = threading.Thread(target=hammer)
        worker.start()
        deadline = time.time() + 120  # into the second batch if it can
        while len(acked) < 7 and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(random.Random(1).uniform(0, 0.3))
        srv.kill9()
        stop.set()
        worker.join(30)
        assert len(acked) >= 4
        token = srv.token
        srv.start()                                   # same store
        assert srv.token == token
        _, csv_text, _ = srv.get("/api/export?format=csv")
        stored = dict(line.split(",") for line in
                      csv_text.decode().strip().splitlines()[1:])
        assert {paths[i]: v for i, v in acked.items()}.items() <= \
            stored.items()
        batch = _batch(srv)
        assert batch["cycle"] >= first["cycle"]
        assert not {i["id"] for i in batch["items"]} & set(acked)
    finally:
        stop.set()
        srv.stop()


def test_public_host_prints_a_warning(folder, tmp_path):
    srv = Server(folder[0], tmp_path / "w.sqlite", *FAST, "--host",
                 "0.0.0.0")
    try:
        assert srv.url.startswith("http://127.0.0.1:")
        assert srv.get("/api/status")[0] == 200
        time.sleep(0.2)
        assert "WARNING: --host 0.0.0.0" in srv.stderr.read_text()
    finally:
        srv.stop()


def test_cli_errors_name_the_option(folder, tmp_path, capsys):
    from aalu_sk.cli import main

    def run(*args):
        with pytest.raises(SystemExit) as info:
            main(["label", *args, "--no-browser"])
        text = str(info.value.code) if isinstance(info.value.code, str) \
            else capsys.readouterr().err
        return (1 if isinstance(info.value.code, str) else
                info.value.code), text
    code, text = run(str(tmp_path / "nope"), "--classes", "a", "--store",
                     str(tmp_path / "x.sqlite"))
    assert code == 1 and "IMAGE_DIR" in text and "not a folder" in text
    code, text = run(str(folder[0]), "--store", str(tmp_path / "y.sqlite"))
    assert code == 1 and "--classes" in text
    code, text = run(str(folder[0]), "--classes", "a,,b")
    assert code == 2 and "--classes" in text
    code, text = run(str(folder[0]), "--classes", "a", "--strategy", "nope")
    assert code == 2 and "--strategy" in text
    code, text = run(str(folder[0]), "--classes", "a", "--port", "70000")
    assert code == 2 and "--port" in text
    for option, value, interval in [("--prefetch", "0", "(0, 1]"),
                                    ("--random-share", "1", "[0, 1)"),
                                    ("--device", "tpu", "tpu")]:
        code, text = run(str(folder[0]), "--classes", "a", option, value)
        assert code == 2 and option in text and interval in text, text
    (tmp_path / "file").write_text("not a folder")
    code, text = run(str(folder[0]), "--classes", "a", "--store",
                     str(tmp_path / "file" / "s.sqlite"))
    assert code == 1 and "argument --store: cannot create the folder" in text
    code, text = run(str(folder[0]), "--classes", "a", "--store",
                     str(tmp_path))
    assert code == 1 and "argument --store: " in text and \
        "is not a usable SQLite labeling store" in text
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        code, text = run(str(folder[0]), "--classes", "a", "--store",
                         str(tmp_path / "z.sqlite"), "--port",
                         str(busy.getsockname()[1]))
    finally:
        busy.close()
    assert code == 1 and "--port" in text and "--port 0" in text


# -- hardening -----------------------------------------------------------------
def test_foreign_host_or_origin_gets_403(server):
    port = server.port
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.2",
                 f"localhost.evil.example:{port}", ""):
        status, body, _ = server.get("/api/status", headers={"Host": host})
        assert status == 403, host
        assert "Host header" in body["error"]
    for host in (f"localhost:{port}", f"[::1]:{port}", f"127.0.0.1:{port}",
                 "LOCALHOST"):
        assert server.get("/api/status", headers={"Host": host})[0] == 200
    item = _batch(server)["items"][-1]["id"]
    status, body, _ = server.post("/api/skip", {"id": item}, headers={
        "Origin": "http://evil.example"})
    assert status == 403 and "evil.example" in body["error"]
    assert server.get(f"/api/history?id={item}")[1]["events"] == []
    status, _, _ = server.post("/api/skip", {"id": item}, headers={
        "Origin": f"http://127.0.0.1:{port}"})
    assert status == 200
    assert server.post("/api/labels", {"id": item, "label": None})[0] == 200


def test_every_malformed_body_is_a_4xx_json_error_naming_the_route(server):
    item = _batch(server)["items"][-1]["id"]
    cases = [
        ("/api/labels", b"[" * 30_000 + b"]" * 30_000, "JSON"),
        ("/api/labels", b"\xff\xfe{}", "JSON"),
        ("/api/labels", [item, "1"], "'id', 'label'"),
        ("/api/labels", {"id": [item], "label": "1"}, "'id' must be text"),
        ("/api/labels", {"id": {"a": 1}, "label": "1"}, "'id' must be text"),
        ("/api/labels", {"id": item, "label": ["1"]}, "text"),
        ("/api/labels", {"id": item, "label": "1", "who": 5}, "'who'"),
        ("/api/labels", {"label": "1"}, "'id'"),
        ("/api/skip", {}, "'id'"),
        ("/api/skip", {"id": None}, "'id' must be text"),
        ("/api/classes", {"name": 3}, "'name' must be text"),
        ("/api/classes", {"name": ["x", "y"]}, "'name' must be text"),
        ("/api/classes", {"name": ""}, "non-empty"),
        ("/api/classes", {"name": "a\nb"}, "not allowed"),
        ("/api/labels", {"id": "f00", "label": "1"}, "unknown id 'f00'"),
        ("/api/labels", {"id": item, "label": "cat"}, "unknown class"),
    ]
    for route, body, needle in cases:
        status, answer, response = server.post(route, body)
        assert 400 <= status < 500, (route, body, status)
        assert "json" in response.getheader("Content-Type")
        assert answer["error"].startswith(f"POST {route}: "), answer
        assert needle in answer["error"], (needle, answer)
        for python_name in ("next_batch", "add_class", "()"):
            assert python_name not in answer["error"]
    status, answer, _ = server.get("/api/history")
    assert status == 400 and answer["error"].startswith("GET /api/history:")
    assert "id" in answer["error"]
    status, answer, _ = server.get("/api/export?format=xml")
    assert status == 400 and answer["error"].startswith("GET /api/export:")
    events = server.get(f"/api/history?id={item}")[1]["events"]
    assert [e["action"] for e in events] in ([], ["skip", "undo"])
    assert "a\nb" not in server.get("/api/status")[1]["classes"]


def _odd_folder(base):
    """Digits plus a link to a file outside and a non-UTF-8 file name."""
    folder = base / "odd"
    write_digits_folder(folder, n=12, size=8)
    outside = base / "secret.png"
    Image.new("RGB", (8, 8), (0, 200, 0)).save(outside)
    os.symlink(outside, folder / "link.png")
    bad = os.fsencode(folder) + b"/caf\xe9.png"
    Image.new("RGB", (8, 8), (0, 0, 200)).save(os.fsdecode(bad), "PNG")
    return folder, outside


def _id(path):
    return walk.hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def test_odd_files_are_skipped_and_a_deleted_image_is_a_404(tmp_path):
    folder, outside = _odd_folder(tmp_path)
    srv = Server(folder, tmp_path / "odd.sqlite", *FAST)
    try:
        status = srv.get("/api/status")[1]
        assert status["n_items"] == 12
        reasons = {u["path"]: u["error"] for u in status["unreadable"]}
        assert "UTF-8" in reasons["caf\\xe9.png"]
        assert "outside the folder" in reasons["link.png"]
        assert srv.get(f"/api/image/{_id(outside)}")[0] == 404
        victim = folder / "digit_0003.png"
        item = _id(victim)
        assert srv.get(f"/api/image/{item}")[0] == 200
        victim.unlink()
        status, body, _ = srv.get(f"/api/image/{item}")
        assert status == 404
        assert body["error"].startswith(f"GET /api/image/{item}: ")
        assert "'digit_0003.png'" in body["error"]
        # a file swapped for a link to elsewhere after indexing
        swapped = folder / "digit_0004.png"
        item = _id(swapped)
        swapped.unlink()
        os.symlink(outside, swapped)
        assert srv.get(f"/api/image/{item}")[0] == 404
    finally:
        srv.stop()
    srv = Server(folder, tmp_path / "follow.sqlite", *FAST,
                 "--follow-symlinks")
    try:
        status, data, _ = srv.get(f"/api/image/{_id(outside)}")
        assert status == 200 and data == outside.read_bytes()
    finally:
        srv.stop()


def test_cli_arguments_are_checked_before_a_store_is_written(folder,
                                                             tmp_path,
                                                             capsys):
    from aalu_sk.cli import main
    from aalu_sk.labeling import LabelingProject

    store = tmp_path / "never.sqlite"
    for args, option in [((str(folder[0]),), "--classes"),
                         ((str(folder[0]), "--classes", "a,a"),
                          "--classes"),
                         ((str(folder[0]), "--classes", "a,\x07b"),
                          "--classes"),
                         ((str(tmp_path / "nope"), "--classes", "a"),
                          "IMAGE_DIR"),
                         ((str(folder[0]), "--classes", "a", "--prefetch",
                           "2"), "--prefetch")]:
        with pytest.raises(SystemExit) as info:
            main(["label", *args, "--store", str(store), "--no-browser"])
        text = info.value.code if isinstance(info.value.code, str) else \
            capsys.readouterr().err
        assert option in text, (args, text)
        assert not store.exists(), args
    with pytest.raises(ValueError, match="given twice"):
        LabelingProject(folder[0], ["a", "a"], store=store)
    assert not store.exists()


def test_accuracy_and_review_routes(server):
    _batch(server)
    status, body, _ = server.get("/api/accuracy")
    assert status == 200
    assert set(body) == {"cycle", "accuracy", "active_vs_random", "n_audit",
                         "n_audit_labeled"}
    assert server.get("/api/status")[1]["accuracy"] == body
    status, body, _ = server.get("/api/review?limit=5")
    assert status == 200 and body["n_labeled"] == \
        server.get("/api/status")[1]["n_labeled"]
    assert len(body["items"]) <= 5
    for bad in ("0", "x", "-3"):
        status, body, _ = server.get(f"/api/review?limit={bad}")
        assert status == 400 and body["error"].startswith("GET /api/review:")
        assert "limit" in body["error"]
