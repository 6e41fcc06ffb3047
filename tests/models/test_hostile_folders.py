"""Hostile model folders and tampered registry versions (issue 17): each is refused with a clear error."""

import json
import os
import shutil
import stat
import struct

import pytest

from slm_assets.core import layout
from slm_assets.core.io import atomic_write_json
from slm_assets.core.models import folder_checks
from slm_assets.core.models.loading import ModelLoadError, load_model, validate_model_dir
from slm_assets.core.models.registry import FolderRegistry
from slm_assets.core.models.versions import ModelCard, ModelRef, RegistryError


@pytest.fixture
def registry(tmp_path):
    return FolderRegistry(tmp_path / "registry")


@pytest.fixture
def model_copy(tiny_model_dir, tmp_path):
    dest = tmp_path / "model"
    shutil.copytree(tiny_model_dir, dest)
    return dest


def card():
    return ModelCard(task="support-intent-routing")


def write_safetensors(path, header, data=b""):
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


# -- immutability and digest re-verification --


def test_registered_files_and_folders_are_read_only(registry, tiny_model_dir):
    version = registry.register(tiny_model_dir, "tiny", "v1", card())
    for path in [version.path, *version.path.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o222 == 0, f"{path} is writable ({oct(mode)})"


def test_swapped_weights_are_refused_naming_the_file(registry, tiny_model_dir):
    version = registry.register(tiny_model_dir, "tiny", "v1", card())
    weights = version.path / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # same size, new mtime: the fast path sees the stat change, the hash the content
    weights.write_bytes(bytes(data))
    with pytest.raises(RegistryError, match=r"tiny@v1: content changed since registration \(.*model\.safetensors"):
        registry.get("tiny@v1")
    with pytest.raises(RegistryError, match="model.safetensors"):
        load_model(version, device="cpu")  # the loader checks too: no evaluation, profile or cache lookup


def test_added_file_is_named_and_touch_alone_is_no_change(registry, tiny_model_dir):
    version = registry.register(tiny_model_dir, "tiny", "v1", card())
    os.utime(version.path / "config.json", ns=(1, 1))
    assert registry.get("tiny@v1") == version  # stat differs, content does not
    os.chmod(version.path, 0o755)
    (version.path / "extra.bin").write_bytes(b"x")
    with pytest.raises(RegistryError, match=r"extra\.bin"):
        registry.get("tiny@v1")


def test_fast_path_reads_no_bytes_when_nothing_changed(registry, tiny_model_dir, monkeypatch):
    registry.register(tiny_model_dir, "tiny", "v1", card())
    from slm_assets.core.models import integrity

    monkeypatch.setattr(integrity, "hash_files", lambda folder: pytest.fail("full hash on an unchanged version"))
    registry.get("tiny@v1")


# -- symlinks and special files --


def test_symlink_out_of_the_folder_is_refused_and_nothing_copied(registry, model_copy, tmp_path):
    secret = tmp_path / "id_rsa"
    secret.write_text("PRIVATE KEY")
    secret.chmod(0o600)
    (model_copy / "notes.txt").symlink_to(secret)
    with pytest.raises(ModelLoadError, match=r"notes\.txt: symlink pointing outside the model folder"):
        registry.register(model_copy, "tiny", "v1", card())
    (model_copy / "notes.txt").unlink()
    (model_copy / "passwd").symlink_to("/etc/passwd")
    with pytest.raises(ModelLoadError, match="passwd: symlink pointing outside"):
        registry.register(model_copy, "tiny", "v1", card())
    assert registry.list_ready() == []
    assert not list(registry.root.rglob("passwd")) and not list(registry.root.rglob("notes.txt"))


def test_symlink_inside_the_folder_is_copied_as_a_file(registry, model_copy):
    (model_copy / "generation_config.copy.json").symlink_to(model_copy / "generation_config.json")
    version = registry.register(model_copy, "tiny", "v1", card())
    stored = version.path / "generation_config.copy.json"
    assert not stored.is_symlink() and stored.read_bytes() == (model_copy / "generation_config.json").read_bytes()


@pytest.mark.parametrize("kind", ["dangling", "folder", "fifo"])
def test_dangling_links_folder_links_and_fifos_are_refused(model_copy, kind):
    target = model_copy / "odd"
    if kind == "dangling":
        target.symlink_to(model_copy / "missing")
    elif kind == "folder":
        (model_copy / "sub").mkdir()
        target.symlink_to(model_copy / "sub")
    else:
        os.mkfifo(target)
    with pytest.raises(ModelLoadError, match=r"odd: (symlink to a missing file|not a regular file)"):
        validate_model_dir(model_copy)


# -- safetensors headers --


@pytest.mark.parametrize(
    ("header", "data", "message"),
    [
        (["not", "an", "object"], b"", "a JSON list, expected an object"),
        ({"w": {"dtype": "F32", "shape": [2]}}, b"\0" * 8, "lacks dtype, shape or data_offsets"),
        ({"w": {"dtype": "F32", "shape": [2], "data_offsets": ["0", "8"]}}, b"\0" * 8, "must be a non-negative integer"),
        ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4, "header lies: tensor 'w'"),
        ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
          "v": {"dtype": "F32", "shape": [1], "data_offsets": [2, 6]}}, b"\0" * 8, "overlap or leave a gap"),
        ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 64, "the file has"),
        ({"w": {"dtype": "Q9", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4, "unknown dtype"),
    ],
)
def test_malformed_safetensors_headers_are_refused_at_registration(registry, model_copy, header, data, message):
    write_safetensors(model_copy / "model.safetensors", header, data)
    with pytest.raises(ModelLoadError, match=rf"model\.safetensors: .*{message}"):
        registry.register(model_copy, "tiny", "v1", card())
    assert registry.list_ready() == []


