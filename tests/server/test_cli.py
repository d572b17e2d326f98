"""The ``callboard`` command line: parsing, loading the application, errors, worker commands."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from callboard._asgi import ASGIApp
from callboard.server import ServerConfig, load_application, main
from callboard.server import _cli as cli

APP_SOURCE = """
async def application(scope, receive, send):
    pass

class routers:
    chat = application

not_an_app = 42
"""


@pytest.fixture
def app_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh module in a fresh current directory; its name."""
    name = f"callboard_test_app_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(APP_SOURCE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield name
    sys.modules.pop(name, None)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any, ServerConfig]]:
    """Replace serving with a record of what would have been served."""
    calls: list[tuple[str, Any, ServerConfig]] = []

    def fake_run(app: ASGIApp, config: ServerConfig) -> None:
        calls.append(("run", app, config))

    def fake_workers(args: Any, config: ServerConfig) -> int:
        calls.append(("workers", args.application, config))
        return 0

    monkeypatch.setattr(cli, "run", fake_run)
    monkeypatch.setattr(cli, "_serve_workers", fake_workers)
    return calls


# -- parsing --------------------------------------------------------------------------


def test_serve_with_defaults_runs_the_application_on_the_default_config(
    app_module: str, served: list[tuple[str, Any, ServerConfig]]
) -> None:
    assert main(["serve", f"{app_module}:application"]) == 0
    [(how, app, config)] = served
    assert how == "run"
    assert app is sys.modules[app_module].application
    assert config == ServerConfig()


def test_every_option_reaches_the_config(
    app_module: str, served: list[tuple[str, Any, ServerConfig]]
) -> None:
    status = main(
        [
            "serve",
            app_module,
            "--bind",
            "127.0.0.1:0",
            "-b",
            "unix:/tmp/callboard.sock",
            "--max-message-size",
            "2048",
            "--backlog",
            "512",
            "--graceful-timeout",
            "2.5",
            "--root-path",
            "/chat",
            "--access-log",
        ]
    )
    assert status == 0
    [(_, _, config)] = served
    assert config == ServerConfig(
        bind=("127.0.0.1:0", "unix:/tmp/callboard.sock"),
        websocket_max_message_size=2048,
        backlog=512,
        graceful_timeout=2.5,
        root_path="/chat",
        access_log=True,
    )


def test_several_workers_go_to_the_worker_parent(
    app_module: str, served: list[tuple[str, Any, ServerConfig]]
) -> None:
    assert main(["serve", app_module, "--workers", "3"]) == 0
    [(how, application, config)] = served
    assert (how, application, config.workers) == ("workers", app_module, 3)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required: command"),
        (["serve"], "the following arguments are required: application"),
        (["serve", "m:app", "--workers", "two"], "invalid int value: 'two'"),
        (["serve", "m:app", "--graceful-timeout", "soon"], "invalid float value: 'soon'"),
        (["run", "m:app"], "invalid choice: 'run'"),
    ],
)
def test_options_that_do_not_parse_exit_2_with_argparse_s_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


# -- errors become exit status 2 with one clear line --------------------------------


