"""A ClickHouse HTTP endpoint backed by chDB, so ``clickhouse://`` code runs against the real engine in tests.

    python -m tests.clickhouse_http --path DIR [--port 0] [--config-file F]  # prints "listening on 127.0.0.1:PORT"

Every statement is executed by chDB (ClickHouse 26.9 in-process, its own data path: chDB allows one per
process); this module only speaks the part of ClickHouse's HTTP interface that clients such as
clickhouse-connect use, the way ``clickhouse-server`` does:

- The statement is the ``query=`` URL parameter followed by the POST body (chunked or not, decoded by its
  ``Content-Encoding``: zstd, lz4, gzip, deflate, br, xz, bz2). The data of an ``INSERT … FORMAT F`` (the body
  after the parameter, or after the statement at the start of the body, past spaces and one newline, as
  ClickHouse's parser skips them) goes to chDB's streaming insert in format F, as a server reads it; every
  other statement goes to chDB whole, as bytes. (chDB's reading of data inline in a statement ends at a blank
  line: a ``Native`` block holding two newline bytes in a row read short, about one insert in a hundred.) An
  ``INSERT`` with a quote before its ``FORMAT`` (``SETTINGS x = 'y'``), an ``INSERT … SELECT`` and one with
  ``param_*`` values are not split, and go whole.
- ``param_<name>`` bind ``{name:Type}`` query parameters (ClickHouse's escaped text, passed on unchanged);
  ``database`` is the current database (``USE``); ``default_format`` the output format when the SQL names
  none (else TabSeparated).
- Every other URL parameter is a setting, applied with ``SET`` before the statement and reset to its default
  for a later request that does not send it, so the engine validates it: an unknown setting or a bad value
  fails as on a server (code 115 UNKNOWN_SETTING…). The ones that change results take effect
  (``date_time_input_format``, ``output_format_arrow_string_as_string``, ``do_not_merge_across_partitions_
  select_final``…), and so do ``async_insert`` / ``wait_for_async_insert``: chDB buffers the insert and the
  reply waits for its flush, as a server's does. Those about streaming the reply are set and have no effect,
  the reply being buffered whole (``send_progress_in_http_headers``, ``http_headers_progress_interval_ms``,
  ``cancel_http_readonly_queries_on_client_close``). ``enable_http_compression`` (on by default in 26.9) with
  ``Accept-Encoding`` compresses the reply, choosing the method in ClickHouse's order (zstd, br, lz4, gzip,
  deflate, xz, bz2) among those installed here.
- HTTP-interface parameters that are not settings are accepted: ``session_id``, ``session_timeout``,
  ``session_check``, ``query_id`` (echoed in X-ClickHouse-Query-Id), ``quota_key``, ``role``,
  ``buffer_size``, ``wait_end_of_query`` (responses are always buffered whole), ``client_protocol_version``
  (ignored: Native output is protocol 0, so clickhouse-connect's probe for it fails and it reads plain
  Native).
- Responses carry X-ClickHouse-Format, X-ClickHouse-Timezone, X-ClickHouse-Query-Id, X-ClickHouse-Summary
  and X-ClickHouse-Server-Display-Name. A failing statement answers with the HTTP status ClickHouse maps its
  error code to (400 SYNTAX_ERROR, 404 UNKNOWN_TABLE…, else 500), X-ClickHouse-Exception-Code, and the body
  ``Code: N. DB::Exception: … (NAME) (version V)``.
- ``GET /ping`` and ``GET /`` answer ``Ok.``. Users: ``default`` with an empty password, as on a fresh server
  (anything else: 516 AUTHENTICATION_FAILED).

Not emulated: sessions' own state (a server keeps ``SET`` and temporary tables per ``session_id``; here the
one chDB session is shared), ``readonly`` for GET requests, ClickHouse's block compression (``compress=1`` /
``decompress=1``: refused), external data (file parts of ``multipart/form-data``; its plain fields, which
clickhouse-connect sends for a query and parameters over 4 KB, are read). chDB's changes to ClickHouse's setting
defaults for in-process use (``implicit_select``, ``output_format_arrow_use_native_writer``…) are undone at start, so
clients see a server's defaults.
"""

from __future__ import annotations

import argparse
import base64
import bz2
import contextlib
import email.policy
import gzip
import json
import lzma
import re
import subprocess
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

HOST = "127.0.0.1"

