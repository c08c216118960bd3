"""The HTTP transport: :class:`HttpExporter` POSTs batches to ``{endpoint}/api/v1/ingest``.

One persistent keep-alive ``http.client`` connection (re-opened after a failure), a JSON body encoded by
msgspec from the worker's wire records (payload fragments copied verbatim, see ``encode.py``), gzip level 1
past ~1 KiB, retries with exponential backoff and jitter on connection errors, 429 and 5xx (honouring
``Retry-After``), never beyond the deadline of the flush that waits for the batch. The body also carries
the SDK's health report, ``"sdk_stats": {"dropped": {reason: n}, "sdk": "spanscope-python", "version": v}``
(drops since the last delivered batch).
Items the server rejects (``{"rejected": [{"kind", "index", "reason"}]}``) are reported through
``batch.rejected`` and logged once.
"""

from __future__ import annotations

import email.utils
import http.client
import logging
import random
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import msgspec

from spanscope.sdk.convert import enc_hook
from spanscope.sdk.exporters import ExportBatch
from spanscope.sdk.guard import log_once

INGEST_PATH = "/api/v1/ingest"
GZIP_THRESHOLD = 1024
BACKGROUND_BUDGET = 60.0  # seconds an export may take (retries included) when no flush is waiting


# (status or None, reply headers, reply body, the connection error or None)
Reply = tuple[int | None, Any, bytes, BaseException | None]


class KeepAlivePoster:
    """One kept-alive HTTP(S) connection that POSTs to ``_path``, shared by the SDK's exporters (native and
    OTLP/JSON). The exporter sets ``_https``, ``_host``, ``_port``, ``_path``, ``timeout``, ``_conn``, ``_lock``,
    ``_stopped`` and the retry settings (``max_retries``, ``backoff``, ``max_backoff``, ``_log_failure``); a
    connection the server closed while idle is reopened once right away."""

    _https: bool
    _host: str | None
    _port: int | None
    _path: str
    timeout: float
    _conn: http.client.HTTPConnection | None
    _lock: threading.Lock
    _stopped: threading.Event
    max_retries: int
    backoff: float
    max_backoff: float
    _log_failure: Callable[[int | None, bytes, BaseException | None, int], None]

    def _post_batch(self, body: bytes, headers: dict[str, str], batch: ExportBatch) -> Reply | None:
        """POST ``body`` with retries (:func:`post_with_retries`) until the batch's deadline, or
        ``BACKGROUND_BUDGET`` from now when no flush waits for it; the 2xx reply, or None."""
        deadline = batch.deadline if batch.deadline is not None else time.monotonic() + BACKGROUND_BUDGET
        return post_with_retries(
            lambda left: self._post(body, headers, left),
            deadline,
            max_retries=self.max_retries,
            backoff=self.backoff,
            max_backoff=self.max_backoff,
            stopped=self._stopped,
            log_failure=self._log_failure,
        )

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout)
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _post(self, body: bytes, headers: dict[str, str], deadline: float) -> Reply:
        with self._lock:
            for fresh_retry in (False, True):
                if self._stopped.is_set():
                    return None, None, b"", RuntimeError("exporter is shut down")
                timeout = min(self.timeout, max(deadline - time.monotonic(), 0.5))
                reused = self._conn is not None
                try:
                    if self._conn is None:
                        self._conn = self._connect(timeout)
                    elif self._conn.sock is not None:
                        self._conn.sock.settimeout(timeout)
                    self._conn.request("POST", self._path, body=body, headers=headers)
                    response = self._conn.getresponse()
                    data = response.read()
                    if response.will_close:
                        self._close()
                    return response.status, response.headers, data, None
                except (OSError, http.client.HTTPException) as exc:
                    self._close()
                    if reused and not fresh_retry:
                        continue  # the server closed an idle keep-alive connection: retry once right away
                    return None, None, b"", exc
                finally:
                    if self._stopped.is_set():
                        self._close()  # shutdown() happened during the request
            raise AssertionError("unreachable")


