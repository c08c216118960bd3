"""HTTP client for the query API, and the module-level ``search_traces`` / ``search_spans`` / ``get_trace`` /
``export`` built on it.

Standard library + msgspec; pandas and pyarrow are imported when a DataFrame or a file is built. A page of up
to 1,000 rows travels as JSON; anything larger (``max_results`` above 1,000 or None) is streamed by the server
as Arrow record batches.

Exceptions::

    ApiError (RuntimeError)      the server answered with an error status (``.status``, ``.message``)
    spanscope.query.FilterError  a 400 about the filter / order_by / extract_fields (``.column``)
    ConnectionError              the server could not be reached
"""

from __future__ import annotations

import http.client
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from spanscope.model import Trace
from spanscope.settings import default_endpoint, resolve

if TYPE_CHECKING:
    import pandas as pd

BASE_COLUMNS = ("trace_id", "name", "status", "start_time", "duration_ms", "tags", "request", "response")
SPAN_BASE_COLUMNS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "kind",
    "status",
    "status_message",
    "start_time",
    "end_time",
    "duration_ms",
    "attributes",
    "inputs",
    "outputs",
    "trace_name",
    "tags",
)
_PAGE = 1000
_ARROW = "application/vnd.apache.arrow.stream"
_PATHS = {"traces": "/api/v1/traces/search", "spans": "/api/v1/spans/search"}


class ApiError(RuntimeError):
    def __init__(self, status: int, message: str):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


def _raise_for(status: int, payload: bytes) -> None:
    try:
        decoded = msgspec.json.decode(payload) if payload else None
    except msgspec.DecodeError:
        decoded = {"error": payload[:500].decode(errors="replace")}
    message = decoded.get("error", str(decoded)) if isinstance(decoded, dict) else str(decoded)
    if status == 400 and isinstance(decoded, dict) and decoded.get("column") is not None:
        from spanscope.query import FilterError

        raise FilterError.from_server(message, int(decoded["column"]))
    raise ApiError(status, message)


