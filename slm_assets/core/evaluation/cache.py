"""Prediction cache: SQLite (WAL) at ``<cache_dir>/predictions.sqlite``, or a shared PostgreSQL table.

Keyed by (model digest, prompt hash, generation-settings hash, example id,
variant), so a changed model, prompt or decoding setting never reuses a stale
answer. Rows are committed per generated batch: a run killed midway resumes
from the last committed batch. Errored generations are not cached, so a rerun
retries them. A key keeps its first answer: concurrent writers of one key never
duplicate or overwrite it (``INSERT OR IGNORE`` / ``ON CONFLICT DO NOTHING``).

Where it lives (:func:`open_cache`): ``$SLM_CACHE_URL``, else ``evaluation.cache_url``,
else SQLite. SQLite in WAL mode is safe for processes of one machine only (its lock
needs shared memory), so workers on several machines share a PostgreSQL URL; the
Dagster layer fills it in from the instance storage when that is PostgreSQL.
"""

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from slm_assets.core import layout

CACHE_URL_ENV = "SLM_CACHE_URL"

_COLUMNS = "model_digest, prompt_hash, settings_hash, example_id, variant, raw_output, output_tokens"

_SQLITE_SCHEMA = """
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

# Its own table name: the cache may share a database with Dagster's instance storage.
# raw_output is BYTEA (UTF-8): a model may answer a NUL character, which a PostgreSQL TEXT refuses.
PG_TABLE = "slm_prediction_cache"
_PG_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {PG_TABLE} (
    model_digest TEXT NOT NULL,
    prompt_hash TEXT NOT NULL,
    settings_hash TEXT NOT NULL,
    example_id TEXT NOT NULL,
    variant TEXT NOT NULL,
    raw_output BYTEA NOT NULL,
    output_tokens INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (model_digest, prompt_hash, settings_hash, example_id, variant)
)
"""
# Two workers creating the table at once race inside PostgreSQL's catalog; a lock orders them.
_PG_SCHEMA_LOCK = 0x534C4D43  # "SLMC"

# One connection per (process, thread, target): connections must not cross a fork or a thread.
_connections: dict[tuple[int, int, str], object] = {}


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


class _Cache:
    """The lookups both backends share; a backend supplies the SQL and a connection."""

    _placeholder = "?"
    _table = "predictions"

    def _connect(self):
        raise NotImplementedError

    def _target(self) -> str:
        raise NotImplementedError

    def _insert(self, conn, rows: list[tuple]) -> None:
        raise NotImplementedError

    @staticmethod
    def _encode(raw_output: str):
        return raw_output

    @staticmethod
    def _decode(stored) -> str:
        return stored

    @property
    def _conn(self):
        key = (os.getpid(), threading.get_ident(), self._target())
        conn = _connections.get(key)
        if conn is None:
            conn = _connections[key] = self._connect()
        return conn

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        cursor = self._conn.cursor()
        try:
            cursor.execute(sql.replace("?", self._placeholder), params)
            return cursor.fetchall() if cursor.description else [(cursor.rowcount,)]
        finally:
            cursor.close()

    def _rows(self, digest: str, s_hash: str) -> Iterator[tuple]:
        yield from self._query(
            f"SELECT prompt_hash, example_id, variant, raw_output, output_tokens FROM {self._table} "
            "WHERE model_digest = ? AND settings_hash = ?",
            (digest, s_hash),
        )

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, CachedPrediction]:
        keys = list(keys)
        found: dict[CacheKey, CachedPrediction] = {}
        wanted = set(keys)
        # One query per (model, settings) pair, filtered in Python: fast for 10^5 keys.
        for digest, s_hash in {(k.model_digest, k.settings_hash) for k in keys}:
            for p_hash, example_id, variant, raw, tokens in self._rows(digest, s_hash):
                key = CacheKey(digest, p_hash, s_hash, example_id, variant)
                if key in wanted:
                    found[key] = CachedPrediction(self._decode(raw), tokens)
        return found

    def put_many(self, items: Iterable[tuple[CacheKey, CachedPrediction]]) -> int:
        """Insert in one transaction (committed on return); existing keys are kept."""
        rows = [
            (k.model_digest, k.prompt_hash, k.settings_hash, k.example_id, k.variant, self._encode(v.raw_output),
             v.output_tokens)
            for k, v in items
        ]
        if rows:
            self._insert(self._conn, rows)
        return len(rows)

    def clear(self, model_digest: str) -> int:
        """Forget every answer of one model (benchmarks measure cold runs this way)."""
        return self._query(f"DELETE FROM {self._table} WHERE model_digest = ?", (model_digest,))[0][0]

    def count(self, model_digest: str | None = None) -> int:
        if model_digest is None:
            return self._query(f"SELECT COUNT(*) FROM {self._table}")[0][0]
        return self._query(f"SELECT COUNT(*) FROM {self._table} WHERE model_digest = ?", (model_digest,))[0][0]


class PredictionCache(_Cache):
    """SQLite in WAL mode: several processes of one machine read and write at once."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def _target(self) -> str:
        return str(self.path)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=60000")
        conn.execute(_SQLITE_SCHEMA)
        return conn

    def _insert(self, conn: sqlite3.Connection, rows: list[tuple]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(f"INSERT OR IGNORE INTO predictions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


class PostgresPredictionCache(_Cache):
    """One PostgreSQL table shared by workers on any number of machines."""

    _placeholder = "%s"
    _table = PG_TABLE

    def __init__(self, url: str):
        if not url.startswith(("postgresql://", "postgres://")):
            raise ValueError(f"prediction cache URL must start with postgresql:// (got {redact(url)!r})")
        self.url = url

    def _target(self) -> str:
        return self.url

    @staticmethod
    def _encode(raw_output: str) -> bytes:
        return raw_output.encode("utf-8", "surrogatepass")

    @staticmethod
    def _decode(stored) -> str:
        return bytes(stored).decode("utf-8", "surrogatepass")

    def _connect(self):
        import psycopg2  # ships with dagster-postgres; imported only when a URL is configured

        try:
            conn = psycopg2.connect(self.url, connect_timeout=30)
        except psycopg2.OperationalError as exc:
            raise ConnectionError(f"prediction cache {redact(self.url)}: {exc}".strip()) from exc
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", (_PG_SCHEMA_LOCK,))
            try:
                cursor.execute(_PG_SCHEMA)
            finally:
                cursor.execute("SELECT pg_advisory_unlock(%s)", (_PG_SCHEMA_LOCK,))
        return conn

    def _insert(self, conn, rows: list[tuple]) -> None:
        from psycopg2.extras import execute_values

        with conn.cursor() as cursor:
            # One autocommitted statement for the whole batch (page_size): it lands entirely or not at all.
            execute_values(
                cursor, f"INSERT INTO {PG_TABLE} ({_COLUMNS}) VALUES %s ON CONFLICT DO NOTHING",
                rows, page_size=len(rows),
            )


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if not at or ":" not in creds:
        return url
    return f"{scheme}{sep}{creds.split(':', 1)[0]}:***@{host}"


def cache_url(settings) -> str | None:
    return os.environ.get(CACHE_URL_ENV) or settings.evaluation.cache_url or None


def open_cache(settings) -> PredictionCache | PostgresPredictionCache:
    url = cache_url(settings)
    if url:
        return PostgresPredictionCache(url)
    return PredictionCache(layout.prediction_cache_file(settings))