# URL parameters the HTTP interface consumes itself; everything else (but param_*) is a setting.
HTTP_PARAMS = frozenset(
    {
        "query",
        "database",
        "default_format",
        "user",
        "password",
        "quota_key",
        "query_id",
        "session_id",
        "session_timeout",
        "session_check",
        "close_session",
        "role",
        "buffer_size",
        "wait_end_of_query",
        "client_protocol_version",
        "stacktrace",
        "compress",
        "decompress",
    }
)

# ClickHouse's exceptionCodeToHTTPStatus (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp), by error name.
_STATUS_NAMES = {
    400: "BAD_ARGUMENTS CANNOT_COMPILE_REGEXP CANNOT_PARSE_TEXT CANNOT_PARSE_ESCAPE_SEQUENCE "
    "CANNOT_PARSE_QUOTED_STRING CANNOT_PARSE_DATE CANNOT_PARSE_DATETIME CANNOT_PARSE_NUMBER "
    "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING "
    "CANNOT_PARSE_IPV4 CANNOT_PARSE_IPV6 CANNOT_PARSE_INPUT_ASSERTION_FAILED CANNOT_PARSE_UUID DUPLICATE_COLUMN "
    "ILLEGAL_COLUMN UNKNOWN_ELEMENT_IN_AST UNKNOWN_TYPE_OF_AST_NODE THERE_IS_NO_COLUMN TOO_DEEP_AST TOO_BIG_AST "
    "UNEXPECTED_AST_STRUCTURE SYNTAX_ERROR INCORRECT_DATA TYPE_MISMATCH VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
    401: "REQUIRED_PASSWORD",
    403: "UNKNOWN_USER WRONG_PASSWORD AUTHENTICATION_FAILED SET_NON_GRANTED_ROLE ACCESS_DENIED",
    404: "UNKNOWN_TABLE UNKNOWN_FUNCTION UNKNOWN_IDENTIFIER UNKNOWN_TYPE UNKNOWN_STORAGE UNKNOWN_DATABASE "
    "UNKNOWN_SETTING UNKNOWN_DIRECTION_OF_SORTING UNKNOWN_AGGREGATE_FUNCTION UNKNOWN_FORMAT "
    "UNKNOWN_DATABASE_ENGINE UNKNOWN_TYPE_OF_QUERY UNKNOWN_ROLE",
    408: "TIMEOUT_EXCEEDED",
    411: "HTTP_LENGTH_REQUIRED",
    413: "QUERY_IS_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    501: "NOT_IMPLEMENTED",
    503: "SOCKET_TIMEOUT CANNOT_OPEN_FILE CANNOT_SCHEDULE_TASK",
}
HTTP_STATUS = {name: status for status, names in _STATUS_NAMES.items() for name in names.split()}

_INSERT = re.compile(rb"\s*INSERT\b", re.I)
_OUTPUT_FORMAT = re.compile(rb"\bFORMAT\s+(\w+)\s*;?\s*$", re.I)
_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# An INSERT of data in format F (not an INSERT … SELECT, whose SELECT may name a column ``format``).
_INSERT_FORMAT = re.compile(rb"^(\s*INSERT\b(?:(?!\bSELECT\b).)*)\bFORMAT\s+(\w+)\s*$", re.I | re.S)
# An INSERT and its data in one body: the statement (no quote before FORMAT, so no string holds the match; no
# SELECT), then the data after spaces and at most one newline.
_INSERT_THEN_DATA = re.compile(rb"\s*INSERT\s+INTO\s(?:(?!\bSELECT\b)[^'\"])*?\bFORMAT\s+\w+(?=\s)[ \t\f]*\r?\n?", re.I)
# chDB's error text; a streaming insert's carries words of its own before it and the version after it
_ERROR = re.compile(r"Code: (\d+)\. .*\(([A-Z][A-Z0-9_]+)\)(?=(?:\s*\(version [^)]*\))?\s*$)", re.S)


class ClickHouseError(Exception):
    """A ClickHouse exception: its code, symbolic name and full ``Code: N. DB::Exception: …`` text."""

    def __init__(self, code: int, name: str, text: str):
        super().__init__(text)
        self.code, self.name, self.text = code, name, text

    @classmethod
    def of(cls, code: int, name: str, message: str) -> ClickHouseError:
        return cls(code, name, f"Code: {code}. DB::Exception: {message}. ({name})")

    @classmethod
    def from_chdb(cls, error: Exception) -> ClickHouseError:
        text = str(error).strip()
        m = _ERROR.search(text)
        if m is None:
            return cls.of(1001, "STD_EXCEPTION", text)
        return cls(int(m.group(1)), m.group(2), m.group(0))