class Client:
    """Talks to one spanscope server.

    >>> client = Client("http://127.0.0.1:8417", project="support-bot")
    >>> df = client.search_traces("tag.quality_score < 0.7", extract_fields=["span.inputs.messages"])
    """

    def __init__(
        self,
        endpoint: str | None = None,
        api_key: str | None = None,
        project: str | None = None,
        timeout: float = 60.0,
    ):
        self.endpoint = (resolve("endpoint", endpoint) or default_endpoint()).rstrip("/")
        self.api_key = resolve("api_key", api_key)
        self.project = resolve("project", project)
        self.timeout = timeout
        parsed = urllib.parse.urlsplit(self.endpoint)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"invalid endpoint {self.endpoint!r}; expected e.g. http://127.0.0.1:8417")
        self._parsed = parsed

    # ------------------------------------------------------------------ transport
    def _open(self, method: str, path: str, body: Any, accept: str) -> tuple[http.client.HTTPConnection, Any]:
        p = self._parsed
        conn_cls = http.client.HTTPSConnection if p.scheme == "https" else http.client.HTTPConnection
        conn = conn_cls(p.hostname, p.port, timeout=self.timeout)  # type: ignore[arg-type]
        headers = {"Accept": accept, "X-Spanscope-Project": self.project}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = None
        if body is not None:
            data = msgspec.json.encode(body)
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, p.path.rstrip("/") + path, body=data, headers=headers)
            return conn, conn.getresponse()
        except OSError as exc:
            conn.close()
            raise ConnectionError(f"cannot reach spanscope server at {self.endpoint}: {exc}") from exc

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        conn, resp = self._open(method, path, body, "application/json")
        try:
            payload = resp.read()
        except OSError as exc:
            raise ConnectionError(f"cannot reach spanscope server at {self.endpoint}: {exc}") from exc
        finally:
            conn.close()
        if resp.status >= 400:
            _raise_for(resp.status, payload)
        return msgspec.json.decode(payload) if payload else None

    def _stream(self, path: str, body: Any, accept: str) -> Iterator[Any]:
        """The open response of a streaming request (closed when the iterator is)."""
        conn, resp = self._open("POST", path, body, accept)
        try:
            if resp.status >= 400:
                _raise_for(resp.status, resp.read())
            yield resp
        finally:
            conn.close()

    # ------------------------------------------------------------------ API
    def health(self) -> bool:
        try:
            self._request("GET", "/healthz")
            return True
        except (ConnectionError, ApiError):
            return False

    def ingest(self, body: dict[str, Any]) -> dict[str, Any]:
        """Post a native ingest body (``{"spans": [...], ...}``); returns the accepted/rejected answer."""
        return self._request("POST", "/api/v1/ingest", body)

    def get_trace(self, trace_id: str) -> Trace:
        """The whole trace: summary, spans (with events) and findings. Raises ApiError(404) if unknown."""
        data = self._request("GET", f"/api/v1/traces/{urllib.parse.quote(trace_id)}")
        return msgspec.convert(data, Trace)

    def search_rows(
        self,
        rows: str,
        filter_string: str | None = None,
        max_results: int | None = 100,
        order_by: Sequence[str] | str | None = None,
        extract_fields: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Raw result rows (dicts) and the token of the next page; follows pages up to ``max_results``
        (None: all). More than 1,000 rows come as one Arrow stream (no token then)."""
        if max_results is None or max_results > _PAGE:
            out: list[dict[str, Any]] = []
            for page in self.iter_rows(rows, filter_string, max_results, order_by, extract_fields):
                out.extend(page)
            return out, None
        found: list[dict[str, Any]] = []
        token = page_token
        key = "traces" if rows == "traces" else "spans"
        while max_results - len(found) > 0:
            body = _body(filter_string, max_results - len(found), order_by, extract_fields, token)
            page = self._request("POST", _PATHS[rows], body)
            found.extend(page[key])
            token = page.get("next_page_token")
            if not token:
                break
        return found, token

    def search_trace_rows(
        self,
        filter_string: str | None = None,
        max_results: int | None = 100,
        order_by: Sequence[str] | str | None = None,
        extract_fields: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        return self.search_rows("traces", filter_string, max_results, order_by, extract_fields, page_token)

    def iter_rows(
        self,
        rows: str,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[str] | str | None = None,
        extract_fields: Sequence[str] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Every matching row (up to ``max_results``), a record batch at a time, streamed as Arrow."""
        import pyarrow as pa

        from spanscope.export import batch_to_rows

        body = _body(filter_string, max_results, order_by, extract_fields, None)
        stream = self._stream(_PATHS[rows], body, _ARROW)
        resp = next(stream)
        try:
            reader = pa.ipc.open_stream(resp)
            for batch in reader:
                yield batch_to_rows(batch, rows)
        finally:
            stream.close()

    def search_traces(
        self,
        filter_string: str | None = None,
        max_results: int | None = 100,
        order_by: Sequence[str] | str | None = None,
        extract_fields: Sequence[str] | None = None,
        page_token: str | None = None,
        to: str | Path | None = None,
    ) -> pd.DataFrame | Path:
        """Traces matching ``filter_string`` as a DataFrame, one row per trace.

        Columns: ``trace_id, name, status, start_time`` (UTC), ``duration_ms, tags, request, response``,
        a ``tag.<key>`` column per tag key present, a ``finding.<name>`` column per finding name present,
        and one column per ``extract_fields`` entry, named exactly as given. With ``to="x.parquet"`` (or
        .csv/.jsonl) the rows are written to that file instead (streamed) and its path is returned.
        """
        if to is not None:
            return self.export(
                filter_string, to, order_by=order_by, extract_fields=extract_fields, max_results=max_results
            )
        rows, _ = self.search_rows("traces", filter_string, max_results, order_by, extract_fields, page_token)
        return rows_to_frame(rows, list(extract_fields or []))

    def search_spans(
        self,
        filter_string: str | None = None,
        max_results: int | None = 100,
        order_by: Sequence[str] | str | None = None,
        extract_fields: Sequence[str] | None = None,
        page_token: str | None = None,
        to: str | Path | None = None,
    ) -> pd.DataFrame | Path:
        """Spans as a DataFrame, one row per span: the spans of matching traces that satisfy the filter's
        span conditions (every span of the trace when it has none), each with its trace's ``trace_name``,
        ``tags`` (and ``tag.<key>`` columns) and findings (``finding.<name>`` columns).

        >>> slow = client.search_spans("span.name = 'db.query' AND span.duration_ms >= p95",
        ...                            order_by="duration_ms DESC")
        """
        if to is not None:
            return self.export(
                filter_string,
                to,
                rows="spans",
                order_by=order_by,
                extract_fields=extract_fields,
                max_results=max_results,
            )
        rows, _ = self.search_rows("spans", filter_string, max_results, order_by, extract_fields, page_token)
        return span_rows_to_frame(rows, list(extract_fields or []))

    def count(self, filter_string: str | None = None, rows: str = "traces") -> int:
        """How many traces (or spans) the filter matches."""
        return int(self._request("POST", "/api/v1/analysis/count", {"filter": filter_string, "rows": rows})["count"])

    def analysis(self, name: str, body: dict[str, Any]) -> Any:
        """``POST /api/v1/analysis/<name>`` (see ``spanscope.analysis`` for the friendly functions)."""
        return self._request("POST", f"/api/v1/analysis/{name}", body)

    def export(
        self,
        filter_string: str | None,
        path: str | Path,
        *,
        rows: str = "traces",
        format: str | None = None,
        order_by: Sequence[str] | str | None = None,
        extract_fields: Sequence[str] | None = None,
        max_results: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> Path:
        """Write every matching trace (or span, ``rows="spans"``) to a Parquet, CSV or JSONL file, streamed.

        ``format`` defaults to the file's extension; ``progress(n)`` is called after each batch with the rows
        written so far.
        """
        from spanscope.export import FileWriter, format_of

        out = Path(path)
        fmt = format_of(out, format)
        writer = FileWriter(out, fmt, rows, list(extract_fields or []))
        try:
            for page in self.iter_rows(rows, filter_string, max_results, order_by, extract_fields):
                writer.write(page)
                if progress is not None:
                    progress(writer.rows)
        finally:
            writer.close()
        return out


def _body(
    filter_string: str | None,
    max_results: int | None,
    order_by: Sequence[str] | str | None,
    extract_fields: Sequence[str] | None,
    page_token: str | None,
) -> dict[str, Any]:
    return {
        "filter": filter_string,
        "max_results": max_results,
        "order_by": order_by if order_by is None or isinstance(order_by, str) else list(order_by),
        "extract_fields": None if extract_fields is None else list(extract_fields),
        "page_token": page_token,
    }


def _typed_columns(df: pd.DataFrame, data: dict[str, list[Any]], columns: list[str]) -> None:
    """Numeric tag/finding/field columns become numbers so pandas can correlate them directly: int64 when
    every value is an int, float64 (missing = NaN) otherwise."""
    import pandas as pd

    for col in columns:
        values = [v for v in data[col] if v is not None]
        if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            all_ints = len(values) == len(data[col]) and all(isinstance(v, int) for v in values)
            df[col] = pd.Series(data[col], dtype="int64" if all_ints else "float64")


def _tag_and_finding_columns(rows: list[dict[str, Any]], data: dict[str, list[Any]], fields: list[str]) -> None:
    for k in sorted({k for r in rows for k in r["tags"]}):
        data[f"tag.{k}"] = [r["tags"].get(k) for r in rows]
    for n in sorted({k for r in rows for k in r["findings"]}):
        data[f"finding.{n}"] = [r["findings"].get(n) for r in rows]
    for f in fields:
        data[f] = [r["fields"].get(f) for r in rows]


def rows_to_frame(rows: list[dict[str, Any]], extract_fields: list[str]) -> pd.DataFrame:
    import pandas as pd

    data: dict[str, list[Any]] = {
        "trace_id": [r["trace_id"] for r in rows],
        "name": [r["name"] for r in rows],
        "status": [r["status"] for r in rows],
        "start_time": [r["start_time_ns"] for r in rows],
        "duration_ms": [r["duration_ms"] for r in rows],
        "tags": [r["tags"] for r in rows],
        "request": [r["request"] for r in rows],
        "response": [r["response"] for r in rows],
    }
    _tag_and_finding_columns(rows, data, extract_fields)
    df = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in data.items()})
    df["start_time"] = pd.to_datetime(pd.Series(data["start_time"], dtype="Int64"), unit="ns", utc=True)
    df["duration_ms"] = pd.to_numeric(pd.Series(data["duration_ms"], dtype=object), errors="coerce").astype("float64")
    for col in ("trace_id", "name", "status"):
        df[col] = pd.Series(data[col], dtype=object)
    _typed_columns(df, data, [c for c in df.columns if c.startswith(("tag.", "finding."))] + list(extract_fields))
    return df


