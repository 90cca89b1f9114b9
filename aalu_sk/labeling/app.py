"""The labeling web app: a FastAPI app over a :class:`LabelingProject`.

Requests must name the app's own host: the ``Host`` header (and the
``Origin`` header, when a browser sends one) must be ``127.0.0.1``,
``localhost``, ``[::1]`` or the bound address, else 403 (this stops DNS
rebinding and other sites' pages; binding every interface accepts any
host). Every route needs the store's token: ``?token=...``, an
``Authorization: Bearer ...`` header, or the ``aalu_sk_token`` cookie that
opening the token URL sets (HttpOnly, SameSite=Strict). Without it the
answer is 401. Requests are JSON in, JSON out; errors are
``{"error": "METHOD /route: what to fix"}`` (4xx for every malformed
request). Bodies over 64 KiB are refused (413).
Images are served by id only: the id is looked up in the store's index,
so no part of a request ever becomes a file-system path.

Routes
------
``GET /api/batch``
    ``{"cycle": int, "items": [{"id", "image", "prediction"}]}``: the
    unanswered items of the current batch.
``POST /api/labels`` ``{"id": str, "label": str or null}``
    200 once stored (``null`` undoes); 400 naming an unknown id or class.
``POST /api/skip`` ``{"id": str}``
    Leave the item out (an undo re-opens it).
``POST /api/classes`` ``{"name": str}``
    Add a class.
``GET /api/status``
    Counts, classes, progress of the background cycle, learning curve,
    stopping signal, unreadable files.
``GET /api/accuracy``
    The latest model's accuracy on the audit images (uniformly random,
    never trained on) with a Wilson interval, and the active vs random
    comparison: see :func:`aalu_sk.labeling.monitor.accuracy_estimate`.
``GET /api/review?limit=50``
    The labels most likely wrong, most suspicious first (out-of-fold
    probabilities ranked by cleanlab: :func:`aalu_sk.labeling.review.
    review`); relabel with ``POST /api/labels``, the history keeps both.
``GET /api/history?id=...``
    Every label event of an item.
``POST /api/retrain``
    Start the next cycle now if the batch is answered (e.g. after an
    error).
``GET /api/export?format=csv|labelstudio``
    The labels as ``path,label`` CSV or Label Studio JSON tasks.
``GET /api/image/{id}``
    The image file of an indexed item.
"""

import hmac
import json
import mimetypes
import os
from importlib import resources
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import (FileResponse, HTMLResponse, JSONResponse,
                               RedirectResponse, Response)
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

__all__ = ["create_app", "allowed_hosts_for", "MAX_BODY_BYTES", "COOKIE",
           "LOCAL_HOSTS"]

#: Host names always accepted in the ``Host`` and ``Origin`` headers.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")

#: Largest request body accepted, in bytes.
MAX_BODY_BYTES = 64 * 1024
#: Name of the cookie holding the token.
COOKIE = "aalu_sk_token"
_STATIC = {"app.js": "text/javascript; charset=utf-8",
           "app.css": "text/css; charset=utf-8"}
_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg",
                ".jpeg": "image/jpeg", ".bmp": "image/bmp",
                ".webp": "image/webp"}


def _error(status, message):
    return JSONResponse({"error": message}, status_code=status)


def allowed_hosts_for(bound_host):
    """The host names the app answers to when bound to ``bound_host``.

    ``127.0.0.1``, ``localhost`` and ``[::1]`` always, plus the bound
    address itself; None (any host) when bound to every interface
    (``0.0.0.0`` or ``::``), where the machine's own names are not known.
    """
    if bound_host in ("0.0.0.0", "::", ""):
        return None
    return frozenset(LOCAL_HOSTS + (bound_host.strip("[]").lower(),))


def _host_of(value):
    """The host name of a ``Host`` header or an ``Origin`` URL (or None)."""
    if "//" not in value:
        value = "//" + value
    try:
        host = urlsplit(value).hostname
    except ValueError:
        return None
    return host.lower() if host else None


def _static_files():
    folder = resources.files("aalu_sk.labeling") / "static"
    files = {name: (folder / name).read_bytes() for name in _STATIC}
    files["index.html"] = (folder / "index.html").read_bytes()
    return files


