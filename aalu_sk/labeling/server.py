"""Run the labeling app: bind, announce the URL with its token, serve.

The socket is bound (and listening) before the URL is printed, so a
script that reads the line can connect at once; ``port=0`` lets the
system pick a free port, and the printed URL has the real one.
"""

import logging
import socket
import threading
import webbrowser

__all__ = ["serve", "bind", "app_url", "PUBLIC_HOST_WARNING"]

logger = logging.getLogger("aalu_sk.labeling")

#: Printed when the app listens on every interface.
PUBLIC_HOST_WARNING = (
    "WARNING: --host {host} makes the labeling app reachable from other "
    "machines on your network. Anyone with the URL (it holds the token) "
    "can see your images and change labels; share it only with people who "
    "should label, and prefer --host 127.0.0.1 (the default).")


def bind(host, port):
    """A listening TCP socket on ``(host, port)``; ``port=0`` picks one.

    Raises
    ------
    OSError
        When the address is in use or cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def app_url(sock, token):
    """``http://HOST:PORT/?token=TOKEN`` for a bound socket."""
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/?token={token}"


def serve(project, sock, open_browser=False, host=None):
    """Serve ``project`` on the bound ``sock`` until interrupted.

    Starts the background cycle when no batch is open (a new store's
    cold start, or a store stopped between batches), opens the browser
    if asked, then runs uvicorn in this thread. The app answers only to
    the local names and to ``host`` (the ``--host`` given, default the
    socket's address): see :func:`.app.allowed_hosts_for`.
    """
    import uvicorn

    from .app import allowed_hosts_for, create_app

    bound = sock.getsockname()[0]
    allowed = allowed_hosts_for(host or bound)
    if allowed is not None:
        allowed = allowed | {bound}
    app = create_app(project, allowed_hosts=allowed)
    config = uvicorn.Config(app, log_level="warning", access_log=False,
                            lifespan="off")
    server = uvicorn.Server(config)
    project.request_batch()
    if open_browser:
        url = app_url(sock, project.store.token)
        threading.Timer(0.5, webbrowser.open, [url]).start()
    server.run(sockets=[sock])
