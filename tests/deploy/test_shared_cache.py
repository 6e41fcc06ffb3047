"""The prediction cache on a real PostgreSQL server, shared by processes standing in for workers
on several machines: overlapping writes never duplicate or mix entries, evaluations that share it
equal an evaluation on the default SQLite cache, and a PostgreSQL instance brings its own cache."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from slm_assets.config import load_settings
from slm_assets.core import layout
from slm_assets.core.evaluation.cache import (
    PG_TABLE,
    CachedPrediction,
    CacheKey,
    PostgresPredictionCache,
    PredictionCache,
    open_cache,
    redact,
)
from slm_assets.core.evaluation.run import evaluate_model
from slm_assets.core.models.registry import get_registry
from slm_assets.defs.resources import SlmSettings
from slm_assets.testing import build_tiny_model
from tests.support.dagster_live import ROOT
from tests.support.tiny_project import build_tiny_project

# Writer A owns keys 0-199, writer B 100-299: 100 keys both write, with answers that say whose they are.
WRITER = """
import sys, time
from pathlib import Path
from slm_assets.core.evaluation.cache import PostgresPredictionCache, CacheKey, CachedPrediction
url, tag, start, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
cache = PostgresPredictionCache(url)
cache.count()  # connected and the table exists before the start line
while not go.exists():
    time.sleep(0.01)
tokens = {"a": 1, "b": 2}[tag]
for first in range(start, start + 200, 10):
    batch = [(CacheKey("model", "prompt", "settings", f"ex-{i}", "original"), CachedPrediction(tag, tokens))
             for i in range(first, first + 10)]
    cache.put_many(batch)
    assert set(cache.get_many(k for k, _ in batch)) == {k for k, _ in batch}
