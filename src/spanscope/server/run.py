"""Running the server: in the foreground (`spanscope serve`) or in a thread (demo, tests)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool

from spanscope.server.app import create_app
from spanscope.server.keys import KeyStore
from spanscope.settings import resolve
from spanscope.store import open_store
from spanscope.store.retention import RetentionPolicy, RetentionService, parse_policy


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _config(app: Any, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        timeout_keep_alive=30,
        limit_concurrency=None,
        server_header=False,
    )


class UnsafeBind(RuntimeError):
    """Refusing to expose an unauthenticated server beyond loopback."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    host: str | None = None,
    port: int | None = None,
    data_dir: str | None = None,
    *,
    store_url: str | None = None,
    log_level: str = "info",
    require_auth: bool | None = None,
    insecure: bool | None = None,
    retention_days: str | Sequence[str] | None = None,
) -> None:
    """Run the server in the foreground until interrupted.

    ``retention_days``: ``"30"``, ``"30,audit=365"`` or the repeated ``--retention-days`` values
    (``store/retention.py``); raises ``RetentionError`` before opening anything when it does not parse.
    """
    host = resolve("host", host)
    port = int(resolve("port", port))
    data_dir = resolve("data_dir", data_dir)
    store_url = resolve("store", store_url)
    require_auth = bool(resolve("require_auth", require_auth))
    if not require_auth and not is_loopback(host) and not resolve("insecure", insecure):
        raise UnsafeBind(
            f"refusing to serve on {host} without authentication: add --require-auth (create keys with "
            "`spanscope keys create --project P`), or --insecure to accept the risk"
        )
    policy = parse_policy(resolve("retention_days", retention_days or None))
    store = open_store(
        str(data_dir),
        store_url,
        write_batch_rows=int(resolve("write_batch_rows")),
        max_pending_rows=int(resolve("max_pending_rows")),
        apply_delay=float(resolve("apply_delay")),
    )
    app = create_app(store, keys=KeyStore(str(data_dir)) if require_auth else None)
    install_retention(app, store, policy)
    sock = _bind(host, port)
    server = uvicorn.Server(_config(app, log_level))
    auth = "API keys required" if require_auth else "no auth"
    print(
        f"spanscope serving on http://{host}:{sock.getsockname()[1]} (store: {_describe(store_url, data_dir)}; {auth})",
        flush=True,
    )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


def install_retention(
    app: Starlette, store: Any, policy: RetentionPolicy, interval: float | None = None
) -> RetentionService:
    """Apply ``policy`` while ``app`` runs (ClickHouse: TTL rules at start-up; DuckDB: a periodic delete)."""
    service = RetentionService(store, policy, interval=float(resolve("retention_interval", interval)))
    app.state.spanscope_retention = service
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as value:
            await run_in_threadpool(service.start)
            try:
                yield value
            finally:
                await run_in_threadpool(service.stop)  # before the store closes (the inner context's exit)

    app.router.lifespan_context = lifespan
    return service


def _describe(store_url: str | None, data_dir: str) -> str:
    """The store for the start-up line, without a password."""
    if not store_url:
        return str(Path(str(data_dir)).resolve())
    parts = urlsplit(store_url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return f"{parts.scheme}://{netloc}{parts.path}"


class ServerThread:
    """A real server on a loopback port, running in a background thread.

    >>> with ServerThread(tmp_path) as srv:
    ...     requests.get(srv.url + "/healthz")
    """

    def __init__(
        self,
        data_dir: str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        require_auth: bool = False,
        store_url: str | None = None,
        retention_days: str | Sequence[str] | None = None,
        retention_interval: float | None = None,
        **app_kwargs: Any,
    ):
        self.data_dir = Path(data_dir)
        self.host = host
        self._sock = _bind(host, port)
        self.port = self._sock.getsockname()[1]
        policy = parse_policy(resolve("retention_days", retention_days or None))
        self.store = open_store(str(self.data_dir), store_url)
        self.keys = KeyStore(self.data_dir) if require_auth else None
        self.app = create_app(self.store, keys=self.keys, **app_kwargs)
        self.retention = install_retention(self.app, self.store, policy, retention_interval)
        self._server = uvicorn.Server(_config(self.app, "warning"))
        self._thread = threading.Thread(target=self._run, name="spanscope-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._server.serve(sockets=[self._sock]))
        finally:
            loop.close()

    def start(self, timeout: float = 20.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("spanscope server failed to start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 20.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        with contextlib.suppress(OSError):
            self._sock.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
