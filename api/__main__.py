"""``python -m api``: serve the stand-in on 127.0.0.1 in the foreground.

Configuration comes from MOOVITAMIX_API_PORT / _RECORDS / _SEED (see api.settings).
"""

from __future__ import annotations

import errno
import socket
import sys

import uvicorn

from api.app import create_app
from api.settings import Settings, SettingsError, load_settings


def _bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket ourselves, before generating data or starting uvicorn.

    uvicorn would report a busy port with a traceback-laden log; binding here lets us
    fail with one line, and handing the same socket to uvicorn leaves no window in
    which another process could grab the port between the check and the start.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Same option uvicorn sets: a port in TIME_WAIT is free, one being listened on is not.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _serve(settings: Settings, sock: socket.socket) -> None:
    app = create_app(records=settings.records, seed=settings.seed)
    print(
        f"moovitamix-api: serving {settings.records} records per endpoint "
        f"(/tracks, /users, /listen_history), seed {settings.seed}, "
        f"at http://{settings.host}:{settings.port} (docs: http://{settings.host}:{settings.port}/docs)",
        file=sys.stderr,
        flush=True,
    )
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="info")
    uvicorn.Server(config).run(sockets=[sock])


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        sock = _bind(settings.host, settings.port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(
                f"error: port {settings.port} on {settings.host} is already in use (set MOOVITAMIX_API_PORT)",
                file=sys.stderr,
            )
        else:
            print(
                f"error: cannot listen on {settings.host}:{settings.port}: {exc.strerror}",
                file=sys.stderr,
            )
        return 1
    try:
        _serve(settings, sock)
    except KeyboardInterrupt:
        # Ctrl-C before uvicorn installs its handlers (e.g. while generating ids).
        return 130
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
