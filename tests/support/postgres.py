"""A real, throwaway PostgreSQL 15 server for tests: temp data dir, free port, 127.0.0.1 only.

The server refuses to run as root, so when the tests run as root (CI) it is started
as the ``postgres`` system user with ``runuser``.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path(os.environ.get("SLM_PG_BIN", "/usr/lib/postgresql/15/bin"))


class PostgresUnavailable(RuntimeError):
    pass


@dataclass
class PostgresServer:
    data_dir: Path
    port: int
    user: str
    password: str = "slm-test-password"
    host: str = "127.0.0.1"

    def env(self, db_name: str) -> dict[str, str]:
        """The variables deploy/dagster.postgres.yaml reads (credentials only from the environment)."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USERNAME": self.user,
            "DAGSTER_PG_PASSWORD": self.password,
            "DAGSTER_PG_DB": db_name,
        }

    def url(self, db_name: str) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{db_name}"

    def create_database(self, name: str) -> None:
        self._run([str(PG_BIN / "createdb"), "-h", self.host, "-p", str(self.port), "-U", self.user, name])

    def _run(self, cmd: list[str]) -> None:
        env = {**os.environ, "PGPASSWORD": self.password}
        subprocess.run(_as_owner(cmd), check=True, capture_output=True, env=env, timeout=60)

    def stop(self) -> None:
        subprocess.run(
            _as_owner([str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if _running_as_root() else cmd


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_postgres() -> PostgresServer:
    if not (PG_BIN / "initdb").exists():
        raise PostgresUnavailable(f"PostgreSQL binaries not found in {PG_BIN} (set SLM_PG_BIN)")
    if _running_as_root() and shutil.which("runuser") is None:
        raise PostgresUnavailable("running as root without runuser: cannot start PostgreSQL")
    root = Path(tempfile.mkdtemp(prefix="slm-pg-"))
    data_dir = root / "data"
    user = "postgres" if _running_as_root() else os.environ.get("USER", "postgres")
    server = PostgresServer(data_dir=data_dir, port=_free_port(), user=user)
    pwfile = root / "pw"
    pwfile.write_text(server.password)
    if _running_as_root():
        shutil.chown(root, "postgres")
        shutil.chown(pwfile, "postgres")
    subprocess.run(
        _as_owner([str(PG_BIN / "initdb"), "-D", str(data_dir), "-U", user, "--auth=scram-sha-256",
                   f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync"]),
        check=True, capture_output=True, timeout=120,
    )
    log = root / "server.log"
    subprocess.run(
        _as_owner([str(PG_BIN / "pg_ctl"), "-D", str(data_dir), "-l", str(log), "-w", "-t", "60", "start",
                   "-o", f"-c listen_addresses=127.0.0.1 -c port={server.port} -c unix_socket_directories={root} -c fsync=off"]),
        check=True, capture_output=True, timeout=90,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise PostgresUnavailable(f"PostgreSQL did not accept connections on port {server.port}; see {log}")