def span_rows_to_frame(rows: list[dict[str, Any]], extract_fields: list[str]) -> pd.DataFrame:
    """Span search rows as a DataFrame (columns in ``SPAN_BASE_COLUMNS`` order, then tags/findings/fields)."""
    import pandas as pd

    data: dict[str, list[Any]] = {}
    for col in SPAN_BASE_COLUMNS:
        key = f"{col}_ns" if col in ("start_time", "end_time") else col
        data[col] = [r.get(key) for r in rows]
    _tag_and_finding_columns(rows, data, extract_fields)
    df = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in data.items()})
    for col in ("start_time", "end_time"):
        df[col] = pd.to_datetime(pd.Series(data[col], dtype="Int64"), unit="ns", utc=True)
    df["duration_ms"] = pd.to_numeric(pd.Series(data["duration_ms"], dtype=object), errors="coerce").astype("float64")
    _typed_columns(df, data, [c for c in df.columns if c.startswith(("tag.", "finding."))] + list(extract_fields))
    return df


def _default_client() -> Client:
    from spanscope.sdk import get_config

    cfg = get_config()
    return Client(cfg.get("endpoint"), cfg.get("api_key"), cfg.get("project"))


def search_traces(
    filter_string: str | None = None,
    max_results: int | None = 100,
    order_by: Sequence[str] | str | None = None,
    extract_fields: Sequence[str] | None = None,
    page_token: str | None = None,
    to: str | Path | None = None,
) -> pd.DataFrame | Path:
    """Search the configured server (see :func:`spanscope.configure`) into a pandas DataFrame.

    >>> df = spanscope.search_traces("tag.quality_score < 0.7",
    ...     extract_fields=["span.inputs.messages", "span.attributes.usage.total_tokens"])
    >>> df["tag.quality_score"].corr(df["span.attributes.usage.total_tokens"])
    """
    return _default_client().search_traces(filter_string, max_results, order_by, extract_fields, page_token, to)


