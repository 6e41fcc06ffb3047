"""Where the per-version job's steps run: in the run's own process, or on Celery workers.

``SLM_EXECUTOR=celery`` (with ``SLM_CELERY_CONFIG`` naming a YAML file such as
``deploy/celery.yaml``) sends every step to the Celery workers that read the same file;
the asset code is unchanged. Read when the code location loads, so the webserver, the
daemon, the run processes and the workers must all see the same variables.
"""

import os
from pathlib import Path

import dagster as dg
import yaml

EXECUTOR_ENV = "SLM_EXECUTOR"
CELERY_CONFIG_ENV = "SLM_CELERY_CONFIG"


def celery_executor_config(path: str | os.PathLike[str]) -> dict:
    """The ``execution.config`` block of a Celery YAML file (the same block ``dagster-celery worker start -y`` reads)."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        config = raw["execution"]["config"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise dg.DagsterInvariantViolationError(
            f"{CELERY_CONFIG_ENV}={path}: cannot read its execution.config block ({exc!r})"
        ) from exc
    if not isinstance(config, dict):
        raise dg.DagsterInvariantViolationError(f"{CELERY_CONFIG_ENV}={path}: execution.config must be a mapping")
    return config


def per_version_executor() -> dg.ExecutorDefinition:
    kind = os.environ.get(EXECUTOR_ENV, "in_process")
    if kind == "in_process":
        # The steps run one after another on one model; a subprocess per step would pay the
        # torch/transformers import (and the model load) again for each of them.
        return dg.in_process_executor
    if kind != "celery":
        raise dg.DagsterInvariantViolationError(f"{EXECUTOR_ENV}={kind!r}: expected 'in_process' or 'celery'")
    path = os.environ.get(CELERY_CONFIG_ENV)
    if not path:
        raise dg.DagsterInvariantViolationError(f"{EXECUTOR_ENV}=celery needs {CELERY_CONFIG_ENV} (e.g. deploy/celery.yaml)")
    try:
        from dagster_celery import celery_executor
    except ImportError as exc:
        raise dg.DagsterInvariantViolationError(
            f"{EXECUTOR_ENV}=celery needs dagster-celery: pip install 'slm_assets[celery]'"
        ) from exc
    return celery_executor.configured(celery_executor_config(path), name="celery")
