"""Running SQL on ClickHouse: in-process through chDB, or on a server/cluster through clickhouse-connect.

Both executors take the same SQL with ``?`` placeholders (what the query compiler emits) and rewrite each
into a typed query parameter (``{p0:String}``, ``{p1:Int64}``…) bound server-side; values never enter the
SQL text. Results come back as Arrow tables and are handed out as row tuples by a DB-API-like cursor, so
the engine-neutral read code can run unchanged.

chDB allows one data directory per process (``EmbeddedServer already initialized with path …``): the
first ``chdb://`` store fixes the process's session, and stores on the same path keep apart by database
(``chdb:///path?database=name``). The session is shared, so each query names its database first.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any, Final

import msgspec

_encode = msgspec.json.encode


# ---------------------------------------------------------------------------- parameters
def _param_type(value: Any) -> str:
    if value is None:
        return "Nullable(String)"
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, int):
        return "Int64"
    if isinstance(value, float):
        return "Float64"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list | tuple):
        inner = {_param_type(v) for v in value if v is not None} or {"String"}
        if len(inner) != 1:
            raise TypeError(f"a bound array must hold one type, not {sorted(inner)}")
        return f"Array({inner.pop()})"
    raise TypeError(f"cannot bind a {type(value).__name__} to a ClickHouse query")


# A long list of strings (a page's or a sample's trace ids) travels as one string split on the server: ClickHouse
# parses an ``Array(String)`` parameter of 10,000 trace ids in ~20 ms, and splits the string in ~2 ms.
_LIST_SEPARATOR: Final = "\x1f"
_JOIN_FROM: Final = 16


def _joinable(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and len(value) >= _JOIN_FROM
        and all(type(v) is str and _LIST_SEPARATOR not in v for v in value)
    )


def bind(sql: str, params: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """``sql`` with its ``?`` placeholders (outside quotes) as typed parameters, and their values by name.

    Example:
        >>> bind("SELECT ? WHERE s = '?' AND n > ?", ["a", 3])
        ("SELECT {p0:String} WHERE s = '?' AND n > {p1:Int64}", {'p0': 'a', 'p1': 3})
    """
    out: list[str] = []
    values: dict[str, Any] = {}
    quote: str | None = None
    i = 0
    for ch in sql:
        if quote:
            out.append(ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"', "`"):
            quote = ch
            out.append(ch)
        elif ch == "?":
            if i >= len(params):
                raise ValueError(f"the query has more placeholders than the {len(params)} parameters given")
            value = params[i]
            if _joinable(value):
                out.append(f"splitByChar('\\x1F', {{p{i}:String}})")
                values[f"p{i}"] = _LIST_SEPARATOR.join(value)
            else:
                out.append(f"{{p{i}:{_param_type(value)}}}")
                values[f"p{i}"] = value
            i += 1
        else:
            out.append(ch)
    if i != len(params):
        raise ValueError(f"the query has {i} placeholders but {len(params)} parameters were given")
    return "".join(out), values


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _quoted(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def chdb_param_value(value: Any) -> str:
    """A parameter value as chDB's ``params=`` wants it: the text ClickHouse parses for the declared type
    (escaped format for scalars, ``\\N`` for NULL, quoted literals inside arrays)."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_quoted(v) for v in value) + "]"
    return _escaped(str(value))


