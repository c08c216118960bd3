"""API keys: one project per key; only a hash is stored.

Keys live in ``<data-dir>/keys.json``, outside the database, because the server process holds the DuckDB
file open and ``spanscope keys create`` must work while it runs. Writers take an exclusive ``fcntl`` lock
and replace the file atomically; the server re-reads it when its modification time changes, so a key
created or revoked while the server runs takes effect on the next request.

A key looks like ``ssk_<id>_<secret>``: the id (8 hex) finds the record, the secret (43 url-safe chars,
256 bits) is checked against its SHA-256 with a constant-time comparison. A slow hash is unnecessary
for random secrets of this size.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

KEYS_FILENAME = "keys.json"
_PREFIX = "ssk_"


@dataclass(slots=True)
class KeyRecord:
    id: str
    project: str
    name: str | None
    hash: str
    created_at: float
    revoked_at: float | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class UnknownKey(LookupError):
    """Unknown key id given to ``revoke``."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_key(key: str) -> tuple[str, str] | None:
    """``(id, secret)`` of a well-formed key, else None."""
    if not key.startswith(_PREFIX):
        return None
    rest = key[len(_PREFIX) :]
    key_id, sep, secret = rest.partition("_")
    if not sep or len(key_id) != 8 or not secret:
        return None
    return key_id, secret


class KeyStore:
    def __init__(self, data_dir: str | os.PathLike[str]):
        self.dir = Path(data_dir)
        self.path = self.dir / KEYS_FILENAME
        self._cache: dict[str, KeyRecord] = {}
        self._mtime: float | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ file access
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / (KEYS_FILENAME + ".lock"), "a+") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def _read(self) -> dict[str, KeyRecord]:
        try:
            raw = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return {r["id"]: KeyRecord(**r) for r in raw.get("keys", [])}

    def _write(self, records: dict[str, KeyRecord]) -> None:
        tmp = self.path.with_suffix(".tmp")
        data = json.dumps({"keys": [asdict(r) for r in records.values()]}, indent=2)
        with open(tmp, "w") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    # ------------------------------------------------------------------ management (CLI)
    def create(self, project: str, name: str | None = None) -> tuple[KeyRecord, str]:
        """A new key for ``project``; returns the record and the key (shown once, never stored)."""
        with self._locked():
            records = self._read()
            key_id = secrets.token_hex(4)
            while key_id in records:
                key_id = secrets.token_hex(4)
            secret = secrets.token_urlsafe(32)
            rec = KeyRecord(id=key_id, project=project, name=name, hash=_hash(secret), created_at=time.time())
            records[key_id] = rec
            self._write(records)
        return rec, f"{_PREFIX}{key_id}_{secret}"

    def list(self) -> list[KeyRecord]:
        return sorted(self._read().values(), key=lambda r: r.created_at)

    def revoke(self, key_id: str) -> KeyRecord:
        """Revoke by id (or by the whole key)."""
        parsed = parse_key(key_id)
        if parsed:
            key_id = parsed[0]
        with self._locked():
            records = self._read()
            rec = records.get(key_id)
            if rec is None:
                raise UnknownKey(f"no key with id {key_id!r}")
            if rec.revoked_at is None:
                rec.revoked_at = time.time()
                self._write(records)
        return rec

    # ------------------------------------------------------------------ verification (server)
    def _current(self) -> dict[str, KeyRecord]:
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            mtime = None
        if mtime != self._mtime:
            with self._lock:
                self._cache = self._read() if mtime is not None else {}
                self._mtime = mtime
        return self._cache

    def verify(self, key: str) -> KeyRecord | None:
        """The record of a valid key (revoked ones included: check ``.revoked``), else None."""
        parsed = parse_key(key)
        if parsed is None:
            return None
        rec = self._current().get(parsed[0])
        if rec is None or not hmac.compare_digest(rec.hash, _hash(parsed[1])):
            return None
        return rec
