"""Real servers for the deployment tests: PostgreSQL 15 and Redis, started once per session.

Missing binaries skip the tests locally; in CI (``$CI`` set) they fail them, since
``make test`` installs what it needs."""

import os

import pytest

from tests.support.postgres import PostgresUnavailable, start_postgres
from tests.support.redis import RedisUnavailable, start_redis


def _start(start, unavailable):
    try:
        return start()
    except unavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"required in CI: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def postgres():
    server = _start(start_postgres, PostgresUnavailable)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server():
    server = _start(start_redis, RedisUnavailable)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield
