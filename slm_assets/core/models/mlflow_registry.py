"""A registry backend over the MLflow Model Registry (the ``mlflow`` extra).

Same contract as :class:`slm_assets.core.models.registry.FolderRegistry` (the ``Registry`` protocol of ``versions``), so the sensor,
evaluation and promotion work unchanged:

- a registered model NAME holds MLflow model versions; each of ours carries the tags
  ``slm.version`` (our immutable version label, the partition key's second half),
  ``slm.digest`` (content digest) and ``slm.card`` (the card JSON). MLflow's own
  version numbers stay internal.
- a version is *ready* when MLflow says READY and its ``slm.card`` tag is set (the tag
  is written last, like card.json in the folder registry).
- aliases are MLflow's native registered-model aliases; every change is audited as a
  registered-model tag ``slm.audit.<UTC time>``.
- model files are logged as run artifacts and downloaded on first use into
  ``<cache_dir>/mlflow_models/<name>/<version>/`` (atomic rename, digest verified).
"""

import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlflow.entities.model_registry.model_version_status import ModelVersionStatus
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from slm_assets.core.models.loading import validate_model_dir
from slm_assets.core.models.integrity import content_digest
from slm_assets.core.models.versions import ModelCard, ModelRef, ModelVersion, RegistryError, audit_user, validate_name
from slm_assets.core.reporting.tracking import ensure_experiment
from slm_assets.core import layout

TAG_VERSION = "slm.version"
TAG_DIGEST = "slm.digest"
TAG_CARD = "slm.card"
AUDIT_PREFIX = "slm.audit."
REGISTRY_EXPERIMENT = "slm_assets-registry"


def tracking_uri(settings) -> str:
    """Registry URI: registry.mlflow_tracking_uri, else mlflow.tracking_uri, else $MLFLOW_TRACKING_URI."""
    uri = settings.registry.mlflow_tracking_uri or settings.mlflow.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        raise RegistryError(
            f"{settings.config_path}: registry.backend is 'mlflow' but no tracking URI is set "
            "(registry.mlflow_tracking_uri, mlflow.tracking_uri or MLFLOW_TRACKING_URI)"
        )
    return uri