def search_spans(
    filter_string: str | None = None,
    max_results: int | None = 100,
    order_by: Sequence[str] | str | None = None,
    extract_fields: Sequence[str] | None = None,
    page_token: str | None = None,
    to: str | Path | None = None,
) -> pd.DataFrame | Path:
    """Search spans on the configured server: one row per span, with its trace's tags and findings.

    >>> spanscope.search_spans("span.name = 'db.query' AND span.duration_ms >= p95", order_by="duration_ms DESC")
    """
    return _default_client().search_spans(filter_string, max_results, order_by, extract_fields, page_token, to)


def export(
    filter_string: str | None,
    path: str | Path,
    *,
    rows: str = "traces",
    format: str | None = None,
    order_by: Sequence[str] | str | None = None,
    extract_fields: Sequence[str] | None = None,
    max_results: int | None = None,
) -> Path:
    """Write every matching trace (``rows="spans"``: span) to a Parquet, CSV or JSONL file, streamed.

    >>> spanscope.export("tag.quality_score < 0.5", "low.parquet", extract_fields=["span.inputs.messages"])
    """
    return _default_client().export(
        filter_string,
        path,
        rows=rows,
        format=format,
        order_by=order_by,
        extract_fields=extract_fields,
        max_results=max_results,
    )


def get_trace(trace_id: str) -> Trace:
    """The whole trace from the configured server."""
    return _default_client().get_trace(trace_id)