"""


def test_overlapping_concurrent_writers_never_duplicate_or_mix(postgres, tmp_path):
    postgres.create_database("cache_writers")
    url = postgres.url("cache_writers")
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, url, tag, str(start), str(go)], cwd=ROOT)
             for tag, start in (("a", 0), ("b", 100))]
    go.touch()
    assert [p.wait(timeout=300) for p in procs] == [0, 0]

    cache = PostgresPredictionCache(url)
    assert cache.count() == cache.count("model") == 300
    keys = [CacheKey("model", "prompt", "settings", f"ex-{i}", "original") for i in range(300)]
    found = cache.get_many(keys)
    assert len(found) == 300
    # Each row is one writer's whole answer (text and token count agree), the first to land kept.
    assert all((p.raw_output, p.output_tokens) in {("a", 1), ("b", 2)} for p in found.values())
    assert {found[k].raw_output for k in keys[:100]} == {"a"} and {found[k].raw_output for k in keys[200:]} == {"b"}
    rows = cache._query(f"SELECT COUNT(*), COUNT(DISTINCT (example_id, variant)) FROM {PG_TABLE}")
    assert rows == [(300, 300)]


def test_clear_and_count_per_model(postgres):
    postgres.create_database("cache_clear")
    cache = PostgresPredictionCache(postgres.url("cache_clear"))
    a, b = (CacheKey(d, "p", "s", "ex", "original") for d in ("model-a", "model-b"))
    cache.put_many([(a, CachedPrediction("x", 1)), (b, CachedPrediction("y", 1))])
    cache.put_many([(a, CachedPrediction("changed", 9))])  # a key keeps its first answer
    assert cache.clear("model-a") == 1
    assert cache.get_many([a, b]) == {b: CachedPrediction("y", 1)}


def test_any_answer_round_trips(postgres):
    """Whatever a model emits comes back unchanged (PostgreSQL TEXT refuses NUL characters)."""
    postgres.create_database("cache_text")
    cache = PostgresPredictionCache(postgres.url("cache_text"))
    answers = {f"ex-{i}": text for i, text in enumerate(["a\x00b", "é\u200b\n", "\U0001f600", "", "\ud800 lone"])}
    keys = {ex: CacheKey("m", "p", "s", ex, "original") for ex in answers}
    cache.put_many((keys[ex], CachedPrediction(text, 3)) for ex, text in answers.items())
    found = PostgresPredictionCache(postgres.url("cache_text")).get_many(keys.values())
    assert {ex: found[key].raw_output for ex, key in keys.items()} == answers


def test_where_the_cache_lives(tmp_path, monkeypatch, make_settings):
    monkeypatch.delenv("SLM_CACHE_URL", raising=False)
    settings = make_settings()
    assert isinstance(open_cache(settings), PredictionCache)
    configured = make_settings("b.yaml", evaluation={"cache_url": "postgresql://u:secret@db:5432/slm"})
    assert open_cache(configured).url == "postgresql://u:secret@db:5432/slm"
    # Where answers are cached is not part of what was evaluated.
    assert configured.section_hash("evaluation") == settings.section_hash("evaluation")
    monkeypatch.setenv("SLM_CACHE_URL", "postgresql://u:other@db2/slm")
    assert open_cache(configured).url == "postgresql://u:other@db2/slm"
    assert redact("postgresql://u:secret@db:5432/slm") == "postgresql://u:***@db:5432/slm"
    with pytest.raises(ValueError, match="postgresql://"):
        PostgresPredictionCache("mysql://u:secret@db/slm")


def test_a_postgres_instance_brings_its_cache(postgres, tmp_path, monkeypatch):
    postgres.create_database("cache_instance")
    for key, value in postgres.env("cache_instance").items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SLM_CACHE_URL", raising=False)
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "deploy" / "dagster.postgres.yaml").read_text())
    config = build_tiny_project(tmp_path / "project")
    resource = SlmSettings(config_path=str(config))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert "postgres" in type(instance.run_storage).__name__.lower()
        with dg.build_resources({"slm": resource}, instance=instance) as resources:
            settings = resources.slm.get()
    cache = open_cache(settings)
    assert isinstance(cache, PostgresPredictionCache) and cache.url.endswith("/cache_instance")
    key = CacheKey("m", "p", "s", "ex", "original")
    cache.put_many([(key, CachedPrediction("refund", 1))])
    assert PostgresPredictionCache(postgres.url("cache_instance")).get_many([key])[key].raw_output == "refund"
    assert not (layout.cache_dir(settings) / "predictions.sqlite").exists()


def _evaluate(config: Path, key: str, url: str | None) -> subprocess.Popen:
    env = {**os.environ, "SLM_CONFIG": str(config), "OMP_NUM_THREADS": "1"}
    env.pop("SLM_CACHE_URL", None)
    if url:
        env["SLM_CACHE_URL"] = url
    return subprocess.Popen([sys.executable, "-m", "slm_assets", "evaluate", key, "--json"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _predictions(config: Path, key: str) -> pd.DataFrame:
    settings = load_settings(config)
    frame = pd.read_parquet(layout.evaluations_root(settings) / key / settings.golden.version / "predictions.parquet")
    return frame.sort_values(["example_id", "variant"]).reset_index(drop=True)[
        ["example_id", "variant", "raw_output", "prediction", "correct"]
    ]


@pytest.mark.slow
def test_two_machines_evaluating_the_same_examples_share_one_cache(postgres, tmp_path):
    """Two evaluations of one version at once, each with its own data dir (two machines), one cache."""
    postgres.create_database("cache_eval")
    url = postgres.url("cache_eval")
    model = build_tiny_model(tmp_path / "model", seed=3, initializer_range=0.25)
    configs = {name: build_tiny_project(tmp_path / name, {"tiny@v1": model}) for name in ("machine-a", "machine-b", "sqlite")}
    procs = [_evaluate(configs[name], "tiny@v1", url) for name in ("machine-a", "machine-b")]
    for proc in procs:
        assert proc.wait(timeout=600) == 0, proc.stderr.read()[-2000:]

    reference = load_settings(configs["sqlite"])
    expected = evaluate_model(reference, get_registry(reference).get("tiny@v1"), show_progress=False)
    for name in ("machine-a", "machine-b"):
        pd.testing.assert_frame_equal(_predictions(configs[name], "tiny@v1"), _predictions(configs["sqlite"], "tiny@v1"))
    digest = get_registry(reference).get("tiny@v1").digest
    # One row per (example, variant): nothing duplicated although both machines generated at once.
    assert PostgresPredictionCache(url).count(digest) == expected.metrics["n_prompts"]