# -- tokenizers and configs too large to be real --


def test_tokenizer_with_too_many_added_tokens_is_refused(model_copy):
    file = model_copy / "tokenizer.json"
    data = json.loads(file.read_text())
    data["added_tokens"] = [
        {"id": 10_000 + i, "content": f"<t{i}>", "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": False}
        for i in range(folder_checks.MAX_ADDED_TOKENS + 1)
    ]
    file.write_text(json.dumps(data))
    with pytest.raises(ModelLoadError, match=rf"tokenizer\.json: {folder_checks.MAX_ADDED_TOKENS + 1} added tokens"):
        validate_model_dir(model_copy)


def test_oversized_tokenizer_file_is_refused_before_parsing(model_copy, monkeypatch):
    monkeypatch.setattr(folder_checks, "MAX_TOKENIZER_BYTES", 1024)
    monkeypatch.setattr(folder_checks.json, "loads", lambda *a, **k: pytest.fail("parsed an oversized tokenizer"))
    with pytest.raises(ModelLoadError, match=r"tokenizer\.json: .* over the 0 MiB limit"):
        folder_checks.check_tokenizer(model_copy)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("num_hidden_layers", 10_000_000, "num_hidden_layers = 10000000: expected an integer in 1..1024"),
        ("vocab_size", 10**9, "vocab_size"),
        ("max_position_embeddings", 10**12, "max_position_embeddings"),
        ("num_hidden_layers", "4", "num_hidden_layers = '4'"),
        ("hidden_size", 65_536, "describes at least .* more than .* bytes of weights can hold"),
    ],
)
def test_absurd_configs_are_refused_before_loading(model_copy, key, value, message):
    file = model_copy / "config.json"
    config = json.loads(file.read_text())
    config[key] = value
    file.write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match=rf"config\.json: {message}"):
        load_model(model_copy, device="cpu")


# -- name lengths --


def test_name_and_version_lengths_keep_derived_paths_valid(registry, tiny_model_dir, make_settings):
    with pytest.raises(RegistryError, match="at most 200"):
        ModelRef("n" * 128, "v" * 128)
    version = registry.register(tiny_model_dir, "n" * 100, "v" * 99, card())
    settings = make_settings()
    for path in (layout.metrics_file(settings, version.key), layout.report_file(settings, version.key)):
        atomic_write_json(path, {"ok": True})  # its temp name is longer still
        assert path.is_file()
