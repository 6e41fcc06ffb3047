"""What a model folder may contain, checked before anything reads it for real.

Each check reads only headers, stats and small JSON files, so a hostile folder is
refused before transformers allocates anything: links leaving the folder, special
files, safetensors headers that lie, tokenizers and configs too large to be real.
The limits sit well above every published small (and most large) language model.
"""

import json
import math
import os
import stat
import struct
from pathlib import Path

MAX_SAFETENSORS_HEADER_BYTES = 100_000_000
"""The safetensors library's own cap."""
MAX_TOKENIZER_BYTES = 64 * 1024 * 1024
"""Gemma's 262k-token tokenizer.json is 33 MB; SmolLM2's is 2 MB."""
MAX_ADDED_TOKENS = 16_384
"""Added tokens are matched one by one at load time: 400k of them take gigabytes."""
CONFIG_LIMITS = {
    "num_hidden_layers": 1_024,
    "vocab_size": 1_048_576,
    "max_position_embeddings": 16_777_216,
    "hidden_size": 65_536,
    "intermediate_size": 1_048_576,
    "num_attention_heads": 1_024,
    "num_key_value_heads": 1_024,
}
MIN_BITS_PER_PARAMETER = 2
"""A config describing more parameters than the weights could hold at 2 bits each is refused
(transformers would allocate the missing ones, randomly initialised)."""
_DTYPE_BITS = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E4M3": 8, "F8_E5M2": 8, "F8_E8M0": 8, "I16": 16, "U16": 16, "F16": 16,
    "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "I64": 64, "U64": 64, "F64": 64, "C64": 64, "F4": 4,
    "F6_E2M3": 6, "F6_E3M2": 6,
}


class ModelLoadError(RuntimeError):
    """A model folder that cannot be loaded safely; the message names the file."""


