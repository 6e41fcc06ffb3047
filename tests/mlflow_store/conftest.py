import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

pytest.importorskip("mlflow", reason="the mlflow extra is not installed (pip install '.[mlflow]')")


@pytest.fixture(scope="session")
def mlflow_db_uri(tmp_path_factory):
    # One SQLite store per session: creating one runs MLflow's migrations (seconds each).
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


@pytest.fixture
def model_name(request):
    """A registered-model name unique to the test, since the store is shared."""
    return "m-" + request.node.name.replace("_", "-").replace("[", "-").replace("]", "")[:60]


@pytest.fixture
def mlflow_settings(make_settings, mlflow_db_uri):
    """Settings whose registry and tracking use a real local MLflow store (SQLite backend)."""
    return make_settings(
        registry={"backend": "mlflow", "mlflow_tracking_uri": mlflow_db_uri},
        mlflow={"enabled": True, "tracking_uri": mlflow_db_uri},
    )


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real `mlflow server` on 127.0.0.1 with a SQLite backend and served artifacts."""
    root = tmp_path_factory.mktemp("mlflow-server")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = open(root / "server.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
         "--artifacts-destination", str(root / "artifacts"), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "MLFLOW_TRACKING_URI": ""},
        start_new_session=True,  # so teardown can stop the server's workers too
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"mlflow server exited; see {root / 'server.log'}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                if resp.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"mlflow server did not answer on {url}; see {root / 'server.log'}")
    yield url
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()
