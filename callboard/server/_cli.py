"""The ``callboard`` command line: ``callboard serve module:app``.

``python -m callboard serve`` is the same command. With ``--workers N`` the
parent process binds the sockets, starts N worker processes that each serve
on them (``fd://``), forwards SIGINT/SIGTERM to them and waits.

Not here: serving itself (``_serve``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from types import FrameType

from callboard._asgi import ASGIApp

from ._config import DEFAULT_MAX_MESSAGE_SIZE, ServerConfig
from ._serve import run

__all__ = ["load_application", "main"]


def load_application(path: str) -> ASGIApp:
    """Import ``module:attribute`` (``module`` alone means ``module:application``).

    Raises:
        ValueError: the module or attribute does not exist, naming which.
        TypeError: what it names is not callable.
    """
    module_name, _, attribute = path.partition(":")
    attribute = attribute or "application"
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ValueError(f"Cannot import {module_name!r} (from {path!r}): {exc}") from exc
    app = module
    for part in attribute.split("."):
        try:
            app = getattr(app, part)
        except AttributeError:
            raise ValueError(
                f"Module {module_name!r} has no attribute {attribute!r}; "
                "point at the ASGI application, like 'myproject.asgi:application'."
            ) from None
    if not callable(app):
        raise TypeError(f"{path!r} is not callable, so not an ASGI application.")
    return app


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callboard", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve an ASGI application on hypercorn (Trio)")
    serve.add_argument("application", help="module:attribute, e.g. myproject.asgi:application")
    serve.add_argument(
        "-b",
        "--bind",
        action="append",
        help="address to listen on (host:port, unix:path, fd://n); repeatable; "
        "default 127.0.0.1:8000",
    )
    serve.add_argument("-w", "--workers", type=int, default=1, help="worker processes")
    serve.add_argument(
        "--max-message-size",
        type=int,
        default=DEFAULT_MAX_MESSAGE_SIZE,
        help="largest WebSocket message in bytes; larger ones close with 1009 (default 1 MiB)",
    )
    serve.add_argument(
        "--graceful-timeout",
        type=float,
        default=5.0,
        help="seconds connections get to finish on shutdown (default 5)",
    )
    serve.add_argument("--root-path", default="", help="ASGI root_path behind a proxy")
    serve.add_argument("--access-log", action="store_true", help="log every request")
    return parser


def _serve_workers(args: argparse.Namespace, config: ServerConfig) -> int:
    sockets = config.to_hypercorn().create_sockets()
    listening = sockets.insecure_sockets + sockets.secure_sockets
    for sock in listening:
        sock.listen(2048)
        sock.set_inheritable(True)
    fds = [sock.fileno() for sock in listening]
    command = [sys.executable, "-m", "callboard", "serve", args.application, "--workers", "1"]
    command += [f"--bind=fd://{fd}" for fd in fds]
    command += [
        f"--max-message-size={config.websocket_max_message_size}",
        f"--graceful-timeout={config.graceful_timeout}",
        f"--root-path={config.root_path}",
    ]
    if config.access_log:
        command.append("--access-log")
    children = [subprocess.Popen(command, pass_fds=fds) for _ in range(config.workers)]

    def forward(signum: int, frame: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    codes = [child.wait() for child in children]
    return max(codes, key=abs)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        config = ServerConfig(
            bind=args.bind or ("127.0.0.1:8000",),
            workers=args.workers,
            websocket_max_message_size=args.max_message_size,
            graceful_timeout=args.graceful_timeout,
            root_path=args.root_path,
            access_log=args.access_log,
        )
        if config.workers > 1:
            return _serve_workers(args, config)
        app = load_application(args.application)
    except (TypeError, ValueError) as exc:
        print(f"callboard: {exc}", file=sys.stderr)
        return 2
    run(app, config)
    return 0
