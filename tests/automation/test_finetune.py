"""The reference fine-tune: trains on golden train only, stops on validation, registers a carded version."""

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from slm_assets.cli import main as cli_main
from slm_assets.core.golden import store as golden_store
from slm_assets.core.models.finetune import IGNORE_INDEX, FinetuneError, encode_examples, finetune
from slm_assets.core.models.registry import get_registry
from slm_assets.core.models.versions import ModelCard
from slm_assets.core import layout
from tests.support.log_rows import log_frame

LABELS = ["refund", "login", "order"]
TEXT = {"refund": "i want my money back for the charge", "login": "cannot login to my account password", "order": "where is my order delivery status"}


def golden_frame(n: int, offset: int) -> pd.DataFrame:
    rows = []
    for i in range(offset, offset + n):
        label = LABELS[i % 3]
        rows.append(
            {"example_id": f"ex-{i}", "input": f"{TEXT[label]} number {i}", "reference": label,
             "timestamp": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=i), "source_line": i + 1}
        )
    return log_frame(rows)


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


@pytest.fixture
def setup(make_settings, tiny_model_dir):
    settings = make_settings(
        task={"labels": LABELS, "max_input_tokens": 64},
        finetune={"batch_size": 6, "learning_rate": 3e-3, "eval_every": 5, "validation_examples": 12, "max_length": 256},
    )
    golden_store.write_golden(
        settings, {"train": golden_frame(36, 0), "validation": golden_frame(12, 100), "test": golden_frame(12, 200)}, "fp"
    )
    get_registry(settings).register(tiny_model_dir, "tiny", "base", ModelCard(task="support-intent-routing"))
    return settings


def test_finetune_never_reads_test_and_registers_a_carded_version(setup, monkeypatch):
    settings = setup
    opened = []
    real_load_split = golden_store.load_split

    def guarded(settings_, split, version=None):
        opened.append(split)
        if split == "test":
            raise AssertionError("the fine-tune opened golden_test")
        return real_load_split(settings_, split, version)

    monkeypatch.setattr(golden_store, "load_split", guarded)
    # And the test file is gone altogether: nothing can read it by another road.
    golden_dir = layout.golden_dir(settings)
    golden_dir.chmod(0o755)
    (golden_dir / "test.parquet").unlink()

    result = finetune(settings, "tiny@base", golden_version="v1", steps=30, version="ft1", show_progress=False)

    assert opened == ["train", "validation"] and result.splits_read == ["train", "validation"]
    assert result.train_examples == 36 and result.validation_examples == 12 and result.truncated_prompts == 0
    assert result.best_validation_loss < result.initial_validation_loss * 0.8  # it learned the labels
    assert 0 < result.best_step <= result.steps_run <= 30
    version = get_registry(settings).get("tiny@ft1")
    assert version.card.base_model == "tiny@base"
    assert version.card.training_data.golden_version == "v1" and version.card.training_data.split == "train"
    assert version.card.task == "support-intent-routing" and version.card.created_at is not None
    assert version.digest != get_registry(settings).get("tiny@base").digest


def test_answer_only_labels_and_left_truncation_keep_the_instruction(setup):
    from slm_assets.core.models.loading import load_model
    from slm_assets.core.evaluation.prompts import build_prompt

    settings = setup
    loaded = load_model(get_registry(settings).get("tiny@base"), device="cpu")
    tok = loaded.tokenizer
    frame = golden_frame(3, 0)
    frame.loc[2, "input"] = "very long words " * 200
    longest = max(len(tok(build_prompt(tok, settings.task, LABELS, t))["input_ids"]) for t in frame["input"][:2])
    limit = longest + 8
    examples, truncated = encode_examples(frame, tok, settings.task, LABELS, max_length=limit, split="train")
    assert truncated == 1 and all(len(e.input_ids) <= limit for e in examples)
    first = examples[0]
    answer = [t for t, label in zip(first.input_ids, first.labels, strict=True) if label != IGNORE_INDEX]
    assert tok.decode(answer) == "refund" + tok.eos_token
    prompt_ids = first.input_ids[: len(first.input_ids) - len(answer)]
    assert tok.decode(prompt_ids) == build_prompt(tok, settings.task, LABELS, frame.loc[0, "input"])
    assert settings.task.instruction in tok.decode(examples[2].input_ids)


def test_unlabelled_golden_row_is_named(setup):
    from slm_assets.core.models.loading import load_model

    frame = golden_frame(3, 0)
    frame.loc[1, "reference"] = None
    tok = load_model(get_registry(setup).get("tiny@base"), device="cpu").tokenizer
    with pytest.raises(FinetuneError, match="train split row 1: field 'reference' is empty"):
        encode_examples(frame, tok, setup.task, LABELS, 512, "train")


def test_cli_finetunes_then_reuses_the_version(setup, tmp_path, capsys):
    config = str(setup.config_path)
    summary = tmp_path / "ft.json"
    args = ["--config", config, "finetune", "--base", "tiny@base", "--golden", "v1", "--steps", "2", "--version", "ft2"]
    assert cli_main([*args, "--json", str(summary)]) == 0
    assert json.loads(summary.read_text())["ref"] == "tiny@ft2"
    assert cli_main(args) == 0
    assert "already registered" in capsys.readouterr().out
    assert cli_main(["--config", config, "finetune", "--base", "nope@base"]) == 2
    assert "nope@base is not registered" in capsys.readouterr().err


@pytest.mark.slow
def test_finetune_real_smollm2_a_few_steps(make_settings):
    from slm_assets.core.models.base_model import BASE_REF, import_base_model

    settings = make_settings(
        task={"labels": LABELS},
        finetune={"batch_size": 2, "eval_every": 2, "validation_examples": 4, "max_length": 160, "learning_rate": 5e-5},
    )
    golden_store.write_golden(
        settings, {"train": golden_frame(24, 0), "validation": golden_frame(8, 100), "test": golden_frame(8, 200)}, "fp"
    )
    import_base_model(settings, progress=lambda message: None)
    result = finetune(settings, BASE_REF.key, golden_version="v1", steps=2, version="ft-slow", show_progress=False)
    assert result.splits_read == ["train", "validation"] and result.truncated_prompts == 0
    assert result.best_validation_loss < result.initial_validation_loss  # the answer format is learnt fast
    card = get_registry(settings).get(f"{BASE_REF.name}@ft-slow").card
    assert card.base_model == BASE_REF.key and card.training_data.split == "train"
