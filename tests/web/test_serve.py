"""`prime-logs serve` without a browser: options passed to the served `watch`, the
missing extra, the port that moves, the warning for other machines, the refused
cross-origin websocket, and Ctrl+C leaving no app process (counted in /proc).
`watch` under Textual's web driver stays an app; on a real pipe it prints as tail."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from prime_rl_logs import cli
from prime_rl_logs.commands import serve
from tests.fixtures import FixtureRun, processes_naming, start_serve, wait_until

APP = "prime_rl_logs watch"
"""What every served app process's command line holds."""


def parse(*argv: str) -> object:
    return cli.build_parser().parse_args(list(argv))


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--pane", "trainer", "--level", "info", "--rank", "0,1", "--poll"],
        ["--split", "trainer,orchestrator"],
    ],
)
def test_the_served_watch_gets_the_same_path_and_options(
    tmp_path: Path, options: list[str]
) -> None:
    args = cli.build_parser().parse_args(
        ["serve", str(tmp_path), *options, "--host", "::1", "--port", "9"]
    )
    argv = serve.watch_argv(args, args.watch_parser)
    served = vars(cli.build_parser().parse_args(["watch", *argv]))
    direct = vars(cli.build_parser().parse_args(["watch", str(tmp_path), *options]))
    assert served == direct
    assert "--host" not in argv and "--port" not in argv


