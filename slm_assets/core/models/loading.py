"""Safe loading of a Hugging Face causal LM folder: the one loader of the project.

Safety rules: safetensors only unless the model card allows pickle, never
``trust_remote_code`` (configs asking for it via ``auto_map`` are refused), and
every problem is a ``ModelLoadError`` naming the file at fault. The folder is
checked before transformers touches it, so a broken model fails fast and clearly.
"""

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slm_assets.core.models.folder_checks import (
    ModelLoadError,
    check_config_limits,
    check_safetensors,
    check_tokenizer,
    model_files,
)

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "spiece.model")
_REMOTE_CODE_FILES = ("config.json", "tokenizer_config.json")


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    device: str
    dtype: Any
    load_seconds: float
    path: Path
    version: Any = None
    """The registry ``ModelVersion`` when loaded from one (its ``digest`` keys caches)."""


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{path}: unreadable JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelLoadError(f"{path}: expected a JSON object")
    return data


def _weight_files(path: Path, allow_pickle: bool) -> tuple[list[Path], int | None]:
    """The weight files, and the safetensors data bytes (None for pickles)."""
    index = path / "model.safetensors.index.json"
    if index.exists():
        shards = sorted(set(_read_json(index).get("weight_map", {}).values()))
        missing = [s for s in shards if not (path / s).is_file()]
        if missing:
            raise ModelLoadError(f"{index}: lists shard(s) not in the folder: {', '.join(missing)}")
        safetensors = [path / s for s in shards]
    else:
        safetensors = sorted(path.glob("*.safetensors"))
    if safetensors:
        return safetensors, sum(check_safetensors(file) for file in safetensors)
    pickles = sorted(p for p in path.iterdir() if p.suffix in PICKLE_SUFFIXES and p.is_file())
    if pickles and not allow_pickle:
        raise ModelLoadError(
            f"{pickles[0]}: pickle weights refused (they can run arbitrary code); convert the model to "
            "safetensors, or set allow_pickle: true in its card if you trust it"
        )
    if not pickles:
        raise ModelLoadError(f"{path}: no weights (expected model.safetensors or sharded *.safetensors)")
    return pickles, None


def validate_model_dir(path: str | Path, allow_pickle: bool = False) -> list[Path]:
    """Raise ``ModelLoadError`` unless ``path`` is a loadable, safe model folder; return its weight files."""
    path = Path(path)
    if not path.is_dir():
        raise ModelLoadError(f"{path}: not a folder (expected a Hugging Face model folder)")
    if not model_files(path):  # also refuses links out of the folder and special files
        raise ModelLoadError(f"{path}: empty folder (expected config.json, *.safetensors and a tokenizer)")
    config_file = path / "config.json"
    if not config_file.is_file():
        raise ModelLoadError(f"{config_file}: missing (not a Hugging Face model folder?)")
    config = _read_json(config_file)
    for name in _REMOTE_CODE_FILES:
        file = path / name
        data = config if name == "config.json" else (_read_json(file) if file.is_file() else {})
        if "auto_map" in data:
            raise ModelLoadError(
                f"{file}: asks for remote code (auto_map); trust_remote_code is never enabled here"
            )
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise ModelLoadError(f"{path / 'tokenizer.json'}: missing tokenizer (none of {', '.join(TOKENIZER_FILES)})")
    check_tokenizer(path)
    weights, weight_bytes = _weight_files(path, allow_pickle)
    check_config_limits(config_file, config, weight_bytes)
    return weights


def resolve_device(device: str = "auto") -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError(f"device {device!r} requested but CUDA is not available")
    return device


def _resolve_dtype(dtype: Any, device: str) -> Any:
    import torch

    if dtype is None:
        # fp32 on CPU (bf16 matmuls are slow there); bf16 on GPUs that have it.
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if isinstance(dtype, str):
        value = getattr(torch, dtype, None)
        if not isinstance(value, torch.dtype):
            raise ModelLoadError(f"unknown dtype {dtype!r} (use float32, bfloat16 or float16)")
        return value
    return dtype


def load_model(version_or_path: Any, device: str = "auto", dtype: Any = None) -> LoadedModel:
    """Load a registry ``ModelVersion`` (or a plain folder) for left-padded batched generation."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    card = getattr(version_or_path, "card", None)
    version = version_or_path if card is not None else None
    path = Path(version.path if version is not None else version_or_path)
    allow_pickle = bool(card.allow_pickle) if card is not None else False
    if version is not None:
        version.verify()  # never load files that changed since registration
    weights = validate_model_dir(path, allow_pickle=allow_pickle)
    device = resolve_device(device)
    dtype = _resolve_dtype(dtype, device)
    use_safetensors = weights[0].suffix == ".safetensors"

    start = time.perf_counter()
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False, local_files_only=True)
    except Exception as exc:  # transformers raises many types; the caller needs one with the file
        raise ModelLoadError(f"{path}: tokenizer failed to load: {exc}") from exc
    try:
        model = AutoModelForCausalLM.from_pretrained(
            path, trust_remote_code=False, local_files_only=True, use_safetensors=use_safetensors, dtype=dtype
        )
    except Exception as exc:
        raise ModelLoadError(f"{weights[0]}: model failed to load: {exc}") from exc
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.to(device).eval()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        device=device,
        dtype=dtype,
        load_seconds=time.perf_counter() - start,
        path=path,
        version=version,
    )