# ---------------------------------------------------------------------------- codecs
def _codecs() -> dict[str, tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]]:
    """Content-Encoding name -> (compress, decompress), for those installed here."""
    out: dict[str, tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]] = {
        "gzip": (lambda b: gzip.compress(b, 3), gzip.decompress),
        "deflate": (lambda b: zlib.compress(b, 3), zlib.decompress),
        "xz": (lambda b: lzma.compress(b, lzma.FORMAT_XZ), lzma.decompress),
        "bz2": (bz2.compress, bz2.decompress),
    }
    try:
        if sys.version_info >= (3, 14):
            from compression import zstd  # type: ignore[import-not-found]
        else:
            from backports import zstd  # type: ignore[import-not-found,no-redef]
        out["zstd"] = (zstd.compress, zstd.decompress)
    except ImportError:
        pass
    try:
        import lz4.frame  # type: ignore[import-untyped]

        def lz4_decompress(data: bytes) -> bytes:
            # every frame: a client that streams its body compresses each chunk as a frame of its own, and
            # ``lz4.frame.decompress`` stops after the first (the insert then reads short: "Cannot read all data")
            out = []
            while data:
                frame = lz4.frame.LZ4FrameDecompressor()
                out.append(frame.decompress(data))
                data = frame.unused_data
            return b"".join(out)

        out["lz4"] = (lz4.frame.compress, lz4_decompress)
    except ImportError:
        pass
    try:
        import brotli  # type: ignore[import-not-found]

        out["br"] = (brotli.compress, brotli.decompress)
    except ImportError:
        pass
    return out


CODECS = _codecs()
# ClickHouse's chooseHTTPCompressionMethod: the first of these named anywhere in Accept-Encoding.
RESPONSE_PREFERENCE = ("zstd", "br", "lz4", "snappy", "gzip", "deflate", "xz", "bz2")


def response_encoding(accept: str) -> str | None:
    for name in RESPONSE_PREFERENCE:
        if name in accept and name in CODECS:
            return name
    return None