class HttpExporter(KeepAlivePoster):
    """Send batches to a spanscope server.

    >>> exporter = HttpExporter("http://127.0.0.1:8417", api_key=None, project="default")
    """

    accepts_raw = True  # wire records: payloads were encoded once by the worker and are copied verbatim

    def __init__(
        self, endpoint: str, api_key: str | None = None, project: str = "default", timeout: float = 10.0,
        *, max_retries: int = 4, backoff: float = 0.5, max_backoff: float = 10.0, compress: bool = True,
    ) -> None:  # fmt: skip
        parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"spanscope endpoint must be an http(s) URL, got {endpoint!r}")
        self.endpoint = endpoint
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = parts.path.rstrip("/") + INGEST_PATH
        self.timeout = float(timeout)
        self.max_retries = max(0, int(max_retries))
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.compress = bool(compress)
        headers = {"Content-Type": "application/json", "X-Spanscope-Project": project, "User-Agent": "spanscope-python"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._headers = headers
        self._encoder = msgspec.json.Encoder(enc_hook=enc_hook, decimal_format="number")
        self._decoder = msgspec.json.Decoder()
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def __repr__(self) -> str:
        return f"HttpExporter({self.endpoint!r})"

    # --- the protocol -----------------------------------------------------------------------------
    def export(self, batch: ExportBatch) -> bool:
        payload: dict[str, Any] = {"traces": batch.traces, "spans": batch.spans, "findings": batch.findings}
        if batch.sdk_stats is not None:
            payload["sdk_stats"] = batch.sdk_stats
        body = self._encoder.encode(payload)
        headers = dict(self._headers)
        if self.compress and len(body) > GZIP_THRESHOLD:
            # Level 1: ~4x smaller JSON at a fraction of level 6's CPU; zlib releases the GIL meanwhile.
            body = zlib.compress(body, 1, wbits=31)
            headers["Content-Encoding"] = "gzip"
        reply = self._post_batch(body, headers, batch)
        if reply is None:
            return False
        batch.rejected = self._count_rejected(reply[2])
        return True

    def shutdown(self) -> None:
        self._stopped.set()
        # The worker may still be mid-request if a flush timed out; it closes the connection itself then
        # (never wait for it here: at interpreter exit every second counts).
        if self._lock.acquire(blocking=False):
            try:
                self._close()
            finally:
                self._lock.release()

    def after_fork(self) -> None:
        """In a forked child: never share the parent's socket."""
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._close()

    # --- internals --------------------------------------------------------------------------------

    def _count_rejected(self, data: bytes) -> int:
        if not data:
            return 0
        try:
            reply = self._decoder.decode(data)
        except msgspec.DecodeError:
            return 0
        rejected = reply.get("rejected") if isinstance(reply, dict) else None
        if not isinstance(rejected, list) or not rejected:
            return 0
        count = len(rejected)
        log_once(
            ("rejected", self.endpoint),
            logging.WARNING,
            "spanscope server %s rejected %d item(s), e.g. %s",
            self.endpoint,
            count,
            rejected[0],
        )
        return count

    def _log_failure(self, status: int | None, data: bytes, error: BaseException | None, attempt: int) -> None:
        if error is not None:
            log_once(
                ("send-error", self.endpoint, type(error)),
                logging.WARNING,
                "spanscope could not reach %s after %d attempt(s): %r",
                self.endpoint,
                attempt + 1,
                error,
            )
            return
        hint = " (check SPANSCOPE_API_KEY)" if status in (401, 403) else ""
        snippet = data[:200].decode("utf-8", "replace")
        log_once(
            ("send-status", self.endpoint, status),
            logging.WARNING,
            "spanscope server %s answered %s%s: %s",
            self.endpoint,
            status,
            hint,
            snippet,
        )


def post_with_retries(
    post: Callable[[float], Reply],
    deadline: float,
    *,
    max_retries: int,
    backoff: float,
    max_backoff: float,
    stopped: threading.Event,
    log_failure: Callable[[int | None, bytes, BaseException | None, int], None],
) -> Reply | None:
    """``post(deadline)`` until a 2xx (returned), retrying connection errors, 429 and 5xx with exponential backoff
    and jitter (a ``Retry-After`` wins), never past ``deadline``; None when it gives up (``log_failure`` told)
    or ``stopped`` is set. Every exporter of the SDK (native, OTLP/JSON) sends through this."""
    attempt = 0
    while True:
        status, reply_headers, data, error = reply = post(deadline)
        if status is not None and 200 <= status < 300:
            return reply
        retryable = error is not None or status == 429 or (status is not None and status >= 500)
        if not retryable or attempt >= max_retries:
            log_failure(status, data, error, attempt)
            return None
        delay = min(max_backoff, backoff * 2**attempt) * random.uniform(0.5, 1.0)
        retry_after = _retry_after(reply_headers)
        if retry_after is not None:
            delay = retry_after
        if time.monotonic() + delay >= deadline:
            log_failure(status, data, error, attempt)
            return None
        if stopped.wait(delay):
            return None
        attempt += 1


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), if any."""
    value: Any = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
