"""The ``callboard`` command line: ``callboard serve module:app``.

``python -m callboard serve`` is the same command. With ``--workers N`` the
parent process binds the sockets, starts N worker processes that each serve
on them (``fd://``), forwards SIGINT/SIGTERM to them and waits; when one
worker ends on its own, the parent stops the others and exits with its status.

Not here: serving itself (``_serve``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import attrs
import trio

from callboard._asgi import ASGIApp

from ._config import ServerConfig
from ._serve import ignore_signals, run, take_over_signals

__all__ = ["load_application", "main"]

EXIT_USAGE = 2
"""Exit status for a command line that cannot work (argparse's, for bad options too)."""
EXIT_FAILURE = 1
"""Exit status when the server could not run (an address in use, say)."""
LOG_FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(message)s"
LOG_DATE_FORMAT = "[%Y-%m-%d %H:%M:%S %z]"
"""hypercorn's own log format, so the two loggers' lines read alike."""


def load_application(path: str) -> ASGIApp:
    """Import ``module:attribute`` and return the application it names.

    ``module`` is a dotted module name (``myproject.asgi``), imported with the
    current directory on ``sys.path``, or a file (``myproject/asgi.py``), as
    hypercorn accepts. ``module`` alone means ``module:application``;
    ``attribute`` may be dotted (``module:routers.app``).

    Raises:
        ValueError: the module or attribute does not exist, naming which.
        TypeError: what it names is not callable.
    """
    module_name, _, attribute = path.partition(":")
    attribute = attribute or "application"
    if not module_name:
        raise ValueError(
            f"{path!r} names no module; use 'module:attribute', like 'myproject.asgi:application'."
        )
    module_name = _importable_name(module_name)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ValueError(
            f"Cannot import module {module_name!r} (from {path!r}): {exc}. "
            "Run from the directory that contains it, or add that directory to PYTHONPATH."
        ) from exc
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


def _importable_name(module_name: str) -> str:
    """Put the module's directory on ``sys.path``; return the name to import."""
    if module_name.endswith(".py") or os.sep in module_name or "/" in module_name:
        file = Path(module_name).resolve()
        if not file.is_file():
            raise ValueError(f"No such module file: {module_name!r}.")
        directory, name = str(file.parent), file.stem
    else:
        directory, name = os.getcwd(), module_name
    if directory not in sys.path:
        sys.path.insert(0, directory)
    return name


def _parser() -> argparse.ArgumentParser:
    defaults = {field.name: field.default for field in attrs.fields(ServerConfig)}
    parser = argparse.ArgumentParser(prog="callboard", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve an ASGI application on hypercorn (Trio)")
    serve.add_argument(
        "application",
        help="module:attribute (module may be a file), e.g. myproject.asgi:application",
    )
    serve.add_argument(
        "-b",
        "--bind",
        action="append",
        help="address to listen on (host:port, unix:path, fd://n); repeatable; "
        "default 127.0.0.1:8000",
    )
    serve.add_argument(
        "-w", "--workers", type=int, default=defaults["workers"], help="worker processes"
    )
    serve.add_argument(
        "--max-message-size",
        type=int,
        default=defaults["websocket_max_message_size"],
        help="largest WebSocket message in bytes; larger ones close with 1009 (default 1 MiB)",
    )
    serve.add_argument(
        "--backlog",
        type=int,
        default=defaults["backlog"],
        help="connections queued before they are accepted (default %(default)s)",
    )
    serve.add_argument(
        "--gc-threshold",
        type=int,
        default=defaults["gc_threshold"],
        help="allocations between young garbage collections; 0 leaves Python's default "
        "(default %(default)s)",
    )
    serve.add_argument(
        "--graceful-timeout",
        type=float,
        default=defaults["graceful_timeout"],
        help="seconds connections get to finish on shutdown after WebSockets were "
        "closed with 1001 (default %(default)s)",
    )
    serve.add_argument(
        "--root-path", default=defaults["root_path"], help="ASGI root_path behind a proxy"
    )
    serve.add_argument("--access-log", action="store_true", help="log every request to stdout")
    return parser


def _worker_command(args: argparse.Namespace, config: ServerConfig, fds: list[int]) -> list[str]:
    command = [sys.executable, "-m", "callboard", "serve", args.application, "--workers=1"]
    command += [f"--bind=fd://{fd}" for fd in fds]
    command += [
        f"--max-message-size={config.websocket_max_message_size}",
        f"--backlog={config.backlog}",
        f"--graceful-timeout={config.graceful_timeout}",
        f"--gc-threshold={config.gc_threshold or 0}",
        f"--root-path={config.root_path}",
    ]
    if config.access_log:
        command.append("--access-log")
    return command


def _exit_status(returncode: int) -> int:
    """A child's return code as a shell would report it (a signal N is 128 + N)."""
    return 128 - returncode if returncode < 0 else returncode


async def _supervise_workers(command: list[str], fds: list[int], workers: int) -> int:
    """Run ``workers`` copies of ``command``; forward signals; return the worst status."""
    processes: list[trio.Process] = []
    statuses: list[int] = []
    stop_signal: int | None = None

    def stop_all(signum: int) -> None:
        nonlocal stop_signal
        if stop_signal is None:
            stop_signal = signum
        for process in processes:
            if process.returncode is None:
                process.send_signal(signum)

    async def wait_for(process: trio.Process) -> None:
        status = _exit_status(await process.wait())
        statuses.append(status)
        if stop_signal is None:
            print(
                f"callboard: worker {process.pid} exited with status {status}; "
                "stopping the others.",
                file=sys.stderr,
            )
            stop_all(signal.SIGTERM)

    take_over_signals(stop_all)
    for _ in range(workers):
        if stop_signal is not None:
            break
        processes.append(await trio.lowlevel.open_process(command, pass_fds=fds))
    if stop_signal is not None:  # it came while the workers were starting
        stop_all(stop_signal)
    async with trio.open_nursery() as nursery:
        for process in processes:
            nursery.start_soon(wait_for, process)
    return max(statuses, default=0)  # no worker started: stopped before it began


def _serve_workers(args: argparse.Namespace, config: ServerConfig) -> int:
    hypercorn_config = config.to_hypercorn()
    sockets = hypercorn_config.create_sockets()
    listening = sockets.insecure_sockets + sockets.secure_sockets
    for sock in listening:
        sock.listen(hypercorn_config.backlog)
        sock.set_inheritable(True)
    fds = [sock.fileno() for sock in listening]
    try:
        return trio.run(_supervise_workers, _worker_command(args, config, fds), fds, config.workers)
    finally:
        ignore_signals()
        for sock in listening:
            sock.close()


def _log_to_stderr() -> None:
    """Send callboard's own log records (INFO and up) to stderr, as hypercorn sends its own.

    Left alone when the process already configured logging.
    """
    logger = logging.getLogger("callboard")
    if logger.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT, LOG_DATE_FORMAT))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Raises:
        SystemExit: the options do not parse (status 2, argparse's message).
    """
    args = _parser().parse_args(argv)
    _log_to_stderr()
    try:
        config = ServerConfig(
            bind=args.bind or ("127.0.0.1:8000",),
            workers=args.workers,
            websocket_max_message_size=args.max_message_size,
            backlog=args.backlog,
            graceful_timeout=args.graceful_timeout,
            gc_threshold=args.gc_threshold or None,
            root_path=args.root_path,
            access_log=args.access_log,
        )
        # Workers import it themselves; importing it here too fails fast, once.
        app = load_application(args.application)
    except (TypeError, ValueError) as exc:
        print(f"callboard: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if config.workers > 1:
            return _serve_workers(args, config)
        run(app, config)
    except OSError as exc:
        print(f"callboard: cannot serve on {', '.join(config.bind)}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return 0
