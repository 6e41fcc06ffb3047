"""A GGUF registers as it is (a file, or a folder holding one), and every broken one is refused
with an error naming the version and the cause."""

import shutil

import pytest

from slm_assets.cli import main
from slm_assets.core.models.registry import FolderRegistry, content_digest
from slm_assets.core.models.versions import ModelCard, RegistryError
from slm_assets.testing_gguf import write_gguf


@pytest.fixture
def registry(tmp_path):
    return FolderRegistry(tmp_path / "registry")


def test_a_gguf_file_registers_as_it_is_on_llama_cpp(registry, tiny_gguf):
    version = registry.register(tiny_gguf, "tiny", "q", ModelCard(task="t"))
    assert version.card.engine == "llama_cpp"
    assert sorted(p.name for p in version.path.iterdir()) == ["card.json", "tiny.gguf"]
    assert (version.path / "tiny.gguf").read_bytes() == tiny_gguf.read_bytes()
    assert version.digest == content_digest(tiny_gguf) == content_digest(version.path)
    version.verify()
    assert registry.get("tiny@q").card.engine == "llama_cpp"
    # The same file again is a no-op.
    assert registry.register(tiny_gguf, "tiny", "q", ModelCard(task="t")).digest == version.digest


def test_a_folder_holding_one_gguf_registers_with_what_lies_beside_it(registry, tiny_gguf, tmp_path):
    folder = tmp_path / "release"
    folder.mkdir()
    shutil.copy(tiny_gguf, folder / "model.Q.gguf")
    (folder / "README.md").write_text("notes\n")
    version = registry.register(folder, "tiny", "folder", ModelCard(task="t", engine_options={"n_threads": 1}))
    assert sorted(p.name for p in version.path.iterdir()) == ["README.md", "card.json", "model.Q.gguf"]
    assert version.card.engine == "llama_cpp" and version.card.engine_options == {"n_threads": 1}


def test_a_folder_with_two_ggufs_is_refused(registry, tiny_gguf, tmp_path):
    folder = tmp_path / "two"
    folder.mkdir()
    shutil.copy(tiny_gguf, folder / "a.gguf")
    shutil.copy(tiny_gguf, folder / "b.gguf")
    with pytest.raises(RegistryError, match=r"tiny@two: .*holds 2 GGUF files \(a.gguf, b.gguf\)"):
        registry.register(folder, "tiny", "two", ModelCard(task="t"))


def test_a_gguf_card_naming_transformers_is_refused(registry, tiny_gguf):
    with pytest.raises(RegistryError, match="tiny@tf: .*must name engine llama_cpp"):
        registry.register(tiny_gguf, "tiny", "tf", ModelCard(task="t", engine="transformers"))


def _cut(src, dest, size):
    dest.write_bytes(src.read_bytes()[:size])
    return dest


@pytest.mark.parametrize(
    ("make", "cause"),
    [
        (lambda src, d: _cut(src, d / "cut.gguf", src.stat().st_size - 100), r"truncated GGUF \(.* tensors end at"),
        (lambda src, d: _cut(src, d / "cut.gguf", 2000), "truncated or malformed GGUF"),
        (lambda src, d: _cut(src, d / "cut.gguf", 6), r"truncated GGUF \(6 bytes, no header\)"),
        (lambda src, d: (d / "x.gguf").write_bytes(b"GGML" + src.read_bytes()[4:]) and d / "x.gguf",
         "not a GGUF file"),
        (lambda src, d: (d / "v.gguf").write_bytes(b"GGUF\x09\x00\x00\x00" + src.read_bytes()[8:]) and d / "v.gguf",
         "unsupported GGUF format version 9"),
        (lambda src, d: (d / "g.gguf").write_bytes(src.read_bytes()[:8] + b"\xff" * 64 + src.read_bytes()[72:])
         and d / "g.gguf", "truncated or malformed GGUF"),
    ],
    ids=["data-cut", "header-cut", "no-header", "magic", "format-version", "garbled-header"],
)
def test_broken_ggufs_are_refused_naming_version_and_cause(registry, tiny_gguf, tmp_path, make, cause):
    bad = make(tiny_gguf, tmp_path)
    with pytest.raises(RegistryError, match=f"tiny@bad: {bad}: {cause}"):
        registry.register(bad, "tiny", "bad", ModelCard(task="t"))
    assert not (registry.root / "tiny" / "bad").exists()


def test_an_architecture_llama_cpp_does_not_know_is_refused(registry, tiny_gguf, tmp_path):
    alien = write_gguf(tiny_gguf.parent.parent / "hf", tmp_path / "alien.gguf", architecture="notanarch")
    with pytest.raises(RegistryError, match="tiny@alien: .*architecture 'notanarch' is not one llama.cpp knows"):
        registry.register(alien, "tiny", "alien", ModelCard(task="t"))


def test_the_engine_names_version_and_cause_for_a_file_llama_cpp_refuses(tiny_gguf, tmp_path):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (extra llama-cpp)")
    from types import SimpleNamespace

    from slm_assets.core.inference.base import EngineError
    from slm_assets.core.inference.registry import load_engine

    for name, cause in [("alien", "architecture 'notanarch' is not one llama.cpp knows"), ("cut", "truncated GGUF")]:
        folder = tmp_path / name
        folder.mkdir()
        if name == "alien":
            write_gguf(tiny_gguf.parent.parent / "hf", folder / "m.gguf", architecture="notanarch")
        else:
            _cut(tiny_gguf, folder / "m.gguf", tiny_gguf.stat().st_size - 100)
        version = SimpleNamespace(key=f"tiny@{name}", path=folder, card=ModelCard(task="t", engine="llama_cpp"))
        with pytest.raises(EngineError, match=f"tiny@{name}: llama.cpp cannot load m.gguf: .*{cause}"):
            load_engine(version)


def test_cli_registers_a_gguf_and_reports_a_broken_one(make_settings, tiny_gguf, tmp_path, capsys):
    settings = make_settings()
    args = ["--config", str(settings.config_path), "register"]
    assert main([*args, str(tiny_gguf), "--name", "tiny", "--version", "g1"]) == 0
    assert "registered tiny@g1" in capsys.readouterr().out
    bad = _cut(tiny_gguf, tmp_path / "bad.gguf", 2000)
    assert main([*args, str(bad), "--name", "tiny", "--version", "g2"]) == 2
    assert f"tiny@g2: {bad}: truncated or malformed GGUF" in capsys.readouterr().err