class MlflowRegistry:
    def __init__(self, settings):
        self.settings = settings
        self.uri = tracking_uri(settings)
        self.client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        self.cache_root = Path(layout.cache_dir(settings)) / "mlflow_models"

    # -- reading --

    def _versions(self, name: str) -> list[Any]:
        try:
            return list(self.client.search_model_versions(f"name = '{validate_name(name)}'"))
        except MlflowException as exc:
            if "RESOURCE_DOES_NOT_EXIST" in str(exc.error_code):
                return []
            raise RegistryError(f"MLflow registry {self.uri}: cannot list versions of {name}: {exc}") from exc

    @staticmethod
    def _is_ready(mv: Any) -> bool:
        return (
            ModelVersionStatus.from_string(mv.status) == ModelVersionStatus.READY
            and TAG_CARD in mv.tags
            and TAG_VERSION in mv.tags
        )

    def _find(self, ref: ModelRef) -> Any | None:
        for mv in self._versions(ref.name):
            if mv.tags.get(TAG_VERSION) == ref.version and self._is_ready(mv):
                return mv
        return None

    def _card(self, mv: Any) -> ModelCard:
        try:
            return ModelCard.model_validate_json(mv.tags[TAG_CARD])
        except ValueError as exc:
            raise RegistryError(f"MLflow model {mv.name} version {mv.version}: unreadable {TAG_CARD} tag: {exc}") from exc

    def _local_copy(self, ref: ModelRef, mv: Any) -> Path:
        dest = self.cache_root / ref.name / ref.version
        if dest.exists():
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{ref.version}-", dir=dest.parent))
        try:
            self.client.download_artifacts(mv.run_id, "model", str(tmp))
            if content_digest(tmp / "model") != mv.tags[TAG_DIGEST]:
                raise RegistryError(f"{ref.key}: downloaded files do not match the registered digest")
            try:
                os.rename(tmp / "model", dest)
            except OSError:
                if not dest.exists():  # else another process won the race with the same content
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return dest

    def get(self, ref: "ModelRef | str") -> ModelVersion:
        ref = ModelRef.parse(ref) if isinstance(ref, str) else ref
        mv = self._find(ref)
        if mv is None:
            raise RegistryError(f"{ref.key} is not a ready version in the MLflow registry at {self.uri}")
        return ModelVersion(ref=ref, path=self._local_copy(ref, mv), card=self._card(mv), digest=mv.tags[TAG_DIGEST])

    def list_ready(self) -> list[ModelVersion]:
        """Ready versions, without downloading: ``path`` is where ``get`` will place the files."""
        found = []
        for model in self.client.search_registered_models():
            for mv in self._versions(model.name):
                if not self._is_ready(mv):
                    continue
                try:
                    ref = ModelRef(model.name, mv.tags[TAG_VERSION])
                    card = self._card(mv)
                except RegistryError:
                    continue  # a hand-edited tag: not ready, like a corrupt card.json
                found.append(
                    ModelVersion(ref=ref, path=self.cache_root / ref.name / ref.version, card=card, digest=mv.tags[TAG_DIGEST])
                )
        return sorted(found, key=lambda v: v.ref)

    # -- writing --

    def register(self, src_dir: str | Path, name: str, version: str, card: ModelCard, progress=None) -> ModelVersion:
        ref = ModelRef(name, version)
        src = Path(src_dir)
        validate_model_dir(src, allow_pickle=card.allow_pickle)
        digest = content_digest(src)
        for mv in self._versions(name):
            if mv.tags.get(TAG_VERSION) == version:
                if mv.tags.get(TAG_DIGEST) != digest:
                    raise RegistryError(
                        f"{ref.key} is already registered in MLflow with different content; "
                        "versions are immutable, register a new version instead"
                    )
                return self.get(ref)
        try:
            self.client.create_registered_model(name)
        except MlflowException as exc:
            if "RESOURCE_ALREADY_EXISTS" not in str(exc.error_code):
                raise RegistryError(f"MLflow registry {self.uri}: cannot create {name}: {exc}") from exc
        experiment_id = ensure_experiment(self.client, REGISTRY_EXPERIMENT, self.settings, self.uri)
        run = self.client.create_run(experiment_id, run_name=f"register {ref.key}")
        if progress:
            progress(f"uploading {src} to MLflow run {run.info.run_id}")
        self.client.log_artifacts(run.info.run_id, str(src), artifact_path="model")
        self.client.set_terminated(run.info.run_id)
        mv = self.client.create_model_version(
            name, source=f"runs:/{run.info.run_id}/model", run_id=run.info.run_id,
            tags={TAG_VERSION: version, TAG_DIGEST: digest},
        )
        # The card last: until it is set the version is not ready (as card.json in a folder).
        self.client.set_model_version_tag(name, mv.version, TAG_CARD, card.model_dump_json())
        return self.get(ref)

    # -- aliases --

    def _mlflow_version(self, ref: ModelRef) -> str:
        mv = self._find(ref)
        if mv is None:
            raise RegistryError(f"{ref.key} is not a ready version in the MLflow registry at {self.uri}")
        return mv.version

    def aliases(self, name: str) -> dict[str, str]:
        try:
            model = self.client.get_registered_model(validate_name(name))
        except MlflowException:
            return {}
        by_number = {mv.version: mv.tags.get(TAG_VERSION) for mv in self._versions(name)}
        return {alias: by_number[num] for alias, num in (model.aliases or {}).items() if by_number.get(num)}

    def resolve(self, name: str, alias: str) -> ModelVersion:
        version = self.aliases(name).get(alias)
        if version is None:
            raise RegistryError(f"{name} has no alias {alias!r} in the MLflow registry at {self.uri}")
        return self.get(ModelRef(name, version))

    def set_alias(self, name: str, alias: str, version: str, audit: dict[str, Any] | None = None) -> dict:
        validate_name(alias, "alias")
        number = self._mlflow_version(ModelRef(name, version))
        now = datetime.now(UTC)
        entry = {
            "at": now.isoformat(),
            "who": audit_user(),
            "action": "set_alias",
            "alias": alias,
            "version": version,
            "previous": self.aliases(name).get(alias),
            **(audit or {}),
        }
        self.client.set_registered_model_alias(name, alias, number)
        self.client.set_registered_model_tag(
            name, f"{AUDIT_PREFIX}{now.strftime('%Y%m%dT%H%M%S.%fZ')}", json.dumps(entry, sort_keys=True, default=str)
        )
        return entry

    def audit_log(self, name: str) -> list[dict]:
        model = self.client.get_registered_model(validate_name(name))
        return [json.loads(v) for k, v in sorted(model.tags.items()) if k.startswith(AUDIT_PREFIX)]