def decode_body(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if not body or encoding in ("", "identity", "none"):
        return body
    if encoding not in CODECS:
        raise ClickHouseError.of(48, "NOT_IMPLEMENTED", f"Content-Encoding {encoding!r} is not available here")
    try:
        return CODECS[encoding][1](body)
    except Exception as e:
        raise ClickHouseError.of(117, "INCORRECT_DATA", f"cannot decode the {encoding} request body: {e}") from None


# ---------------------------------------------------------------------------- engine
@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def form_fields(content_type: str, body: bytes) -> dict[str, str]:
    """The fields of a ``multipart/form-data`` body (clickhouse-connect sends the query and its parameters so when
    they would make the URL too long). A part with a file name is external data, which this endpoint refuses."""
    message = BytesParser(policy=email.policy.HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if part.get_filename() is not None:
            raise ClickHouseError.of(48, "NOT_IMPLEMENTED", "external data (a file part of multipart/form-data)")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            fields[name] = (payload if isinstance(payload, bytes) else b"").decode()
    return fields


def _content_type(fmt: str) -> str:
    f = fmt.lower()
    if f.startswith("json"):
        return "application/json; charset=UTF-8"
    if f in ("tabseparated", "tsv") or f.startswith(("tabseparated", "tsv")):
        return "text/tab-separated-values; charset=UTF-8"
    if f.startswith("csv"):
        return "text/csv; charset=UTF-8"
    if f in ("native", "arrow", "arrowstream", "parquet", "orc", "avro") or f.startswith("rowbinary"):
        return "application/octet-stream"
    return "text/plain; charset=UTF-8"


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Engine:
    """One chDB session, shared by every request (one statement at a time)."""

    def __init__(self, path: str, config_file: str | None = None):
        from chdb import session as chdb_session  # the server process's one data path

        # ``config_file``: a server config (e.g. ``remote_servers`` and ``macros``), as clickhouse-server takes one.
        self._session = chdb_session.Session(f"{path}?config-file={config_file}" if config_file else path)
        self._lock = threading.Lock()
        self._applied: dict[str, str] = {}
        version, tz = self._run("SELECT version(), timezone()").decode().rstrip("\n").split("\t")
        self.version, self.timezone = version, tz
        for name in self._run("SELECT name FROM system.settings WHERE value != default AND name != 'database'").split():
            self._run(f"SET {name.decode()} = DEFAULT")
        self._http_compression = self._run("SELECT getSetting('enable_http_compression')").strip() in (b"1", b"true")

    def _run(self, sql: str, fmt: str = "TabSeparated", params: dict[str, str] | None = None) -> bytes:
        try:
            result = self._session.query(sql, fmt, params=params or None)
        except Exception as e:
            raise ClickHouseError.from_chdb(e) from None
        return b"" if result is None else bytes(result.bytes())

    def _apply_settings(self, wanted: dict[str, str]) -> None:
        for name in list(self._applied):
            if name not in wanted:
                self._run(f"SET {name} = DEFAULT")
                del self._applied[name]
        for name, value in wanted.items():
            if not _SETTING_NAME.match(name):
                raise ClickHouseError.of(115, "UNKNOWN_SETTING", f"Unknown setting {name!r}")
            if self._applied.get(name) != value:
                self._run(f"SET {name} = {_literal(value)}")
                self._applied[name] = value

    def _insert(self, statement: bytes, fmt: str, data: bytes) -> Any:
        """``statement`` (an ``INSERT`` without its ``FORMAT``) fed ``data`` in ``fmt`` through chDB's streaming
        insert; returns the insert's result (rows and bytes written)."""
        inserter = self._session.send_insert(statement.decode(), fmt)
        try:
            inserter.append(data)
        except BaseException:
            with contextlib.suppress(Exception):  # the append's error is the one to report
                inserter.cancel()
            raise
        return inserter.finish()

    def execute(self, sql: bytes, params: dict[str, str], accept_encoding: str, data: bytes = b"") -> Reply:
        """Run ``sql``; ``data``, when given, is the data of ``sql``, an ``INSERT … FORMAT F`` (else it follows the
        statement's text, as on a server)."""
        started = time.perf_counter()
        if params.get("compress", "0") != "0" or params.get("decompress", "0") != "0":
            raise ClickHouseError.of(48, "NOT_IMPLEMENTED", "ClickHouse block compression (compress/decompress=1)")
        settings = {k: v for k, v in params.items() if k not in HTTP_PARAMS and not k.startswith("param_")}
        bound = {k[len("param_") :]: v for k, v in params.items() if k.startswith("param_")}
        default_format = params.get("default_format") or "TabSeparated"
        database = params.get("database") or "default"
        out_format = default_format
        if not _INSERT.match(sql) and (m := _OUTPUT_FORMAT.search(sql[-200:])):
            out_format = m.group(1).decode()
        try:
            with self._lock:
                self._run(f"USE `{database.replace('`', '``')}`")
                self._apply_settings(settings)
                if data and not bound and (m := _INSERT_FORMAT.match(sql)):
                    inserted = self._insert(m.group(1), m.group(2).decode(), data)
                    result, written = None, (inserted.rows_written, inserted.bytes_written)
                else:
                    # Bytes: chDB takes the statement as is, data after ``INSERT … FORMAT F`` included.
                    result = self._session.query(sql + b"\n" + data if data else sql, default_format,
                                                 params=bound or None)  # fmt: skip
                    written = (result.rows_written(), result.bytes_written()) if result is not None else (0, 0)
        except ClickHouseError:
            raise
        except Exception as e:
            raise ClickHouseError.from_chdb(e) from None
        body = b"" if result is None else bytes(result.bytes())
        summary = {
            "read_rows": str(result.rows_read()) if result is not None else "0",
            "read_bytes": str(result.bytes_read()) if result is not None else "0",
            "written_rows": str(written[0]),
            "written_bytes": str(written[1]),
            "elapsed_ns": str(int((time.perf_counter() - started) * 1e9)),
        }
        headers = {
            "Content-Type": _content_type(out_format),
            "X-ClickHouse-Format": out_format,
            "X-ClickHouse-Timezone": settings.get("session_timezone") or self.timezone,
            "X-ClickHouse-Summary": json.dumps(summary, separators=(",", ":")),
        }
        enabled = settings.get("enable_http_compression")
        if (self._http_compression if enabled is None else enabled in ("1", "true")) and body:
            encoding = response_encoding(accept_encoding.lower())
            if encoding:
                body = CODECS[encoding][0](body)
                headers["Content-Encoding"] = encoding
        return Reply(200, body, headers)


# ---------------------------------------------------------------------------- HTTP
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients pool connections
    disable_nagle_algorithm = True  # else each reply waits out the client's delayed ACK (~40 ms)
    server: Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the test run's output is pytest's
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _credentials(self, params: dict[str, str]) -> tuple[str, str]:
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            return user, password
        user = self.headers.get("X-ClickHouse-User") or params.get("user") or "default"
        return user, self.headers.get("X-ClickHouse-Key") or params.get("password") or ""

    def _serve(self) -> None:
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        query_id = params.get("query_id") or str(uuid.uuid4())
        try:
            raw = self._read_body()
            if url.path == "/ping" or (url.path == "/" and not raw and "query" not in params):
                return self._send(Reply(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"}))
            if url.path != "/":
                return self._send(Reply(404, f"There is no handle {url.path}\n".encode()))
            user, password = self._credentials(params)
            if user != "default" or password:
                raise ClickHouseError.of(
                    516,
                    "AUTHENTICATION_FAILED",
                    f"{user}: Authentication failed: password is incorrect, or there is no user with such name",
                )
            body = decode_body(raw, self.headers.get("Content-Encoding", ""))
            content_type = self.headers.get("Content-Type", "")
            if content_type.lower().startswith("multipart/form-data"):
                params.update(form_fields(content_type, body))  # the query and its parameters as form fields
                body = b""
            head = params.get("query", "").encode()
            if head:
                sql, data = head, body
            elif m := _INSERT_THEN_DATA.match(body):
                sql, data = body[: m.end()].rstrip(), body[m.end() :]
            else:
                sql, data = body, b""
            if not sql.strip():
                raise ClickHouseError.of(62, "SYNTAX_ERROR", "Empty query")
            reply = self.server.engine.execute(sql, params, self.headers.get("Accept-Encoding", ""), data)
        except ClickHouseError as e:
            reply = Reply(
                HTTP_STATUS.get(e.name, 500),
                f"{e.text} (version {self.server.engine.version})\n".encode(),
                {"Content-Type": "text/plain; charset=UTF-8", "X-ClickHouse-Exception-Code": str(e.code)},
            )
        except Exception as e:  # a bug here: report it the way the server reports its own
            text = ClickHouseError.of(1001, "STD_EXCEPTION", f"{type(e).__name__}: {e}").text
            reply = Reply(500, f"{text}\n".encode(), {"X-ClickHouse-Exception-Code": "1001"})
        reply.headers["X-ClickHouse-Query-Id"] = query_id
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        headers = {"X-ClickHouse-Server-Display-Name": "chdb-http", "Keep-Alive": "timeout=10", **reply.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, engine: Engine, port: int = 0):
        self.engine = engine
        super().__init__((HOST, port), Handler)


# ---------------------------------------------------------------------------- process
def spawn(
    path: str, log: Path, timeout: float = 60.0, config_file: str | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """Start the server in a child process on ``path``; returns it and its port once it listens.

    The child stops when its stdin closes, so it dies with the process that started it even when that one is
    killed. ``log`` takes its stderr.
    """
    with log.open("ab") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--path",
                path,
                "--port",
                "0",
                "--stop-on-stdin-eof",
                *(["--config-file", config_file] if config_file else []),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
        )
    assert proc.stdout is not None
    line = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not line:
        line = proc.stdout.readline()  # blocks until the child prints its port or exits
        if not line and proc.poll() is not None:
            break
    m = re.match(rb"listening on 127\.0\.0\.1:(\d+)", line)
    if m is None:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"the chDB HTTP server did not start: {log.read_text(errors='replace')[-2000:]}")
    return proc, int(m.group(1))


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.stdin is not None:
        proc.stdin.close()  # the child's cue to shut down
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", required=True, help="chDB data directory")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    parser.add_argument("--stop-on-stdin-eof", action="store_true", help="shut down when stdin closes")
    parser.add_argument("--config-file", help="a ClickHouse server config for chDB (clusters, macros)")
    args = parser.parse_args(argv)
    server = Server(Engine(args.path, args.config_file), args.port)
    if args.stop_on_stdin_eof:

        def watch() -> None:
            sys.stdin.buffer.read()
            server.shutdown()

        threading.Thread(target=watch, daemon=True).start()
    print(f"listening on {HOST}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
