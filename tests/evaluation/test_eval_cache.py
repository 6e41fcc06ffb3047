"""Prediction cache: keys, concurrency, and a real killed run that resumes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from slm_assets.core.evaluation.run import evaluate_model
from slm_assets.core.evaluation.cache import CachedPrediction, CacheKey, PredictionCache
from tests.evaluation.helpers import eval_sections, register, write_test_golden
from slm_assets.core import layout

ROOT = Path(__file__).resolve().parents[2]


def test_hit_and_miss_by_every_key_part(tmp_path):
    cache = PredictionCache(tmp_path / "p.sqlite")
    key = CacheKey("digest", "prompt", "settings", "ex-1", "original")
    cache.put_many([(key, CachedPrediction("refund", 2))])
    assert cache.get_many([key]) == {key: CachedPrediction("refund", 2)}
    for field in ("model_digest", "prompt_hash", "settings_hash", "example_id", "variant"):
        other = CacheKey(**{**key.__dict__, field: "other"})
        assert cache.get_many([other]) == {}, field
    # the first answer stays: a key always maps to one answer
    cache.put_many([(key, CachedPrediction("login", 1))])
    assert cache.get_many([key])[key].raw_output == "refund"


def test_two_processes_write_the_same_file(tmp_path):
    path = tmp_path / "p.sqlite"
    code = (
        "import sys; from slm_assets.core.evaluation.cache import *\n"
        "c = PredictionCache(sys.argv[1])\n"
        "for i in range(40):\n"
        "    c.put_many([(CacheKey('d', 'p', 's', f'{sys.argv[2]}-{i}', 'original'), CachedPrediction('x', 1))])\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path), tag], cwd=ROOT) for tag in ("a", "b")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert PredictionCache(path).count() == 80


def _run_evaluation_in_subprocess(settings, version_key: str, stalled: Path) -> subprocess.Popen:
    # After its second committed batch the run signals and stalls: the kill lands mid-run on any machine.
    code = (
        "import sys, time; from pathlib import Path; from slm_assets.config import load_settings\n"
        "from slm_assets.core.evaluation import cache\n"
        "from slm_assets.core.evaluation.run import evaluate_model\n"
        "from slm_assets.core.models.registry import get_registry\n"
        "put, calls = cache.PredictionCache.put_many, []\n"
        "def stalling(self, items):\n"
        "    put(self, items); calls.append(1)\n"
        "    if len(calls) == 2: Path(sys.argv[3]).touch(); time.sleep(600)\n"
        "cache.PredictionCache.put_many = stalling\n"
        "s = load_settings(sys.argv[1])\n"
        "evaluate_model(s, get_registry(s).get(sys.argv[2]), show_progress=False)\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-c", code, str(settings.config_path), version_key, str(stalled)]
    return subprocess.Popen(argv, cwd=ROOT, env=env)


def test_killed_run_resumes_and_matches_an_uninterrupted_run(make_settings, lively_model_dir):
    sections = eval_sections(batch_size=2)
    sections["evaluation"]["robustness"] = {"enabled": False}
    sections["task"]["max_new_tokens"] = 4
    settings = make_settings("a.yaml", **sections)
    write_test_golden(settings, test_rows=16)
    version = register(settings, lively_model_dir)
    cache = PredictionCache(layout.cache_dir(settings) / "predictions.sqlite")

    stalled = settings.data_dir / "stalled"
    proc = _run_evaluation_in_subprocess(settings, version.key, stalled)
    deadline = time.monotonic() + 240
    while not stalled.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    done_before = cache.count()
    assert 0 < done_before < 16
    assert not (layout.evaluations_root(settings) / version.key).exists() or not any((layout.evaluations_root(settings) / version.key).rglob("metrics.json"))

    resumed = evaluate_model(settings, version, show_progress=False)
    assert resumed.metrics["cached_examples"] >= done_before
    assert resumed.metrics["generated_examples"] == 16 - resumed.metrics["cached_examples"] < 16

    # The same evaluation from scratch (a fresh cache) gives the same answers and numbers.
    fresh = make_settings("b.yaml", **{**sections, "data_dir": str(settings.data_dir.parent / "fresh")})
    write_test_golden(fresh, test_rows=16)
    uninterrupted = evaluate_model(fresh, register(fresh, lively_model_dir), show_progress=False)
    assert uninterrupted.metrics["generated_examples"] == 16
    pd.testing.assert_frame_equal(resumed.predictions, uninterrupted.predictions)
    for name in ("accuracy", "macro_f1", "hallucination_rate", "invalid_rate", "per_stratum"):
        assert resumed.metrics[name] == uninterrupted.metrics[name]


def test_clear_forgets_one_model_only(tmp_path):
    cache = PredictionCache(tmp_path / "p.sqlite")
    a, b = (CacheKey(d, "p", "s", "ex", "original") for d in ("model-a", "model-b"))
    cache.put_many([(a, CachedPrediction("x", 1)), (b, CachedPrediction("y", 1))])
    assert cache.clear("model-a") == 1
    assert cache.get_many([a, b]) == {b: CachedPrediction("y", 1)}


def test_refresh_regenerates_every_answer(make_settings, lively_model_dir):
    settings = make_settings(**eval_sections())
    write_test_golden(settings, test_rows=6)
    version = register(settings, lively_model_dir)
    first = evaluate_model(settings, version, show_progress=False).metrics
    assert first["generated_examples"] == first["n_prompts"]
    assert evaluate_model(settings, version, show_progress=False).metrics["generated_examples"] == 0
    refreshed = evaluate_model(settings, version, show_progress=False, refresh_cache=True).metrics
    assert refreshed["generated_examples"] == refreshed["n_prompts"] and refreshed["cached_examples"] == 0
    assert refreshed["accuracy"] == first["accuracy"]  # same frozen model, same answers