# ---------------------------------------------------------------------------- executors
class Executor:
    """Runs SQL for one database; ``query`` returns an Arrow table."""

    database: str

    def query(self, sql: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def command(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run a statement that returns nothing (DDL, ``DELETE``), its ``?`` bound like :meth:`query`'s."""
        raise NotImplementedError

    def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        table = self.query(sql, params)
        columns = [c.to_pylist() for c in table.columns]
        return list(zip(*columns, strict=True)) if columns else []

    def close(self) -> None:
        pass


# Settings for every query, both correct because all versions of a span share its start, so its partition
# (``spans_data`` is the one partitioned table), which ClickHouse cannot assume:
# - ``defer_partition_pruning_after_final = 0``: other days' parts are skipped before ``FINAL`` (get_trace at
#   10M spans: 32 -> 29 ms);
# - ``do_not_merge_across_partitions_select_final = 1``: ``FINAL`` merges within a day only (latency by span
#   name over 10M spans: 430 -> 357 ms).
# And for writes: ``max_partitions_per_insert_block = 0``: an insert may span any number of days (ClickHouse
# refuses more than 100 partitions in one block by default: a backfill, ``migrate-data`` or a migration's copy
# of a store with a year of light traffic would fail).
READ_SETTINGS: dict[str, int] = {
    "defer_partition_pruning_after_final": 0,
    "do_not_merge_across_partitions_select_final": 1,
    "max_partitions_per_insert_block": 0,
}

_chdb_lock = threading.RLock()
_chdb_session: Any = None
_chdb_path: str | None = None
_chdb_database: str | None = None


def release_chdb_session() -> None:
    """Close this process's chDB session, so that another data path can be opened (stores on it stop working)."""
    global _chdb_session, _chdb_path, _chdb_database
    with _chdb_lock:
        if _chdb_session is not None:
            _chdb_session.close()
        _chdb_session = _chdb_path = _chdb_database = None


def _locked_by_another_process(path: str) -> bool:
    """True when another process holds the lock ClickHouse takes on ``<path>/status`` (one server per directory)."""
    import fcntl

    status = os.path.join(path, "status")
    if not os.path.exists(status):
        return False
    try:
        with open(status, "a") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.flock(f, fcntl.LOCK_UN)
    except OSError:
        return False
    return False


class ChDBExecutor(Executor):
    """In-process ClickHouse (chDB). One data path per process; stores on it differ by database."""

    def __init__(self, path: str, database: str = "spanscope"):
        global _chdb_session, _chdb_path
        from chdb import session as chdb_session  # ~0.4 s and ~300 MiB: only when a chdb:// store is opened

        self.database = database
        with _chdb_lock:
            if _chdb_session is None:
                try:
                    _chdb_session = chdb_session.Session(path)
                except Exception as exc:
                    if _locked_by_another_process(path):
                        raise RuntimeError(
                            f"the chDB store in {path} is held by another process (a running `spanscope serve`?): "
                            "chDB allows one process per data path; stop it first, or use its HTTP API"
                        ) from exc
                    raise
                _chdb_path = path
            elif _chdb_path != path:
                raise RuntimeError(
                    f"chDB already holds {_chdb_path!r} in this process and allows one data path per process; "
                    f"use chdb://{_chdb_path}?database=<name> for another store in this process"
                )
            self._run(f"CREATE DATABASE IF NOT EXISTS `{database}`", use=False)
            for name, value in READ_SETTINGS.items():  # session settings: kept for every later query
                self._run(f"SET {name} = {value}", use=False)

    def _run(self, sql: str, params: dict[str, Any] | None = None, *, use: bool = True, fmt: str = "ArrowTable") -> Any:
        global _chdb_database
        with _chdb_lock:
            if use and _chdb_database != self.database:
                _chdb_session.query(f"USE `{self.database}`")
                _chdb_database = self.database
            return _chdb_session.query(sql, fmt, params=params or None)

    def query(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._run(*self._bound(sql, params))

    def command(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._run(*self._bound(sql, params), fmt="CSV")

    @staticmethod
    def _bound(sql: str, params: Sequence[Any]) -> tuple[str, dict[str, Any]]:
        """``sql`` with typed placeholders and the values chDB binds to them (none: the text unchanged)."""
        if not params:
            return sql, {}
        text, values = bind(sql, params)
        return text, {k: chdb_param_value(v) for k, v in values.items()}

    def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        # The rows travel as the INSERT's data block (JSONEachRow), parsed as data, never as SQL.
        body = b"\n".join(_encode(dict(zip(columns, row, strict=True))) for row in rows)
        self._run(f"INSERT INTO `{table}` ({', '.join(columns)}) FORMAT JSONEachRow\n" + body.decode(), fmt="CSV")


class HttpExecutor(Executor):
    """A ClickHouse server or cluster over HTTP (``clickhouse-connect``, imported lazily).

    ``settings`` are ClickHouse settings for every query (from the URL's query string), except
    ``connect_timeout`` and ``send_receive_timeout``, which configure the client.
    """

    def __init__(
        self,
        host: str,
        port: int = 8123,
        username: str = "default",
        password: str = "",
        database: str = "spanscope",
        secure: bool = False,
        **settings: Any,
    ):
        try:
            import clickhouse_connect
        except ImportError:  # pragma: no cover - depends on the install
            raise RuntimeError(
                "clickhouse:// stores need the clickhouse extra: pip install 'spanscope[clickhouse]'"
            ) from None
        self.database = database
        client_args: dict[str, Any] = {
            k: float(settings.pop(k)) for k in ("connect_timeout", "send_receive_timeout") if k in settings
        }
        # Acknowledge an insert only once the server has it (async inserts wait for the flush).
        settings.setdefault("async_insert", 1)
        settings.setdefault("wait_for_async_insert", 1)
        for name, value in READ_SETTINGS.items():
            settings.setdefault(name, value)
        # No session: clickhouse-connect gives each client a random session_id by default, and a session runs one
        # query at a time (the client raises "concurrent queries within the same session"), but the server reads
        # a store from a thread pool. Nothing here needs session state: settings travel with every request.
        common: dict[str, Any] = {"host": host, "port": port, "username": username, "password": password}
        common.update(secure=secure, autogenerate_session_id=False)
        admin = clickhouse_connect.get_client(**common)
        admin.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
        admin.close()
        self._client = clickhouse_connect.get_client(**common, database=database, settings=settings, **client_args)

    def query(self, sql: str, params: Sequence[Any] = ()) -> Any:
        text, values = bind(sql, params)
        return self._client.query_arrow(text, parameters=values)

    def command(self, sql: str, params: Sequence[Any] = ()) -> None:
        if not params:
            self._client.command(sql)
            return
        text, values = bind(sql, params)
        self._client.command(text, parameters=values)

    def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        self._client.insert(table, rows, column_names=list(columns))

    def close(self) -> None:
        self._client.close()


class Cursor:
    """What the engine-neutral read code expects of a cursor: ``execute(sql, params)``, ``fetchone``, ``fetchall``."""

    def __init__(self, executor: Executor):
        self._executor = executor
        self._rows: list[tuple[Any, ...]] = []

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        self._rows = self._executor.rows(sql, params)
        return self

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None

    def close(self) -> None:
        self._rows = []
