"""new_model_version_sensor on a real Dagster instance: bursts, restarts, half-copied and deleted versions."""

import json
import shutil

import dagster as dg
import pytest

from slm_assets.core.models.registry import FolderRegistry
from slm_assets.core.models.versions import ModelCard
from slm_assets.defs.models.sensors import new_model_version_sensor
from slm_assets.defs.partitions import model_versions
from slm_assets.defs.resources import SlmSettings


@pytest.fixture
def setup(make_settings):
    settings = make_settings()
    return settings, FolderRegistry(settings.registry_dir), {"slm": SlmSettings(config_path=str(settings.config_path))}


def tick(instance, resources, cursor):
    """One sensor evaluation, applying its partition requests like the daemon does."""
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        result = new_model_version_sensor(context)
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def register_burst(registry, src, n, start=0):
    card = ModelCard(task="t")
    return [registry.register(src, "tiny", f"v{i}", card) for i in range(start, start + n)]


def test_burst_then_nothing_then_restart_on_same_storage(setup, tiny_model_dir, tmp_path):
    settings, registry, resources = setup
    versions = register_burst(registry, tiny_model_dir, 20)
    storage = tmp_path / "dagster_home"
    storage.mkdir()
    with dg.instance_for_test(temp_dir=str(storage)) as instance:
        result = tick(instance, resources, None)
        assert len(result.run_requests) == 20
        assert sorted(r.partition_key for r in result.run_requests) == sorted(v.key for v in versions)
        assert {r.run_key for r in result.run_requests} == {f"{v.key}:{v.digest}" for v in versions}
        assert len(result.dynamic_partitions_requests) == 1
        assert len(instance.get_dynamic_partitions(model_versions.name)) == 20
        cursor = result.cursor
        again = tick(instance, resources, cursor)
        assert not again.run_requests and not again.dynamic_partitions_requests
        assert "no new model version" in again.skip_reason.skip_message
    # A restarted daemon: a new instance on the same storage, with the persisted cursor.
    with dg.instance_for_test(temp_dir=str(storage)) as instance:
        assert len(instance.get_dynamic_partitions(model_versions.name)) == 20
        assert not tick(instance, resources, cursor).run_requests
        register_burst(registry, tiny_model_dir, 1, start=20)
        later = tick(instance, resources, cursor)
        assert [r.partition_key for r in later.run_requests] == ["tiny@v20"]
    assert set(json.loads(later.cursor)) == {f"tiny@v{i}" for i in range(21)}


def test_half_copied_version_waits_for_its_card(setup, tiny_model_dir):
    settings, registry, resources = setup
    ready = register_burst(registry, tiny_model_dir, 1)[0]
    manual = registry.root / "tiny" / "v-manual"
    shutil.copytree(tiny_model_dir, manual)  # someone copying by hand: no card yet
    with dg.instance_for_test() as instance:
        first = tick(instance, resources, None)
        assert [r.partition_key for r in first.run_requests] == ["tiny@v0"]
        assert not tick(instance, resources, first.cursor).run_requests
        shutil.copy(ready.path / "card.json", manual / "card.json")  # the card lands last
        ready_now = tick(instance, resources, first.cursor)
        assert [r.partition_key for r in ready_now.run_requests] == ["tiny@v-manual"]
        assert instance.has_dynamic_partition(model_versions.name, "tiny@v-manual")


def test_deleted_version_does_not_crash(setup, tiny_model_dir):
    settings, registry, resources = setup
    versions = register_burst(registry, tiny_model_dir, 3)
    with dg.instance_for_test() as instance:
        first = tick(instance, resources, None)
        shutil.rmtree(versions[1].path)
        after_delete = tick(instance, resources, first.cursor)
        assert not after_delete.run_requests
        shutil.rmtree(registry.root / "tiny")
        assert not tick(instance, resources, first.cursor).run_requests
        # an empty or missing registry before anything was ever registered
        assert not tick(instance, resources, None).run_requests


def test_sensor_and_job_are_in_the_project_definitions():
    from slm_assets.definitions import defs as load_defs
    defs = load_defs()

    sensor = defs.resolve_sensor_def("new_model_version_sensor")
    assert sensor.job_name == "evaluate_model_version"
    assert sensor.minimum_interval_seconds == 30
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    job = defs.resolve_job_def("evaluate_model_version")
    if job.asset_layer.executable_asset_keys:
        assert job.partitions_def == model_versions


def test_job_loads_while_its_groups_are_empty():
    from slm_assets.defs.models.jobs import evaluate_model_version_job

    alone = dg.Definitions(jobs=[evaluate_model_version_job], sensors=[new_model_version_sensor],
                           resources={"slm": SlmSettings()})
    assert not alone.resolve_job_def("evaluate_model_version").asset_layer.executable_asset_keys
