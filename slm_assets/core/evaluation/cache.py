"""Prediction cache: SQLite (WAL) at ``<cache_dir>/predictions.sqlite``.

Keyed by (model digest, prompt hash, generation-settings hash, example id,
variant), so a changed model, prompt or decoding setting never reuses a stale
answer. Rows are committed per generated batch: a run killed midway resumes
from the last committed batch. WAL mode plus a busy timeout lets two runs (two
processes) read and write at once. Errored generations are not cached, so a
rerun retries them.
"""

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from slm_assets.core import layout

_SCHEMA = """
CREATE TABLE IF NOT EXISTS predictions (
    model_digest TEXT NOT NULL,
    prompt_hash TEXT NOT NULL,
    settings_hash TEXT NOT NULL,
    example_id TEXT NOT NULL,
    variant TEXT NOT NULL,
    raw_output TEXT NOT NULL,
    output_tokens INTEGER NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (model_digest, prompt_hash, settings_hash, example_id, variant)
)
"""

# One connection per (process, thread, file): sqlite3 connections must not cross a fork.
_connections: dict[tuple[int, int, str], sqlite3.Connection] = {}


def prompt_hash(prompt: str) -> str:
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


def settings_hash(**generation_settings) -> str:
    """Digest of everything besides the prompt that changes the output (max tokens, stops...)."""
    payload = json.dumps(generation_settings, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class CacheKey:
    model_digest: str
    prompt_hash: str
    settings_hash: str
    example_id: str
    variant: str


@dataclass(frozen=True)
class CachedPrediction:
    raw_output: str
    output_tokens: int


class PredictionCache:
    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    @property
    def _conn(self) -> sqlite3.Connection:
        key = (os.getpid(), threading.get_ident(), str(self.path))
        conn = _connections.get(key)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=60000")
            conn.execute(_SCHEMA)
            _connections[key] = conn
        return conn

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, CachedPrediction]:
        keys = list(keys)
        found: dict[CacheKey, CachedPrediction] = {}
        wanted = set(keys)
        # One query per (model, settings) pair, filtered in Python: fast for 10^5 keys.
        for digest, s_hash in {(k.model_digest, k.settings_hash) for k in keys}:
            rows = self._conn.execute(
                "SELECT prompt_hash, example_id, variant, raw_output, output_tokens FROM predictions "
                "WHERE model_digest = ? AND settings_hash = ?",
                (digest, s_hash),
            )
            for p_hash, example_id, variant, raw, tokens in rows:
                key = CacheKey(digest, p_hash, s_hash, example_id, variant)
                if key in wanted:
                    found[key] = CachedPrediction(raw, tokens)
        return found

    def put_many(self, items: Iterable[tuple[CacheKey, CachedPrediction]]) -> int:
        """Insert in one transaction (committed on return); existing keys are kept."""
        rows = [
            (k.model_digest, k.prompt_hash, k.settings_hash, k.example_id, k.variant, v.raw_output, v.output_tokens)
            for k, v in items
        ]
        if not rows:
            return 0
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(
                "INSERT OR IGNORE INTO predictions "
                "(model_digest, prompt_hash, settings_hash, example_id, variant, raw_output, output_tokens) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return len(rows)

    def clear(self, model_digest: str) -> int:
        """Forget every answer of one model (benchmarks measure cold runs this way)."""
        return self._conn.execute("DELETE FROM predictions WHERE model_digest = ?", (model_digest,)).rowcount

    def count(self, model_digest: str | None = None) -> int:
        if model_digest is None:
            return self._conn.execute("SELECT COUNT(*) FROM predictions").fetchone()[0]
        return self._conn.execute(
            "SELECT COUNT(*) FROM predictions WHERE model_digest = ?", (model_digest,)
        ).fetchone()[0]


def open_cache(settings) -> PredictionCache:
    return PredictionCache(layout.prediction_cache_file(settings))