def model_files(folder: Path, exclude: tuple[str, ...] = ()) -> list[Path]:
    """Every regular file under ``folder`` (sorted by relative path), refusing what could leak or hang.

    A symlink is accepted only when it resolves to a regular file inside ``folder``; links out of the
    folder (``/etc/passwd``, a private key), dangling links, links to folders, FIFOs and devices are refused.
    """
    root = folder.resolve()
    files = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(folder).as_posix()
            st = path.lstat()
            if stat.S_ISDIR(st.st_mode):
                continue
            if stat.S_ISLNK(st.st_mode):
                target = path.resolve()
                if not target.is_relative_to(root):
                    raise ModelLoadError(
                        f"{path}: symlink pointing outside the model folder; copy the file in (cp -L) instead"
                    )
                if not target.is_file():
                    raise ModelLoadError(f"{path}: symlink to a missing file, a folder or a special file")
            elif not stat.S_ISREG(st.st_mode):
                raise ModelLoadError(f"{path}: not a regular file (a FIFO, socket or device)")
            if rel not in exclude:
                files.append(path)
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def _int(value, what: str, path: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ModelLoadError(f"{path}: corrupt safetensors header: {what} must be a non-negative integer, got {value!r}")
    return value


def _read_header(path: Path, size: int) -> tuple[dict, int]:
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise ModelLoadError(f"{path}: truncated safetensors file ({size} bytes, no header)")
            (header_len,) = struct.unpack("<Q", head)
            if header_len > size - 8:
                raise ModelLoadError(f"{path}: truncated safetensors file (header of {header_len} bytes, file {size})")
            if header_len > MAX_SAFETENSORS_HEADER_BYTES:
                raise ModelLoadError(f"{path}: safetensors header of {header_len} bytes (limit {MAX_SAFETENSORS_HEADER_BYTES})")
            header = json.loads(fh.read(header_len))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ModelLoadError(f"{path}: corrupt safetensors header: {exc}") from exc
    if not isinstance(header, dict):
        raise ModelLoadError(f"{path}: corrupt safetensors header: a JSON {type(header).__name__}, expected an object")
    return header, header_len


def check_safetensors(path: Path) -> int:
    """Check that the header is well formed and tells the truth about the bytes; return the data bytes.

    As the safetensors library requires: every tensor has a dtype, a shape and ``data_offsets``
    whose span matches dtype x shape, the tensors tile the data section without gap or overlap,
    and the data section ends exactly at the end of the file (less is a truncation).
    """
    size = path.stat().st_size
    header, header_len = _read_header(path, size)
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
            raise ModelLoadError(f"{path}: corrupt safetensors header: tensor {name!r} lacks dtype, shape or data_offsets")
        shape, offsets = info["shape"], info["data_offsets"]
        if not isinstance(shape, list) or not isinstance(offsets, list) or len(offsets) != 2:
            raise ModelLoadError(f"{path}: corrupt safetensors header: tensor {name!r}: shape and data_offsets must be lists")
        dims = [_int(d, f"tensor {name!r} shape", path) for d in shape]
        begin, end = (_int(o, f"tensor {name!r} data_offsets", path) for o in offsets)
        count = math.prod(dims)
        bits = _DTYPE_BITS.get(info["dtype"]) if isinstance(info["dtype"], str) else None
        if bits is None:
            raise ModelLoadError(f"{path}: corrupt safetensors header: tensor {name!r} has unknown dtype {info['dtype']!r}")
        if end - begin != (count * bits + 7) // 8:
            raise ModelLoadError(
                f"{path}: safetensors header lies: tensor {name!r} ({info['dtype']} {dims}) needs "
                f"{(count * bits + 7) // 8} bytes, data_offsets span {end - begin}"
            )
        spans.append((begin, end, name))
    position = 0
    for begin, end, name in sorted(spans):
        if begin != position:
            raise ModelLoadError(
                f"{path}: safetensors header lies: tensor {name!r} starts at {begin}, expected {position} "
                "(tensors overlap or leave a gap)"
            )
        position = end
    expected = 8 + header_len + position
    if size < expected:
        raise ModelLoadError(f"{path}: truncated safetensors file ({size} bytes, header promises {expected})")
    if size > expected:
        raise ModelLoadError(f"{path}: safetensors header lies: it accounts for {expected} bytes, the file has {size}")
    return position


def check_tokenizer(folder: Path) -> None:
    """Refuse a tokenizer too large to load: file size first, then the added-token count."""
    for name, key in (("tokenizer.json", "added_tokens"), ("tokenizer_config.json", "added_tokens_decoder")):
        file = folder / name
        if not file.is_file():
            continue
        size = file.stat().st_size
        if size > MAX_TOKENIZER_BYTES:
            raise ModelLoadError(f"{file}: {size / 2**20:.0f} MiB, over the {MAX_TOKENIZER_BYTES // 2**20} MiB limit for a tokenizer")
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            raise ModelLoadError(f"{file}: unreadable JSON: {exc}") from exc
        added = data.get(key) if isinstance(data, dict) else None
        if added is not None and len(added) > MAX_ADDED_TOKENS:
            raise ModelLoadError(f"{file}: {len(added)} added tokens, over the limit of {MAX_ADDED_TOKENS}")


def check_config_limits(config_file: Path, config: dict, weight_bytes: int | None) -> None:
    """Refuse sizes no real model has (they would allocate for ever) and configs the weights cannot fill."""
    sections = [config] + [v for k, v in config.items() if k.endswith("_config") and isinstance(v, dict)]
    for section in sections:
        for key, limit in CONFIG_LIMITS.items():
            value = section.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
                raise ModelLoadError(f"{config_file}: {key} = {value!r}: expected an integer in 1..{limit}")
    if weight_bytes is None:
        return
    layers, hidden, vocab = (config.get(k) or 0 for k in ("num_hidden_layers", "hidden_size", "vocab_size"))
    described = layers * hidden * hidden + vocab * hidden  # a lower bound: attention alone holds more
    if described * MIN_BITS_PER_PARAMETER > weight_bytes * 8:
        raise ModelLoadError(
            f"{config_file}: describes at least {described:,} parameters, more than {weight_bytes:,} bytes "
            f"of weights can hold at {MIN_BITS_PER_PARAMETER} bits each"
        )
