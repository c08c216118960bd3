"""HTTP client for the query API, and the module-level ``search_traces`` / ``get_trace`` built on it.

Standard library + msgspec only; pandas is imported when a DataFrame is built.

Exceptions::

    ApiError (RuntimeError)      the server answered with an error status (``.status``, ``.message``)
    spanscope.query.FilterError  a 400 about the filter / order_by / extract_fields (``.column``)
    ConnectionError              the server could not be reached
"""

from __future__ import annotations

import http.client
import urllib.parse
from typing import TYPE_CHECKING, Any

import msgspec

from spanscope.model import Trace
from spanscope.settings import default_endpoint, resolve

if TYPE_CHECKING:
    import pandas as pd

BASE_COLUMNS = ("trace_id", "name", "status", "start_time", "duration_ms", "tags", "request", "response")
_PAGE = 1000


class ApiError(RuntimeError):
    def __init__(self, status: int, message: str):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


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
    def _request(self, method: str, path: str, body: Any = None) -> Any:
        p = self._parsed
        conn_cls = http.client.HTTPSConnection if p.scheme == "https" else http.client.HTTPConnection
        conn = conn_cls(p.hostname, p.port, timeout=self.timeout)  # type: ignore[arg-type]
        headers = {"Accept": "application/json", "X-Spanscope-Project": self.project}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = None
        if body is not None:
            data = msgspec.json.encode(body)
            headers["Content-Type"] = "application/json"
        try:
            try:
                conn.request(method, p.path.rstrip("/") + path, body=data, headers=headers)
                resp = conn.getresponse()
                payload = resp.read()
            except OSError as exc:
                raise ConnectionError(f"cannot reach spanscope server at {self.endpoint}: {exc}") from exc
        finally:
            conn.close()
        try:
            decoded = msgspec.json.decode(payload) if payload else None
        except msgspec.DecodeError:
            decoded = {"error": payload[:500].decode(errors="replace")}
        if resp.status >= 400:
            message = decoded.get("error", str(decoded)) if isinstance(decoded, dict) else str(decoded)
            if resp.status == 400 and isinstance(decoded, dict) and decoded.get("column") is not None:
                from spanscope.query import FilterError

                raise FilterError.from_server(message, int(decoded["column"]))
            raise ApiError(resp.status, message)
        return decoded

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

    def search_trace_rows(
        self,
        filter_string: str | None = None,
        max_results: int | None = 100,
        order_by: list[str] | str | None = None,
        extract_fields: list[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Raw result rows (dicts) and the token for the next page; follows pages up to ``max_results``."""
        rows: list[dict[str, Any]] = []
        token = page_token
        while True:
            want = _PAGE if max_results is None else min(_PAGE, max_results - len(rows))
            if want <= 0:
                break
            page = self._request(
                "POST",
                "/api/v1/traces/search",
                {
                    "filter": filter_string,
                    "max_results": want,
                    "order_by": order_by,
                    "extract_fields": extract_fields,
                    "page_token": token,
                },
            )
            rows.extend(page["traces"])
            token = page.get("next_page_token")
            if not token:
                break
        return rows, token

    def search_traces(
        self,
        filter_string: str | None = None,
        max_results: int | None = 100,
        order_by: list[str] | str | None = None,
        extract_fields: list[str] | None = None,
        page_token: str | None = None,
    ) -> pd.DataFrame:
        """Traces matching ``filter_string`` as a DataFrame, one row per trace.

        Columns: ``trace_id, name, status, start_time`` (UTC), ``duration_ms, tags, request, response``,
        a ``tag.<key>`` column per tag key present, a ``finding.<name>`` column per finding name present,
        and one column per ``extract_fields`` entry, named exactly as given.
        """
        rows, _ = self.search_trace_rows(filter_string, max_results, order_by, extract_fields, page_token)
        return rows_to_frame(rows, extract_fields or [])


def rows_to_frame(rows: list[dict[str, Any]], extract_fields: list[str]) -> pd.DataFrame:
    import pandas as pd

    tag_keys = sorted({k for r in rows for k in r["tags"]})
    finding_names = sorted({k for r in rows for k in r["findings"]})
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
    for k in tag_keys:
        data[f"tag.{k}"] = [r["tags"].get(k) for r in rows]
    for n in finding_names:
        data[f"finding.{n}"] = [r["findings"].get(n) for r in rows]
    for f in extract_fields:
        data[f] = [r["fields"].get(f) for r in rows]
    df = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in data.items()})
    df["start_time"] = pd.to_datetime(pd.Series(data["start_time"], dtype="Int64"), unit="ns", utc=True)
    df["duration_ms"] = pd.to_numeric(pd.Series(data["duration_ms"], dtype=object), errors="coerce").astype("float64")
    for col in ("trace_id", "name", "status"):
        df[col] = pd.Series(data[col], dtype=object)
    # Numeric tag/finding/field columns become numbers so pandas can correlate them directly: int64 when
    # every value is an int, float64 (missing = NaN) otherwise.
    for col in [c for c in df.columns if c.startswith(("tag.", "finding."))] + list(extract_fields):
        values = [v for v in data[col] if v is not None]
        if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            all_ints = len(values) == len(data[col]) and all(isinstance(v, int) for v in values)
            df[col] = pd.Series(data[col], dtype="int64" if all_ints else "float64")
    return df


def _default_client() -> Client:
    from spanscope.sdk import get_config

    cfg = get_config()
    return Client(cfg.get("endpoint"), cfg.get("api_key"), cfg.get("project"))


def search_traces(
    filter_string: str | None = None,
    max_results: int | None = 100,
    order_by: list[str] | str | None = None,
    extract_fields: list[str] | None = None,
    page_token: str | None = None,
) -> pd.DataFrame:
    """Search the configured server (see :func:`spanscope.configure`) into a pandas DataFrame.

    >>> df = spanscope.search_traces("tag.quality_score < 0.7",
    ...     extract_fields=["span.inputs.messages", "span.attributes.usage.total_tokens"])
    >>> df["tag.quality_score"].corr(df["span.attributes.usage.total_tokens"])
    """
    return _default_client().search_traces(filter_string, max_results, order_by, extract_fields, page_token)


def get_trace(trace_id: str) -> Trace:
    """The whole trace from the configured server."""
    return _default_client().get_trace(trace_id)
