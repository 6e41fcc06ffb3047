"""Two evaluations of different versions at once share the data dir and the prediction cache
without corrupting each other: both equal the same evaluations run one at a time."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from slm_assets.config import load_settings
from slm_assets.testing import build_tiny_model
from tests.support.tiny_project import build_tiny_project
from slm_assets.core import layout

VERSIONS = ("tiny@v1", "tiny@v2")


def _evaluate(config: Path, key: str) -> subprocess.Popen:
    env = {**os.environ, "SLM_CONFIG": str(config), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "slm_assets", "evaluate", key, "--json"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-2000:]
    return json.loads(out)


def _predictions(config: Path, key: str) -> pd.DataFrame:
    settings = load_settings(config)
    frame = pd.read_parquet(layout.evaluations_root(settings) / key / settings.golden.version / "predictions.parquet")
    return frame.sort_values(["example_id", "variant"]).reset_index(drop=True)[
        ["example_id", "variant", "raw_output", "prediction", "correct", "model_digest"]
    ]


def test_concurrent_evaluations_equal_single_runs(tmp_path):
    models = {key: build_tiny_model(tmp_path / "models" / key, seed=i, initializer_range=0.25)
              for i, key in enumerate(VERSIONS)}
    together = build_tiny_project(tmp_path / "together", models)
    alone = build_tiny_project(tmp_path / "alone", models)

    procs = [_evaluate(together, key) for key in VERSIONS]  # at once, one cache, one data dir
    concurrent = {key: _finish(proc) for key, proc in zip(VERSIONS, procs)}
    single = {key: _finish(_evaluate(alone, key)) for key in VERSIONS}  # one after the other

    for key in VERSIONS:
        for metric in ("accuracy", "macro_f1", "hallucination_rate", "robustness_consistency", "n_examples"):
            assert concurrent[key][metric] == single[key][metric], (key, metric)
        pd.testing.assert_frame_equal(_predictions(together, key), _predictions(alone, key))
    # The two versions really answered differently: a mixed-up cache would have shown.
    assert not _predictions(together, VERSIONS[0])["raw_output"].equals(_predictions(together, VERSIONS[1])["raw_output"])
