"""The ClickHouse executors: typed parameter binding, store URLs, and the clickhouse-connect path end to end.

``HttpExecutor`` runs here through the real clickhouse-connect client against ClickHouse's HTTP interface as served
by ``tests/clickhouse_http.py`` (every statement executed by chDB in a child process), or against the server named by
``SPANSCOPE_TEST_CLICKHOUSE_URL``.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import msgspec
import pytest

from spanscope.ingest import IngestBatch
from spanscope.model import Finding, Span, TraceInfo
from spanscope.store import open_store, store_kind
from spanscope.store.clickhouse import executor_from_url
from spanscope.store.clickhouse.executor import ChDBExecutor, Executor, bind
from tests.helpers import make_span, sid, tid
from tests.unit.store.engines import chdb_dir, drop_database, engine_url

pytest.importorskip("chdb")


def test_bind_types_placeholders_and_skips_quoted_text() -> None:
    sql, values = bind("SELECT ?, ?, ?, ?, ? WHERE a = '?' AND b IN ?", ["s", 1, 1.5, True, None, ["x", "y"]])
    assert sql == (
        "SELECT {p0:String}, {p1:Int64}, {p2:Float64}, {p3:Bool}, {p4:Nullable(String)} "
        "WHERE a = '?' AND b IN {p5:Array(String)}"
    )
    assert values == {"p0": "s", "p1": 1, "p2": 1.5, "p3": True, "p4": None, "p5": ["x", "y"]}
    with pytest.raises(ValueError, match="placeholders"):
        bind("SELECT ?", [])
    with pytest.raises(TypeError, match="one type"):
        bind("SELECT ?", [[1, "a"]])


HOSTILE = ["it's", "back\\slash", "tab\there", "new\nline", "{p0:String}", "'; DROP TABLE x; --", "\\N", "ünïcode"]


@pytest.mark.parametrize("value", HOSTILE)
def test_values_come_back_unchanged(value: str) -> None:
    ex = ChDBExecutor(chdb_dir(), database="t_binding")
    assert ex.rows("SELECT ?, ?, length(?)", [value, [value, "b"], value]) == [
        (value, [value, "b"], len(value.encode()))
    ]


# Long lists of strings travel joined by \x1f and split by the server; with a \x1f in a value, as an array.
LONG_LISTS = [
    HOSTILE * 3,
    ["", *HOSTILE, "", "x"] * 2,
    [*HOSTILE, "has\x1fseparator"] * 2,
    [f"{i:032x}" for i in range(500)],
]


def test_long_lists_of_strings_are_joined_unless_a_value_holds_the_separator() -> None:
    sql, values = bind("SELECT ? IN ?", ["a", [f"{i:032x}" for i in range(16)]])
    assert sql == "SELECT {p0:String} IN splitByChar('\\x1F', {p1:String})" and "\x1f" in values["p1"]
    assert bind("SELECT ?", [[*HOSTILE, "has\x1fseparator"] * 2])[0] == "SELECT {p0:Array(String)}"


@pytest.mark.parametrize("values", LONG_LISTS, ids=["hostile", "empties", "separator", "ids"])
def test_long_lists_come_back_unchanged(values: list[str]) -> None:
    ex = ChDBExecutor(chdb_dir(), database="t_binding")
    assert ex.rows("SELECT ?, has(?, ?)", [values, values, values[-1]]) == [(values, True)]


def test_null_and_numbers_bind_as_values() -> None:
    ex = ChDBExecutor(chdb_dir(), database="t_binding")
    assert ex.rows("SELECT ? IS NULL, ? + 1, ? * 2, ?", [None, 2**62, 0.25, False]) == [(True, 2**62 + 1, 0.5, False)]


def test_one_chdb_path_per_process_is_explained(tmp_path: object) -> None:
    ChDBExecutor(chdb_dir(), database="t_binding")
    with pytest.raises(RuntimeError, match="one data path per process"):
        ChDBExecutor(str(tmp_path), database="x")


def test_store_urls() -> None:
    assert store_kind(None) == store_kind("duckdb:///x") == "duckdb"
    assert store_kind("chdb:///x") == store_kind("clickhouse://h:8123/db") == "clickhouse"
    with pytest.raises(ValueError, match="unknown store URL"):
        store_kind("postgres://h/db")
    with pytest.raises(ValueError, match="needs a directory"):
        executor_from_url("chdb://")


def test_duckdb_url_names_the_file_location(tmp_path: object) -> None:
    from pathlib import Path

    base = Path(str(tmp_path))
    s = open_store(str(base / "state"), f"duckdb://{base / 'db'}")
    s.close()
    assert (base / "db" / "spanscope.duckdb").exists() and (base / "state" / "ingest-log").exists()


def test_clickhouse_connect_path_reaches_the_network() -> None:
    # Nothing listens on this port: the real client is built from the URL (user, escaped password, timeout) and
    # fails to connect with its own error. The tests below talk to a server.
    pytest.importorskip("clickhouse_connect")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    from clickhouse_connect.driver.exceptions import OperationalError

    with pytest.raises(OperationalError):
        executor_from_url(f"clickhouse://user:p%40ss@127.0.0.1:{port}/spanscope?connect_timeout=1")


def test_engine_url_gives_each_test_its_database() -> None:
    a, b = engine_url("chdb"), engine_url("chdb")
    assert a != b and a is not None and a.startswith(f"chdb://{chdb_dir()}?database=t_")


# ---------------------------------------------------------------------------- over HTTP (clickhouse-connect)
@pytest.fixture(scope="module")
def http() -> Iterator[Executor]:
    url = str(engine_url("clickhouse"))
    ex = executor_from_url(url)
    yield ex
    ex.close()
    drop_database(url)


@pytest.mark.parametrize("value", HOSTILE)
def test_values_come_back_unchanged_over_http(http: Executor, value: str) -> None:
    # Bound by clickhouse-connect as param_p0=… in the URL: its escaping, not ours.
    assert http.rows("SELECT ?, ?, length(?)", [value, [value, "b"], value]) == [
        (value, [value, "b"], len(value.encode()))
    ]


@pytest.mark.parametrize("values", LONG_LISTS, ids=["hostile", "empties", "separator", "ids"])
def test_long_lists_come_back_unchanged_over_http(http: Executor, values: list[str]) -> None:
    assert http.rows("SELECT ?, has(?, ?)", [values, values, values[-1]]) == [(values, True)]


def test_null_and_numbers_bind_as_values_over_http(http: Executor) -> None:
    assert http.rows("SELECT ? IS NULL, ? + 1, ? * 2, ?", [None, 2**62, 0.25, False]) == [(True, 2**62 + 1, 0.5, False)]


def test_sql_errors_are_the_clients_exceptions_with_clickhouses_message(http: Executor) -> None:
    from clickhouse_connect.driver.exceptions import DatabaseError

    with pytest.raises(DatabaseError, match=r"Code: 60\. DB::Exception: .*'no_such_table'.*\(UNKNOWN_TABLE\)") as e:
        http.rows("SELECT * FROM no_such_table WHERE x = ?", [1])
    assert e.value.code == 60
    with pytest.raises(DatabaseError, match=r"\(SYNTAX_ERROR\)") as e:
        http.command("CREATE TABLE (")
    assert e.value.code == 62
    url = f"{engine_url('clickhouse')}?no_such_setting=1"  # a store URL's settings are the server's to check
    ex = executor_from_url(url)
    try:
        with pytest.raises(DatabaseError, match=r"Unknown setting 'no_such_setting'.*\(UNKNOWN_SETTING\)"):
            ex.rows("SELECT 1")
    finally:
        ex.close()
        drop_database(url)


def test_one_executor_serves_concurrent_threads(http: Executor) -> None:
    # The server reads a store from a thread pool: no per-client session may serialize (or refuse) its queries.
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(5):
                assert http.rows("SELECT ? * 2", [n * 10 + i]) == [((n * 10 + i) * 2,)]
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_a_store_over_http_answers_like_chdb(tmp_path: Path) -> None:
    urls = {"chdb": engine_url("chdb"), "clickhouse": engine_url("clickhouse")}
    batch = IngestBatch(
        spans=[
            msgspec.convert(s, Span)
            for s in (
                make_span(tid(1), sid(1), "turn", dur_ms=100, status="OK", inputs={"q": "it's ünï"}, outputs={"a": 1}),
                make_span(
                    tid(1),
                    sid(2),
                    "llm",
                    parent=sid(1),
                    start_ms=10,
                    dur_ms=50,
                    kind="llm",
                    attributes={"usage.total_tokens": 42, "gen_ai.request.model": "gpt-4o"},
                    events=[{"name": "exception", "time_ns": 5, "attributes": {"exception.type": "E"}}],
                ),
                make_span(tid(2), sid(3), "other", start_ms=2000, dur_ms=7, status="ERROR"),
            )
        ],
        traces=[TraceInfo(trace_id=tid(1), tags={"user": "u1", "score": 0.5}, session_id="s1")],
        findings=[Finding(trace_id=tid(1), name="safe", value=0.9, span_id=sid(2), time_ns=1, finding_id="f1")],
    )
    answers: dict[str, Any] = {}
    for engine, url in urls.items():
        store = open_store(str(tmp_path / engine), url)
        try:
            store.write("p", batch)
            answers[engine] = msgspec.to_builtins(
                [
                    store.get_trace("p", tid(1)),
                    store.search_traces("p", "span.attributes.usage.total_tokens > 40"),
                    store.search_traces("p", None, order_by="duration_ms DESC", extract_fields=["tags.user"]),
                ]
            )
        finally:
            store.close()
            drop_database(url)
    assert answers["clickhouse"] == answers["chdb"]
    assert [t["trace_id"] for t in answers["clickhouse"][1]["traces"]] == [tid(1)]
    assert answers["clickhouse"][0]["tags"] == {"user": "u1", "score": 0.5}


def test_the_test_endpoint_reads_every_frame_of_a_streamed_body() -> None:
    # clickhouse-connect streams an insert's blocks, each compressed as a frame of its own
    lz4_frame = pytest.importorskip("lz4.frame")
    from tests.clickhouse_http import decode_body

    blocks = [b"first block " * 50, b"second " * 3000, b"third"]
    assert decode_body(b"".join(lz4_frame.compress(b) for b in blocks), "lz4") == b"".join(blocks)


def test_inserted_data_reaches_the_table_byte_for_byte_over_http(http: Executor) -> None:
    # clickhouse-connect sends the INSERT and its Native block in one body; two newline bytes in a row inside the
    # block ("\n\n", or a one-byte "\n" then a length-10 string) once made the endpoint's chDB read the block short
    values = ["\n\n", "\n", "0123456789", "a\n\nb", "", "x" * 10, "\r\n\r\n", "FORMAT Native\n"]
    http.command("CREATE TABLE IF NOT EXISTS bytes_kept (i UInt32, s String) ENGINE = Memory")
    http.insert("bytes_kept", ("i", "s"), list(enumerate(values)))
    assert http.rows("SELECT s FROM bytes_kept ORDER BY i") == [(v,) for v in values]


def test_the_test_endpoint_splits_an_insert_from_its_data_as_a_server_does() -> None:
    import urllib.error
    import urllib.request

    url = str(engine_url("clickhouse"))
    if os.environ.get("SPANSCOPE_TEST_CLICKHOUSE_URL"):
        pytest.skip("checks the chDB-backed endpoint itself")
    base = "http://" + urlsplit(url).netloc.split("@")[-1]

    def post(body: bytes, query: str = "") -> bytes:
        request = urllib.request.Request(f"{base}/?database=default&query={quote(query)}", data=body, method="POST")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy
        with opener.open(request, timeout=30) as reply:
            return bytes(reply.read())

    table = f"split_{uuid.uuid4().hex[:8]}"
    post(f"CREATE TABLE {table} (s String) ENGINE = Memory".encode())
    try:
        row = b"\x02\n\n"  # RowBinary: a 2-byte string of two newlines
        post(f"INSERT INTO {table} FORMAT RowBinary\n".encode() + row)  # statement and data in the body
        post(row, f"INSERT INTO {table} FORMAT RowBinary")  # statement in the URL, data in the body
        post(f"INSERT INTO {table} FORMAT RowBinary \r\n".encode() + b"\x01\n")  # spaces, one newline skipped
        post(f"INSERT INTO {table} VALUES ('FORMAT TSV x')".encode())  # the text is a value, not a clause
        assert post(f"SELECT hex(s) FROM {table} ORDER BY s FORMAT TSV".encode()).split() == [
            b"0A",
            b"0A0A",
            b"0A0A",
            b"464F524D4154205453562078",
        ]
        # data that ends short fails as ClickHouse reports it, and the session takes the next statement
        with pytest.raises(urllib.error.HTTPError) as failed:
            post(b"\x05ab", f"INSERT INTO {table} FORMAT RowBinary")
        assert failed.value.headers["X-ClickHouse-Exception-Code"] == "33"  # CANNOT_READ_ALL_DATA
        assert b"CANNOT_READ_ALL_DATA" in failed.value.read()
        assert post(f"SELECT count() FROM {table} FORMAT TSV".encode()) == b"4\n"
    finally:
        post(f"DROP TABLE {table}".encode())
