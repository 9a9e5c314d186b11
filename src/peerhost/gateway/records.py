"""Request records and function logs, in SQLite: `GET /_peerhost/requests/<id>` survives restarts."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id TEXT PRIMARY KEY,
    function TEXT NOT NULL,
    input_cid TEXT,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    result_hash TEXT,
    worker TEXT,
    http_status INTEGER,
    error TEXT,
    detail TEXT
);
CREATE TABLE IF NOT EXISTS settlements (
    request_id TEXT PRIMARY KEY,
    function TEXT NOT NULL,
    payer TEXT NOT NULL,
    amount INTEGER NOT NULL,
    pay_to TEXT NOT NULL,
    tx TEXT NOT NULL,
    network TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS secrets (
    function_id TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    signature TEXT NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS logs (
    id TEXT NOT NULL,
    worker TEXT NOT NULL,
    logs TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (id, worker)
);
"""


class Records:
    def __init__(self, path: Path, log_ttl: float = 7 * 86400) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.log_ttl = log_ttl
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def upsert(self, request_id: str, **fields: Any) -> None:
        now = time.time()
        with self._lock:
            row = self._db.execute("SELECT id FROM requests WHERE id = ?", (request_id,)).fetchone()
            if row is None:
                fields.setdefault("function", "")
                fields.setdefault("status", "pending")
                columns = ["id", "created", "updated", *fields]
                self._db.execute(f"INSERT INTO requests ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                                 (request_id, now, now, *fields.values()))  # fmt: skip
            elif fields:
                sets = ", ".join(f"{k} = ?" for k in fields)
                self._db.execute(f"UPDATE requests SET {sets}, updated = ? WHERE id = ?", (*fields.values(), now, request_id))

    def get(self, request_id: str) -> dict[str, Any] | None:
        with self._lock:
            cur = self._db.execute("SELECT * FROM requests WHERE id = ?", (request_id,))
            row = cur.fetchone()
            if row is None:
                return None
            record = dict(zip([c[0] for c in cur.description], row, strict=True))
        if record.get("detail"):
            record["detail"] = json.loads(record["detail"])
        return record

    def add_logs(self, request_id: str, worker: str, logs: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO logs (id, worker, logs, created) VALUES (?, ?, ?, ?)",
                             (request_id, worker, logs, time.time()))  # fmt: skip

    def logs(self, request_id: str) -> list[dict[str, Any]]:
        with self._lock:
            self._db.execute("DELETE FROM logs WHERE created < ?", (time.time() - self.log_ttl,))
            rows = self._db.execute("SELECT worker, logs, created FROM logs WHERE id = ? ORDER BY created",
                                    (request_id,)).fetchall()  # fmt: skip
        return [{"worker": w, "logs": text, "created": created} for w, text, created in rows]

    def add_settlement(self, request_id: str, function: str, payer: str, amount: int, pay_to: str, tx: str,
                       network: str) -> None:  # fmt: skip
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO settlements VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             (request_id, function, payer, amount, pay_to, tx, network, time.time()))  # fmt: skip

    def settlements(self, tx: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            cur = self._db.execute("SELECT * FROM settlements" + (" WHERE lower(tx) = lower(?)" if tx else ""),
                                   (tx,) if tx else ())  # fmt: skip
            names = [c[0] for c in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def put_secrets(self, function_id: str, document: dict[str, Any], signature: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO secrets VALUES (?, ?, ?, ?)",
                             (function_id.lower(), json.dumps(document), signature, time.time()))  # fmt: skip

    def get_secrets(self, function_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT document, signature FROM secrets WHERE function_id = ?",
                                   (function_id.lower(),)).fetchone()  # fmt: skip
        return None if row is None else {"document": json.loads(row[0]), "signature": row[1]}

    def close(self) -> None:
        with self._lock:
            self._db.close()