class _BodyLimit:
    """ASGI middleware: 413 for bodies over ``limit`` bytes."""

    def __init__(self, app, limit):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        too_big = _error(413, f"{scope.get('method')} {scope.get('path')}: "
                              f"the request body is over {self.limit} bytes")
        if length is not None and (not length.isdigit() or
                                   int(length) > self.limit):
            return await too_big(scope, receive, send)
        chunks, size, more = [], 0, True
        while more:  # read (at most limit + 1 bytes), then replay
            message = await receive()
            if message["type"] != "http.request":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.limit:
                return await too_big(scope, receive, send)
        body = b"".join(chunks)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body,
                        "more_body": False}
            return await receive()
        return await self.app(scope, replay, send)


def create_app(project, max_body=MAX_BODY_BYTES,
               allowed_hosts=LOCAL_HOSTS):
    """The FastAPI app serving ``project``.

    Parameters
    ----------
    project : LabelingProject
    max_body : int, default=MAX_BODY_BYTES
    allowed_hosts : collection of str or None, default=LOCAL_HOSTS
        Host names accepted in the ``Host`` header (and in ``Origin``,
        when a browser sends one); others get 403, which stops DNS
        rebinding and cross-site requests. None accepts any host (see
        :func:`allowed_hosts_for`).

    Returns
    -------
    app : fastapi.FastAPI
    """
    token = project.store.token
    static = _static_files()
    app = FastAPI(title="aalu-sk label", docs_url=None, redoc_url=None,
                  openapi_url=None)

    def _token_of(request):
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return request.query_params.get("token") or \
            request.cookies.get(COOKIE)

    hosts = None if allowed_hosts is None else \
        {h.strip("[]").lower() for h in allowed_hosts}

    def _foreign(request):
        """Why the request's Host or Origin is refused (or None)."""
        if hosts is None:
            return None
        host = _host_of(request.headers.get("host", ""))
        if host not in hosts:
            return (f"the Host header {request.headers.get('host')!r} is not "
                    f"one this app answers to ({', '.join(sorted(hosts))}); "
                    f"open the URL that `aalu-sk label` printed")
        origin = request.headers.get("origin")
        if origin is not None and _host_of(origin) not in hosts:
            return (f"requests from the page of {origin!r} are refused; "
                    f"only the app's own page may call it")
        return None

    @app.middleware("http")
    async def require_token(request, call_next):
        foreign = _foreign(request)
        if foreign:
            return _error(403, foreign)
        given = _token_of(request) or ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            return _error(401, "missing or wrong token: open the URL that "
                               "`aalu-sk label` printed (it ends in "
                               "?token=...), or send 'Authorization: "
                               "Bearer <token>'")
        response = await call_next(request)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    def _route(request):
        return f"{request.method} {request.url.path}"

    @app.exception_handler(HTTPException)
    async def http_error(request, exc):
        message = {404: "no such page or image", 405: "method not allowed"} \
            .get(exc.status_code, str(exc.detail))
        if exc.status_code == 404 and isinstance(exc.detail, str) and \
                exc.detail.startswith("the file"):
            message = exc.detail
        return _error(exc.status_code, f"{_route(request)}: {message}")

    @app.exception_handler(RequestValidationError)
    async def bad_query(request, exc):
        fields = sorted({".".join(map(str, e.get("loc", ())[1:])) or "?"
                         for e in exc.errors()})
        return _error(400, f"{_route(request)}: missing or invalid query "
                           f"parameter(s) {', '.join(fields)}")

    async def _json(request, *fields):
        if request.headers.get("content-type", "").split(";")[0].strip() \
                != "application/json":
            raise _BadRequest(415, "send the body as JSON with "
                                   "'Content-Type: application/json'")
        try:
            body = json.loads(await request.body())
        except (ValueError, RecursionError):
            raise _BadRequest(400, "the body is not valid JSON (or nested "
                                   "too deeply)") from None
        if not isinstance(body, dict) or any(f not in body for f in fields):
            raise _BadRequest(400, f"the body must be a JSON object with "
                                   f"{', '.join(map(repr, fields))}")
        for name, kinds in (("id", (str,)), ("name", (str,)),
                            ("who", (str, type(None)))):
            if name in body and not isinstance(body[name], kinds):
                raise _BadRequest(400, f"{name!r} must be text; got "
                                       f"{_short(body[name])}")
        return body

    @app.exception_handler(ValueError)
    async def value_error(request, exc):
        return _error(400, f"{_route(request)}: {exc}")

    @app.exception_handler(Exception)
    async def server_error(request, exc):  # a bug: still JSON, with a route
        return _error(500, f"{_route(request)}: internal error "
                           f"({type(exc).__name__}); see the server's log")

    @app.get("/")
    async def page(request: Request):
        if request.query_params.get("token"):
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(COOKIE, token, httponly=True,
                                samesite="strict")
            return response
        html = static["index.html"]
        return HTMLResponse(html, headers={
            "Content-Security-Policy": "default-src 'self'; img-src 'self'; "
                                       "style-src 'self'; script-src 'self'; "
                                       "connect-src 'self'"})

    @app.get("/static/{name}")
    async def asset(name: str):
        if name not in _STATIC:
            raise HTTPException(404)
        return Response(static[name], media_type=_STATIC[name])

    @app.get("/api/batch")
    async def batch():
        items = await run_in_threadpool(project.current_batch)
        if items:
            cycle = items[0]["cycle"]
        else:
            cycles = await run_in_threadpool(project.store.cycles)
            cycle = cycles[-1]["cycle"] if cycles else None
        return {"cycle": cycle,
                "items": [{"id": i["id"], "image": f"/api/image/{i['id']}",
                           "prediction": i["prediction"]} for i in items]}

    @app.get("/api/status")
    async def status():
        return await run_in_threadpool(project.status)

    @app.get("/api/accuracy")
    async def accuracy():
        return await run_in_threadpool(project.accuracy)

    @app.get("/api/review")
    async def review(limit: int = 50):
        return await run_in_threadpool(project.review, limit)

    @app.get("/api/image/{item}")
    async def image(item: str):
        path = await run_in_threadpool(project.store.item_path, item)
        if path is None:
            raise HTTPException(404)
        file = project.image_dir / path
        if not os.path.isfile(file) or not (
                project.follow_symlinks or _inside(file, project.image_dir)):
            raise HTTPException(404, f"the file {path!r} of image {item} is "
                                     f"no longer in {str(project.image_dir)!r}"
                                     f" (deleted, moved or replaced by a "
                                     f"link since it was indexed); restart "
                                     f"`aalu-sk label` to index the folder "
                                     f"again")
        suffix = "." + path.rsplit(".", 1)[-1].lower()
        return FileResponse(file,
                            media_type=_IMAGE_TYPES.get(
                                suffix, mimetypes.guess_type(path)[0]))

    def _who(request, body):
        who = body.get("who")
        if isinstance(who, str) and who.strip():
            return who.strip()[:100]
        return f"web {request.client.host}" if request.client else "web"

    @app.post("/api/labels")
    async def post_label(request: Request):
        body = await _json(request, "id", "label")
        item, label = body["id"], body["label"]
        who = _who(request, body)
        if label is None:
            seq = await run_in_threadpool(project.undo, item, who, "web")
        else:
            if not isinstance(label, str):
                raise ValueError(f"label must be a class name (text) or "
                                 f"null; got {label!r}")
            seq = await run_in_threadpool(project.label, item, label, who,
                                          "web")
        started = await run_in_threadpool(project.request_batch)
        return {"ok": True, "seq": seq, "next_batch_started": started}

    @app.post("/api/skip")
    async def post_skip(request: Request):
        body = await _json(request, "id")
        seq = await run_in_threadpool(project.skip, body["id"],
                                      _who(request, body), "web")
        started = await run_in_threadpool(project.request_batch)
        return {"ok": True, "seq": seq, "next_batch_started": started}

    @app.post("/api/classes")
    async def post_class(request: Request):
        body = await _json(request, "name")
        classes = await run_in_threadpool(project.add_class, body["name"])
        return {"classes": classes}

    @app.post("/api/retrain")
    async def post_retrain():
        return {"started": await run_in_threadpool(project.request_batch)}

    @app.get("/api/history")
    async def history(id: str):
        return {"id": id,
                "events": await run_in_threadpool(project.history, id)}

    @app.get("/api/export")
    async def export(format: str = "csv"):
        text = await run_in_threadpool(project.export, None, format)
        kind, name = ("text/csv", "labels.csv") if format == "csv" else \
            ("application/json", "labels_labelstudio.json")
        return Response(text, media_type=f"{kind}; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{name}"'})

    @app.exception_handler(_BadRequest)
    async def bad_request(request, exc):
        return _error(exc.status, f"{_route(request)}: {exc.message}")

    return _BodyLimit(app, max_body)


def _short(value):
    text = json.dumps(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


def _inside(path, root):
    real, top = os.path.realpath(path), os.path.realpath(root)
    return real.startswith(top.rstrip(os.sep) + os.sep)


class _BadRequest(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message
