"""The ingest log: what makes an acknowledged write durable before the database has it.

Ingest requests append their validated batch here; one thread writes everything pending and calls
``fsync`` once for all of it (group commit), then the requests are acknowledged. The database is written
later, in large batches, by :class:`spanscope.store.durable.DurableStore`. At start-up, records the
database may not have are replayed (writes are idempotent: spans and findings are keyed, trace facts merge).

Files: ``<data-dir>/ingest-log/<first-seq:016d>.log``; a segment is closed at ``segment_bytes`` and deleted
once every record in it is in the database. Record: ``u32 length | u32 crc32 | u64 seq | payload``; a
torn or corrupt tail (a crash mid-append) ends replay of that segment: those records were never acked.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import zlib
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

log = logging.getLogger("spanscope.store")

_HEADER = struct.Struct("<IIQ")
DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024


class IngestLog:
    def __init__(self, directory: str | os.PathLike[str], *, segment_bytes: int = DEFAULT_SEGMENT_BYTES):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.segment_bytes = segment_bytes
        self._cond = threading.Condition()
        self._pending: list[tuple[int, bytes, Future[int]]] = []
        self._closed = False
        existing = self.segments()
        self._next_seq = self._last_seq(existing) + 1
        # segments: (first_seq, path); the last one is open for appends
        self._segments: list[tuple[int, Path]] = [(int(p.stem), p) for p in existing]
        self._file = None
        self._file_bytes = 0
        self._open_segment(self._next_seq)
        self._thread = threading.Thread(target=self._run, name="spanscope-ingest-log", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ files
    def segments(self) -> list[Path]:
        return sorted(self.dir.glob("*.log"))

    @staticmethod
    def read_segment(path: Path) -> Iterator[tuple[int, bytes]]:
        """``(seq, payload)`` of every intact record of a segment, in order."""
        with open(path, "rb") as f:
            data = f.read()
        pos = 0
        while pos + _HEADER.size <= len(data):
            length, crc, seq = _HEADER.unpack_from(data, pos)
            start = pos + _HEADER.size
            payload = data[start : start + length]
            if len(payload) < length or zlib.crc32(payload) != crc:
                log.warning("ingest log %s: torn record at byte %d ignored (never acknowledged)", path.name, pos)
                return
            yield seq, payload
            pos = start + length

    def _last_seq(self, paths: list[Path]) -> int:
        last = 0
        for p in paths:
            for seq, _ in self.read_segment(p):
                last = max(last, seq)
        return last

    def _open_segment(self, first_seq: int) -> None:
        if self._file is not None:
            self._file.close()
        path = self.dir / f"{first_seq:016d}.log"
        self._file = open(path, "ab")  # noqa: SIM115 - kept open across appends
        self._file_bytes = self._file.tell()
        self._segments.append((first_seq, path))
        _fsync_dir(self.dir)

    # ------------------------------------------------------------------ appends
    def append(self, payload: bytes) -> Future[int]:
        """Queue a record; the future resolves to its sequence number once it is on disk (fsynced)."""
        fut: Future[int] = Future()
        with self._cond:
            if self._closed:
                raise RuntimeError("ingest log is closed")
            seq = self._next_seq
            self._next_seq += 1
            self._pending.append((seq, payload, fut))
            self._cond.notify()
        return fut

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                batch, self._pending = self._pending, []
                if not batch and self._closed:
                    return
            try:
                self._write(batch)
            except BaseException as exc:  # noqa: BLE001 - the waiting requests get the error (HTTP 5xx)
                log.exception("ingest log write failed")
                for _, _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for seq, _, fut in batch:
                fut.set_result(seq)

    def _write(self, batch: list[tuple[int, bytes, Future[int]]]) -> None:
        assert self._file is not None
        if self._file_bytes >= self.segment_bytes:
            self._open_segment(batch[0][0])
        chunks = []
        for seq, payload, _ in batch:
            chunks.append(_HEADER.pack(len(payload), zlib.crc32(payload), seq))
            chunks.append(payload)
        data = b"".join(chunks)
        self._file.write(data)
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file_bytes += len(data)

    # ------------------------------------------------------------------ truncation
    def release(self, applied_seq: int) -> None:
        """Delete closed segments whose records all have seq <= ``applied_seq`` (they are in the database)."""
        with self._cond:
            segs = self._segments
            doomed = []
            # a segment's records are < the next segment's first seq; the open (last) one is never deleted
            for i in range(len(segs) - 1):
                if segs[i + 1][0] - 1 <= applied_seq:
                    doomed.append(segs[i])
            for seg in doomed:
                segs.remove(seg)
        for _, path in doomed:
            try:
                path.unlink()
            except FileNotFoundError:
                pass

    def close(self, applied_seq: int | None = None) -> None:
        """Stop appending. With ``applied_seq`` covering every record, the log is emptied entirely."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(10)
        if self._file is not None:
            self._file.close()
            self._file = None
        if applied_seq is not None and applied_seq >= self.last_seq:
            for _, path in self._segments:
                path.unlink(missing_ok=True)
            self._segments.clear()

    @property
    def last_seq(self) -> int:
        return self._next_seq - 1


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
