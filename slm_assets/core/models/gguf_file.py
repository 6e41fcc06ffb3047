"""GGUF model files: what registration checks before a GGUF becomes a version, and what it says about one.

A version is a GGUF one when its source is a ``.gguf`` file, or a folder with no ``config.json``
holding exactly one ``.gguf`` (registered as it is, with whatever else lies beside it). Checks, each
a ``GgufError`` naming the file and the cause: the magic and the format version, a header that
parses (``gguf`` package), tensor data that the file really holds (truncation), and an architecture
that llama.cpp knows (the ``gguf`` package mirrors llama.cpp's list).
"""

from dataclasses import dataclass
from pathlib import Path

from slm_assets.core.models.loading import ModelLoadError

GGUF_SUFFIX = ".gguf"
_MAGIC = b"GGUF"
_VERSIONS = (2, 3)


class GgufError(ModelLoadError):
    """A GGUF file that cannot be registered or loaded; the message names the file and the cause."""


@dataclass(frozen=True)
class GgufInfo:
    path: Path
    architecture: str
    precision: str
    """The file type, as llama.cpp names it: F32, F16, Q4_1, Q8_0..."""
    tensor_bytes: int
    tensors: int
    chat_template: str | None


def find_gguf_file(src: str | Path) -> Path | None:
    """The GGUF that ``src`` is (a file) or holds (a folder without config.json); None for anything else."""
    src = Path(src)
    if src.is_file():
        return src if src.suffix.lower() == GGUF_SUFFIX else None
    if not src.is_dir() or (src / "config.json").exists():
        return None
    found = sorted(p for p in src.iterdir() if p.suffix.lower() == GGUF_SUFFIX and p.is_file())
    if len(found) > 1:
        raise GgufError(
            f"{src}: holds {len(found)} GGUF files ({', '.join(p.name for p in found)}); "
            "a GGUF version is a folder with exactly one, register each file on its own"
        )
    return found[0] if found else None


def _field(reader, key: str):
    field = reader.fields.get(key)
    return None if field is None else field.contents()


def known_architectures() -> set[str]:
    import gguf

    return set(gguf.MODEL_ARCH_NAMES.values())


def precision_name(file_type: int | None) -> str:
    import gguf

    try:
        return gguf.LlamaFileType(int(file_type)).name.removeprefix("MOSTLY_").removeprefix("ALL_")
    except (TypeError, ValueError):
        return "unknown"


class _Truncated(Exception):
    def __init__(self, end: int):
        self.end = end


def _reader(path: Path):
    """``gguf.GGUFReader`` that checks the tensors' extent before viewing their data (the plain
    reader fails on a cut file with a reshape error that does not say "truncated")."""
    import gguf
    import numpy as np

    class Reader(gguf.GGUFReader):
        def _build_tensors(self, start_offs, fields):
            end = 0
            for field in fields:
                dims, raw_type, offset = field.parts[3], field.parts[4], field.parts[5]
                block, type_size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType(int(raw_type[0]))]
                end = max(end, start_offs + int(offset[0]) + int(np.prod(dims)) * type_size // block)
            if end > len(self.data):
                raise _Truncated(end)
            super()._build_tensors(start_offs, fields)

    return Reader(path)


def read_gguf(path: str | Path) -> GgufInfo:
    """Check ``path`` as described in the module doc and return what it holds."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise GgufError(f"{path}: unreadable: {exc}") from exc
    if len(head) < 8:
        raise GgufError(f"{path}: truncated GGUF ({size} bytes, no header)")
    if head[:4] != _MAGIC:
        raise GgufError(f"{path}: not a GGUF file (starts with {head[:4]!r}, expected {_MAGIC!r})")
    version = int.from_bytes(head[4:8], "little")
    if version not in _VERSIONS:
        raise GgufError(f"{path}: unsupported GGUF format version {version} (supported: 2, 3)")
    try:
        reader = _reader(path)
    except _Truncated as cut:
        raise GgufError(f"{path}: truncated GGUF ({size:,} bytes, its tensors end at byte {cut.end:,})") from None
    except Exception as exc:  # the reader fails with IndexError/ValueError/struct.error on cut or garbled files
        raise GgufError(f"{path}: truncated or malformed GGUF ({size:,} bytes): {type(exc).__name__}: {exc}") from exc
    if not reader.tensors:
        raise GgufError(f"{path}: the GGUF holds no tensors")
    architecture = _field(reader, "general.architecture")
    if not architecture:
        raise GgufError(f"{path}: the GGUF has no general.architecture")
    if architecture not in known_architectures():
        raise GgufError(f"{path}: architecture {architecture!r} is not one llama.cpp knows")
    return GgufInfo(
        path=path,
        architecture=str(architecture),
        precision=precision_name(_field(reader, "general.file_type")),
        tensor_bytes=sum(int(t.n_bytes) for t in reader.tensors),
        tensors=len(reader.tensors),
        chat_template=_field(reader, "tokenizer.chat_template"),
    )
