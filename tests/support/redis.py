"""A real, throwaway redis-server for tests: 127.0.0.1 only, a free port, no persistence."""

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.dagster_live import free_port


class RedisUnavailable(RuntimeError):
    pass


@dataclass
class RedisServer:
    port: int
    proc: subprocess.Popen
    root: Path

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


def start_redis() -> RedisServer:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RedisUnavailable("redis-server not found (make test installs it when run as root)")
    root = Path(tempfile.mkdtemp(prefix="slm-redis-"))
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(root), "--logfile", str(root / "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 30
    while time.time() < deadline and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return RedisServer(port=port, proc=proc, root=root)
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RedisUnavailable(f"redis-server did not answer on port {port}; see {root / 'redis.log'}")