def test_without_textual_serve_it_says_how_to_install_it(
    library_run: FixtureRun, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("textual_serve", "textual_serve.server", "textual_serve.app_service"):
        monkeypatch.setitem(sys.modules, name, None)  # import raises ImportError
    monkeypatch.delitem(sys.modules, "prime_rl_logs.web", raising=False)
    assert cli.main(["serve", str(library_run.output_dir)]) == 2
    err = capsys.readouterr().err
    assert err == "prime-logs: error: serve needs textual-serve: pip install 'prime-rl-logs[web]'\n"


def stop(served_process: subprocess.Popen[str]) -> int:
    """Ctrl+C as a terminal sends it: SIGINT to the whole process group."""
    os.killpg(served_process.pid, signal.SIGINT)
    return served_process.wait(timeout=30)


def test_a_port_in_use_moves_to_the_next_free_one(library_run: FixtureRun) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        served = start_serve(library_run.output_dir, "--port", str(port))
        try:
            assert served.url != f"http://127.0.0.1:{port}"
            new_port = int(served.url.rsplit(":", 1)[1])
            assert new_port > port
            wait_until(lambda: served.err, what="the notice")
            assert served.err[0] == f"prime-logs: port {port} is in use; serving on {new_port}\n"
            ssh = f"ssh -N -L {new_port}:localhost:{new_port} HOST"
            assert any(ssh in line for line in served.out)
        finally:
            assert stop(served.process) == 0


def test_loopback_is_the_default_and_other_hosts_are_warned_about(
    library_run: FixtureRun,
) -> None:
    served = start_serve(library_run.output_dir)
    try:
        assert served.url.startswith("http://127.0.0.1:")
    finally:
        assert stop(served.process) == 0
    assert not any("warning" in line for line in served.err)

    served = start_serve(library_run.output_dir, "--host", "0.0.0.0")
    try:
        # Another test's server may still hold 7788: then a "port in use" line comes first.
        wait_until(lambda: any("warning" in line for line in served.err), what="the warning")
        (warning,) = [line for line in served.err if "warning" in line]
        assert "no authentication" in warning
        assert warning.startswith("prime-logs: warning: listening on 0.0.0.0")
    finally:
        assert stop(served.process) == 0


async def open_tabs(url: str, count: int, origin: str | None = None) -> list[int]:
    """Open ``count`` websockets as the page does; the statuses of refused ones."""
    ws_url = url.replace("http://", "ws://") + "/ws?width=100&height=30"
    refused: list[int] = []
    session = aiohttp.ClientSession()
    sockets = []
    for _ in range(count):
        headers = {"Origin": origin} if origin else {}
        try:
            sockets.append(await session.ws_connect(ws_url, headers=headers))
        except aiohttp.WSServerHandshakeError as exc:
            refused.append(exc.status)
    # Keep them open: the test stops the server under them. Detach the session.
    open_sessions.append((session, sockets))
    return refused


open_sessions: list[tuple[aiohttp.ClientSession, list[object]]] = []


@pytest.mark.parametrize("how", ["process group", "server only"])
def test_ctrl_c_stops_the_server_and_every_app(library_run: FixtureRun, how: str) -> None:
    run = str(library_run.output_dir)
    served = start_serve(library_run.output_dir)
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(open_tabs(served.url, 2)) == []
        wait_until(lambda: len(processes_naming(APP, run)) == 2, what="two app processes")
        if how == "process group":
            assert stop(served.process) == 0
        else:
            served.process.send_signal(signal.SIGINT)
            assert served.process.wait(timeout=30) == 0
        assert processes_naming(APP, run) == []
    finally:
        for session, _ in open_sessions:
            loop.run_until_complete(session.close())
        open_sessions.clear()
        loop.close()
        if served.process.poll() is None:
            served.process.kill()


def test_a_page_of_another_origin_may_not_open_the_dashboard(library_run: FixtureRun) -> None:
    run = str(library_run.output_dir)
    served = start_serve(library_run.output_dir)
    loop = asyncio.new_event_loop()
    try:
        refused = loop.run_until_complete(open_tabs(served.url, 1, origin="http://evil.example"))
        assert refused == [403]
        assert processes_naming(APP, run) == []
        assert loop.run_until_complete(open_tabs(served.url, 1, origin=served.url)) == []
        wait_until(lambda: len(processes_naming(APP, run)) == 1, what="the app process")
    finally:
        assert stop(served.process) == 0
        for session, _ in open_sessions:
            loop.run_until_complete(session.close())
        open_sessions.clear()
        loop.close()


def run_watch(run: FixtureRun, env: dict[str, str]) -> tuple[str, str]:
    """``prime-logs watch RUN`` with stdout a pipe; its first output, then it is stopped."""
    process = subprocess.Popen(
        [sys.executable, "-m", "prime_rl_logs", "watch", str(run.output_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**{k: v for k, v in os.environ.items() if k != "TEXTUAL_DRIVER"}, **env},
    )
    assert process.stdout is not None
    first = process.stdout.readline().decode()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    return first, err.decode()


def test_watch_under_the_web_driver_stays_an_app(library_run: FixtureRun) -> None:
    first, err = run_watch(
        library_run, {"TEXTUAL_DRIVER": "textual.drivers.web_driver:WebDriver", "COLUMNS": "100"}
    )
    assert first == "__GANGLION__\n"  # the web driver's greeting to textual-serve
    assert "not a terminal" not in err


def test_watch_on_a_real_pipe_prints_as_tail(library_run: FixtureRun) -> None:
    first, err = run_watch(library_run, {})
    assert "stdout is not a terminal" in err
    assert first.split()[0] in {r.tag for r in library_run.records}  # tail's text, tagged


def page_websocket(url: str, host: str) -> str:
    """The websocket address in the page served at ``url`` to a browser that asked
    for ``host`` (a tunnel's local port)."""
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(url)
    connection = http.client.HTTPConnection(where.hostname or "", where.port)
    connection.request("GET", "/", headers={"Host": host})
    body = connection.getresponse().read().decode()
    connection.close()
    found = re.search(r'data-session-websocket-url="([^"]+)"', body)
    assert found is not None
    return found.group(1)


def test_the_page_s_websocket_goes_back_where_the_page_came_from(
    library_run: FixtureRun,
) -> None:
    served = start_serve(library_run.output_dir)
    try:
        # ssh -L 9000:localhost:PORT: the browser asks for localhost:9000.
        assert page_websocket(served.url, "localhost:9000") == "ws://localhost:9000/ws"
    finally:
        assert stop(served.process) == 0
    served = start_serve(library_run.output_dir, "--public-url", "https://logs.example/")
    try:
        public = "prime-logs: the page is reached at https://logs.example\n"
        wait_until(lambda: public in served.out, what="the public URL line")
        assert page_websocket(served.url, "x:1") == "wss://logs.example/ws"
    finally:
        assert stop(served.process) == 0


def test_closing_a_tab_stops_its_app(library_run: FixtureRun) -> None:
    run = str(library_run.output_dir)
    served = start_serve(library_run.output_dir)
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(open_tabs(served.url, 1)) == []
        wait_until(lambda: len(processes_naming(APP, run)) == 1, what="the app process")
        for session, _ in open_sessions:
            loop.run_until_complete(session.close())  # the tab goes away
        open_sessions.clear()
        wait_until(lambda: processes_naming(APP, run) == [], what="the app to stop")
        assert served.process.poll() is None  # the server goes on
    finally:
        assert stop(served.process) == 0
        loop.close()


def test_ctrl_c_right_after_the_url_stops_cleanly(
    library_run: FixtureRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoever reads the URL may press Ctrl+C at once: by the time the URL is written,
    SIGINT must already stop the server (CI saw exit 130 when it came before `serve`)."""
    from prime_rl_logs import web

    handlers: list[object] = []

    class Out:
        def write(self, text: str) -> int:
            if "serving the dashboard" in text:
                handlers.append(signal.getsignal(signal.SIGINT))
            return len(text)

        def flush(self) -> None:
            pass

    served: list[web.DashboardServer] = []

    def serve_once(self: web.DashboardServer, debug: bool = False) -> None:
        served.append(self)  # what serve() would run; the test only needs the order

    monkeypatch.setattr(web.DashboardServer, "serve", serve_once)
    monkeypatch.setattr(sys, "stdout", Out())
    try:
        assert cli.main(["serve", str(library_run.output_dir), "--port", "0"]) == 0
    finally:
        for server in served:
            loop = getattr(server, "loop", None)
            if loop is not None:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)
                loop.close()
            server.sock.close()
    assert len(handlers) == 1
    assert handlers[0] is not signal.default_int_handler  # the loop takes it, not KeyboardInterrupt
