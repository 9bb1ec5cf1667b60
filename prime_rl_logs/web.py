"""The dashboard over HTTP: a `textual-serve` server with one app process per tab.

`bind` opens the listening socket (the next free port when the asked one is taken);
`DashboardServer` serves a shell command (``prime-logs watch ...``) with Textualize's
`textual-serve`, on that socket. Each browser tab that connects starts one process of
the command under Textual's web driver (``TEXTUAL_DRIVER``); closing the tab stops it.
The server promises that when it stops (SIGINT or SIGTERM) no app process it started
is left: every tab's app is asked to quit, then each child still alive is terminated
(`stop_children`). The page's websocket address is taken from the request when no
public URL is given, so a tunnel on another local port works, and a websocket opened
by a page of another origin is refused (any web page may otherwise drive a local
server's websocket). There is no authentication. `textual-serve` is the optional
``web`` extra: import this module only when serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import os
import signal
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server

__all__ = ["DashboardServer", "bind", "children", "is_loopback", "stop_children"]

PORT_TRIES = 100
"""How many ports `bind` tries, upwards from the asked one."""
QUIT_WAIT_S = 3.0
"""How long the apps get to quit when asked before their processes are terminated."""

log = logging.getLogger("prime-logs serve")


def bind(host: str, port: int, tries: int = PORT_TRIES) -> socket.socket:
    """A listening TCP socket on ``host`` at ``port`` or the next free port above it.

    Raises:
        OSError: no free port among ``tries`` ports, or an address that cannot be bound.
    """
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    family, _, _, _, address = infos[0]
    last: OSError | None = None
    for candidate in range(port, min(port + tries, 65536)):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address[0], candidate, *address[2:]))
        except OSError as exc:
            sock.close()
            if exc.errno != errno.EADDRINUSE:
                raise
            last = exc
            continue
        sock.listen(128)
        sock.set_inheritable(False)
        return sock
    raise last or OSError(errno.EADDRINUSE, f"no free port from {port}")


def is_loopback(host: str) -> bool:
    """True when every address ``host`` names is a loopback one (only this machine)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    return all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def children(pid: int | None = None) -> list[int]:
    """The processes whose parent is ``pid`` (this process by default), from /proc."""
    parent = os.getpid() if pid is None else pid
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == parent:
            found.append(int(entry.name))
    return found


def stop_children(wait_s: float = QUIT_WAIT_S) -> None:
    """Terminate this process's children and reap them: SIGTERM, then SIGKILL after
    ``wait_s`` seconds for any that are still alive."""
    pids = children()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    alive = set(pids)
    while alive and time.monotonic() < deadline:
        for pid in list(alive):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                alive.discard(pid)
        time.sleep(0.05)
    for pid in alive:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


class DashboardServer(Server):
    """`textual_serve.server.Server` on a socket we opened, quiet, and leaving no app.

    Args:
        command: the shell command each tab runs (``exec prime-logs watch ...``).
        sock: the listening socket (`bind`).
        title: the page's title.
        public_url: the URL the page is reached at, or None to take it from each
            request (the ``Host`` the browser asked for).
    """

    def __init__(
        self, command: str, sock: socket.socket, *, title: str, public_url: str | None
    ) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(command, host=host, port=port, title=title, public_url=public_url)
        self.sock = sock
        self.fixed_public_url = public_url
        self.services: set[AppService] = set()
        self.sockets: set[web.WebSocketResponse] = set()
        self.loop: asyncio.AbstractEventLoop | None = None

    def take_signals(self) -> None:
        """Make SIGINT and SIGTERM stop the server from now on, before it runs.

        The command calls this before it prints the URL: a Ctrl+C that follows the
        URL at once then stops the server cleanly (exit 0) instead of raising
        KeyboardInterrupt between the print and `serve`.
        """
        if self.loop is None:
            self.loop = asyncio.new_event_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.loop.add_signal_handler(sig, self.request_exit)

    def serve(self, debug: bool = False) -> None:
        """Serve until SIGINT or SIGTERM, then stop every app process started."""
        self.debug = debug
        logging.basicConfig(level=logging.WARNING, format="prime-logs serve: %(message)s")
        self.take_signals()
        loop = self.loop
        assert loop is not None
        try:
            web.run_app(
                self._make_app(),
                sock=self.sock,
                handle_signals=False,
                loop=loop,
                print=None,
                shutdown_timeout=QUIT_WAIT_S,
            )
        finally:
            stop_children()

    async def on_startup(self, app: web.Application) -> None:
        """Say nothing: the command prints the URL and the ssh line."""

    async def on_shutdown(self, app: web.Application) -> None:
        """Ask every tab's app to quit, then close the tabs' websockets."""
        services = list(self.services)
        if services:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*(s.stop() for s in services), return_exceptions=True),
                    QUIT_WAIT_S,
                )
        for ws in list(self.sockets):
            await ws.close()

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        """The page, its websocket address taken from the request's host when no public
        URL was given: the page works through a tunnel on any local port."""
        if self.fixed_public_url is None:
            self.public_url = f"{request.scheme}://{request.host}"
        return await super().handle_index(request)

    def allowed_origin(self, request: web.Request) -> bool:
        """A browser's websocket must come from a page of this server (or none at all:
        a client that is not a browser sends no Origin)."""
        origin = request.headers.get("Origin")
        if origin is None:
            return True
        netloc = urlsplit(origin).netloc
        allowed = {request.host}
        if self.fixed_public_url is not None:
            allowed.add(urlsplit(self.fixed_public_url).netloc)
        return netloc in allowed

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One tab: start its app process, relay both ways, stop it when the tab goes."""
        if not self.allowed_origin(request):
            raise web.HTTPForbidden(text="a page of another origin may not open the dashboard")
        websocket = web.WebSocketResponse(heartbeat=15)
        width = _int(request.query.get("width"), 80)
        height = _int(request.query.get("height"), 24)
        service: AppService | None = None
        try:
            await websocket.prepare(request)
            self.sockets.add(websocket)
            service = AppService(
                self.command,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,  # type: ignore[arg-type]
                download_manager=self.download_manager,
                debug=self.debug,
            )
            self.services.add(service)
            await service.start(width, height)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:  # a tab's failure must not stop the server
            log.exception(error)
        finally:
            self.sockets.discard(websocket)
            if service is not None:
                self.services.discard(service)
                await service.stop()
        return websocket


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default