@pytest.mark.parametrize(
    ("application", "message"),
    [
        ("no_such_module_anywhere:application", "Cannot import module 'no_such_module_anywhere'"),
        ("{module}:nope", "Module '{module}' has no attribute 'nope'"),
        ("{module}:not_an_app", "'{module}:not_an_app' is not callable"),
        (":application", "':application' names no module"),
    ],
)
def test_a_bad_application_path_exits_2_with_a_clear_message(
    application: str,
    message: str,
    app_module: str,
    served: list[tuple[str, Any, ServerConfig]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", application.format(module=app_module)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("callboard: ")
    assert message.format(module=app_module) in err
    assert "Traceback" not in err
    assert served == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--workers", "0"], "callboard: workers must be positive, got 0."),
        (["--max-message-size", "-1"], "websocket_max_message_size must be positive, got -1."),
        (["--graceful-timeout", "-1"], "graceful_timeout must not be negative, got -1.0."),
        (["--root-path", "chat"], "root_path is empty or starts with '/'"),
    ],
)
def test_bad_option_values_exit_2_with_the_config_s_message(
    options: list[str],
    message: str,
    app_module: str,
    served: list[tuple[str, Any, ServerConfig]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", app_module, *options]) == 2
    assert message in capsys.readouterr().err
    assert served == []


def test_an_address_that_cannot_be_bound_exits_1(
    app_module: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(app: ASGIApp, config: ServerConfig) -> None:
        raise OSError(98, "Address already in use")

    monkeypatch.setattr(cli, "run", fail)
    assert main(["serve", app_module, "--bind", "127.0.0.1:8765"]) == 1
    assert "callboard: cannot serve on 127.0.0.1:8765: [Errno 98] Address already in use" in (
        capsys.readouterr().err
    )


# -- load_application -----------------------------------------------------------------


def test_load_application_defaults_to_the_attribute_named_application(app_module: str) -> None:
    assert load_application(app_module) is sys.modules[app_module].application


def test_load_application_follows_a_dotted_attribute(app_module: str) -> None:
    assert load_application(f"{app_module}:routers.chat") is sys.modules[app_module].application


def test_load_application_imports_from_the_current_directory(
    app_module: str, tmp_path: Path
) -> None:
    sys.path[:] = [entry for entry in sys.path if entry not in ("", str(tmp_path))]
    assert callable(load_application(app_module))
    assert str(tmp_path) in sys.path


def test_load_application_accepts_a_file_path(app_module: str, tmp_path: Path) -> None:
    app = load_application(f"{tmp_path / app_module}.py:routers.chat")
    assert app is sys.modules[app_module].application


def test_load_application_names_a_missing_file() -> None:
    with pytest.raises(ValueError, match=r"No such module file: 'nowhere/app\.py'"):
        load_application("nowhere/app.py:application")


def test_load_application_names_the_missing_module() -> None:
    with pytest.raises(ValueError, match="Cannot import module 'no_such_module_anywhere'"):
        load_application("no_such_module_anywhere")


def test_load_application_names_the_missing_attribute(app_module: str) -> None:
    with pytest.raises(ValueError, match=f"Module '{app_module}' has no attribute 'routers.x'"):
        load_application(f"{app_module}:routers.x")


def test_load_application_refuses_what_is_not_callable(app_module: str) -> None:
    with pytest.raises(TypeError, match="is not callable, so not an ASGI application"):
        load_application(f"{app_module}:not_an_app")


# -- worker processes -----------------------------------------------------------------


def test_workers_are_started_with_the_inherited_sockets_and_the_same_options() -> None:
    config = ServerConfig(
        workers=2,
        websocket_max_message_size=2048,
        backlog=512,
        graceful_timeout=2.5,
        root_path="/chat",
        access_log=True,
    )
    args = cli._parser().parse_args(["serve", "m:app", "--workers", "2"])
    assert cli._worker_command(args, config, [5, 6]) == [
        sys.executable,
        "-m",
        "callboard",
        "serve",
        "m:app",
        "--workers=1",
        "--bind=fd://5",
        "--bind=fd://6",
        "--max-message-size=2048",
        "--backlog=512",
        "--graceful-timeout=2.5",
        "--gc-threshold=50000",
        "--root-path=/chat",
        "--access-log",
    ]


@pytest.mark.parametrize(("returncode", "status"), [(0, 0), (3, 3), (-15, 143), (-9, 137)])
def test_a_worker_killed_by_a_signal_reports_128_plus_its_number(
    returncode: int, status: int
) -> None:
    assert cli._exit_status(returncode) == status


async def test_the_callboard_script_is_the_same_command() -> None:
    script = str(Path(sys.executable).with_name("callboard"))
    result = await trio.run_process([script], capture_stderr=True, check=False)
    assert result.returncode == 2
    assert b"usage: callboard" in result.stderr
