"""``python -m api.stand_in``: serve the stand-in in the foreground (settings: api/README.md)."""

from __future__ import annotations

import argparse
import errno
import socket
import sys

import uvicorn

from api.stand_in.app import create_app
from api.stand_in.settings import Settings, SettingsError, load_settings


def _bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket ourselves, before generating data or starting uvicorn.

    uvicorn would report a busy port with a traceback-laden log; binding here lets us
    fail with one line, and handing the same socket to uvicorn leaves no window in
    which another process could grab the port between the check and the start.
    """
    # proto=IPPROTO_TCP, not the default 0: asyncio only sets TCP_NODELAY on sockets that say
    # they are TCP, and without it a keep-alive client waits ~40 ms (Nagle + delayed ACK)
    # for every response sent in two writes (headers, then body).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    # Same option uvicorn sets: a port in TIME_WAIT is free, one being listened on is not.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def describe(settings: Settings) -> str:
    """The start-up line: everything needed to reproduce what this server serves."""
    faults = ",".join(f"{name}={rate}" for name, rate in vars(settings.faults).items() if rate > 0) or "none"
    return (
        f"moovitamix-api: serving {settings.mode} data, day {settings.day}, universe {settings.universe}, "
        f"seed {settings.seed}, {settings.tracks} tracks and {settings.users} users on day 0 "
        f"(/tracks, /users, /listen_history), faults {faults}, token {'on' if settings.token else 'off'}, "
        f"at http://{settings.host}:{settings.port} (docs: http://{settings.host}:{settings.port}/docs)"
    )


def _serve(settings: Settings, sock: socket.socket) -> None:
    app = create_app(settings)
    print(describe(settings), file=sys.stderr, flush=True)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="info")
    uvicorn.Server(config).run(sockets=[sock])


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Configured by MOOVITAMIX_API_* variables (data, day, faults, token, port): api/README.md.",
    ).parse_args(argv)
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
            print(f"error: cannot listen on {settings.host}:{settings.port}: {exc.strerror}", file=sys.stderr)
        return 1
    try:
        _serve(settings, sock)
    except KeyboardInterrupt:
        # Ctrl-C before uvicorn installs its handlers (e.g. while drawing ids).
        return 130
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
