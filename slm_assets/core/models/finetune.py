"""The reference fine-tune: the base SLM trained on ``golden_train`` to answer with the label.

Data isolation is the point: only the ``train`` split (for gradients) and the
``validation`` split (for early stopping and the best checkpoint) are ever
opened, through ``golden_store.load_split``; ``golden_test`` is never read, so
the evaluation of the result stays honest. The card of the new version names
its base and its training data, so evaluation's contamination check runs.

Prompts are built by ``prompts.build_prompt`` exactly as evaluation builds them
(same effective task, same tokenisation without added special tokens); the
loss covers only the answer tokens: the label followed by the EOS token, which
teaches the model to stop where evaluation cuts.
"""

import random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from slm_assets.config import Settings, TaskConfig
from slm_assets.core.golden import store as golden_store
from slm_assets.core.inference.transformers.decoder import pad_token_id
from slm_assets.core.models.loading import load_model
from slm_assets.core.evaluation.prompts import build_prompt, effective_task
from slm_assets.core.models.registry import get_registry
from slm_assets.core.models.versions import ModelCard, ModelRef
from slm_assets.core.schema import INPUT, REFERENCE
from slm_assets.core import layout

IGNORE_INDEX = -100  # label id the loss skips (prompt and padding tokens)
TRAINING_SPLITS = ("train", "validation")  # the only splits a fine-tune may open


class FinetuneError(RuntimeError):
    """A fine-tune that cannot run; the message names the split, row or model at fault."""


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]


@dataclass
class FinetuneResult:
    ref: str
    base: str
    golden_version: str
    splits_read: list[str]
    train_examples: int
    validation_examples: int
    truncated_prompts: int
    steps_run: int
    best_step: int
    initial_validation_loss: float
    best_validation_loss: float
    stopped_early: bool
    seconds: float
    history: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def encode_examples(
    frame: pd.DataFrame, tokenizer, task: TaskConfig, labels: list[str] | None, max_length: int, split: str
) -> tuple[list[Example], int]:
    """Token ids and answer-only labels for each labelled row; returns (examples, truncated count).

    A prompt too long for ``max_length`` loses input tokens from the left, the
    same rule evaluation applies (``task.max_input_tokens``), never its instruction.
    """
    if REFERENCE not in frame or INPUT not in frame:
        raise FinetuneError(f"golden {split} split lacks the {INPUT!r}/{REFERENCE!r} columns")
    unlabelled = frame[REFERENCE].isna()
    if unlabelled.any():
        row = int(unlabelled.to_numpy().nonzero()[0][0])
        raise FinetuneError(f"golden {split} split row {row}: field {REFERENCE!r} is empty (golden rows are labelled)")
    examples, truncated = [], 0
    for text, reference in zip(frame[INPUT], frame[REFERENCE], strict=True):
        answer = tokenizer(str(reference) + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
        prompt = tokenizer(build_prompt(tokenizer, task, labels, text), add_special_tokens=False)["input_ids"]
        excess = len(prompt) + len(answer) - max_length
        if excess > 0:
            truncated += 1
            shorter = task.model_copy(update={"max_input_tokens": max(1, task.max_input_tokens - excess)})
            short_text = build_prompt(tokenizer, shorter, labels, text)
            prompt = tokenizer(short_text, add_special_tokens=False)["input_ids"]
        examples.append(Example(prompt + answer, [IGNORE_INDEX] * len(prompt) + answer))
    return examples, truncated


def collate(examples: list[Example], pad_id: int, device: str):
    import torch

    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, e in enumerate(examples):  # right padding: positions stay 0..n like at inference
        ids[row, : len(e.input_ids)] = torch.tensor(e.input_ids)
        labels[row, : len(e.labels)] = torch.tensor(e.labels)
        mask[row, : len(e.input_ids)] = 1
    return ids.to(device), mask.to(device), labels.to(device)


def answer_loss(model, batch) -> tuple["torch.Tensor", int]:  # noqa: F821
    """Summed cross-entropy over answer tokens and their count (so batches weigh by tokens)."""
    import torch.nn.functional as F

    ids, mask, labels = batch
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
    targets = labels[:, 1:]
    total = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum"
    )
    return total, int((targets != IGNORE_INDEX).sum())


def validation_loss(model, examples: list[Example], batch_size: int, pad_id: int, device: str) -> float:
    import torch

    model.eval()
    total, tokens = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(examples), batch_size):
            loss, n = answer_loss(model, collate(examples[start : start + batch_size], pad_id, device))
            total += float(loss)
            tokens += n
    model.train()
    return total / max(tokens, 1)


def default_version(golden_version: str) -> str:
    return f"ft-{golden_version}-{datetime.now(UTC).strftime('%Y%m%d%H%M%S')}"


def finetune(
    settings: Settings,
    base: str,
    golden_version: str | None = None,
    steps: int | None = None,
    version: str | None = None,
    log: Callable[[str], None] = print,
    show_progress: bool = True,
) -> FinetuneResult:
    """Fine-tune ``base`` (``NAME@VERSION``) on a golden version's train split and register it.

    The result is registered under the base's name (so ``production`` of that name
    is its baseline) as ``version`` (default ``ft-<golden>-<UTC time>``).
    """
    import torch

    cfg = settings.finetune
    steps = steps or cfg.steps
    golden_version = golden_version or settings.golden.version
    registry = get_registry(settings)
    base_ref = ModelRef.parse(base)
    base_version = registry.get(base_ref)
    if base_version.card.engine != "transformers":
        raise FinetuneError(f"{base_ref.key} runs on the {base_version.card.engine} engine: a fine-tune needs a "
                            "Hugging Face (safetensors) base; register one and fine-tune that")
    version = version or default_version(golden_version)
    target = ModelRef.parse(f"{base_ref.name}@{version}")
    started = time.perf_counter()

    splits_read: list[str] = []

    def read(split: str) -> pd.DataFrame:
        if split not in TRAINING_SPLITS:  # the guarantee this module exists to keep
            raise FinetuneError(f"a fine-tune may only read {TRAINING_SPLITS}, not {split!r}")
        splits_read.append(split)
        return golden_store.load_split(settings, split, version=golden_version)

    train_frame, validation_frame = read("train"), read("validation")
    if train_frame.empty:
        raise FinetuneError(f"golden {golden_version} train split is empty: nothing to fine-tune on")

    loaded = load_model(base_version, device=cfg.device)
    model, tokenizer, device = loaded.model, loaded.tokenizer, loaded.device
    if model.dtype != torch.float32:
        model.float()  # AdamW on half-precision weights loses the small updates
    if tokenizer.eos_token is None:
        raise FinetuneError(f"{base_version.path}: the tokenizer has no EOS token to end answers with")
    task = effective_task(settings.task, base_version.card.prompt_template)
    labels = settings.task_labels()
    train, truncated = encode_examples(train_frame, tokenizer, task, labels, cfg.max_length, "train")
    validation, truncated_val = encode_examples(
        validation_frame.sample(frac=1.0, random_state=cfg.seed).head(cfg.validation_examples),
        tokenizer, task, labels, cfg.max_length, "validation",
    )
    log(
        f"fine-tuning {base_ref.key} on golden {golden_version}: {len(train)} train / {len(validation)} validation "
        f"examples, {steps} steps of batch {cfg.batch_size} on {device}"
    )

    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    warmup = int(steps * cfg.warmup_fraction)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / (warmup + 1) if s < warmup else max(0.0, (steps - s) / max(1, steps - warmup))
    )
    pad_id = pad_token_id(tokenizer)  # EOS when the tokenizer has no pad token
    evaluate = (lambda: validation_loss(model, validation, cfg.batch_size, pad_id, device)) if validation else None
    initial = evaluate() if evaluate else float("nan")
    best_loss, best_step, best_state, stale = initial, 0, None, 0
    history = [{"step": 0, "validation_loss": initial}]
    order: list[int] = []
    model.train()
    bar = tqdm(range(1, steps + 1), desc="finetune", unit="step", disable=not show_progress)
    step = 0
    for step in bar:
        if len(order) < cfg.batch_size:
            epoch = list(range(len(train)))
            rng.shuffle(epoch)
            order.extend(epoch)
        batch, order = [train[i] for i in order[: cfg.batch_size]], order[cfg.batch_size :]
        loss_sum, tokens = answer_loss(model, collate(batch, pad_id, device))
        loss = loss_sum / max(tokens, 1)
        loss.backward()
        train_loss = loss.item()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        bar.set_postfix(loss=f"{train_loss:.3f}")
        if evaluate and (step % cfg.eval_every == 0 or step == steps):
            val = evaluate()
            history.append({"step": step, "train_loss": train_loss, "validation_loss": val})
            log(f"step {step}/{steps}: train loss {train_loss:.4f}, validation loss {val:.4f}")
            if val < best_loss:
                best_loss, best_step, stale = val, step, 0
                best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            else:
                stale += 1
                if stale >= cfg.patience:
                    log(f"early stop at step {step}: no better validation loss for {stale} evaluations")
                    break
    bar.close()
    stopped_early = step < steps
    if best_state is not None:
        model.load_state_dict(best_state)
    elif evaluate:
        log("warning: no step beat the base model's validation loss; registering the base weights")

    work = Path(tempfile.mkdtemp(prefix=".finetune.", dir=_ensure(layout.cache_dir(settings))))
    try:
        model.eval()
        model.save_pretrained(work, safe_serialization=True)
        tokenizer.save_pretrained(work)
        card = ModelCard(
            task=settings.task.name,
            prompt_template=base_version.card.prompt_template,
            # Evaluated and profiled the way its base is served (e.g. the base's dtype).
            engine_options=base_version.card.engine_options,
            base_model=base_ref.key,
            training_data={"golden_version": golden_version, "split": "train"},
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            description=(
                f"reference fine-tune of {base_ref.key} on golden {golden_version} train "
                f"({len(train)} examples, best step {best_step}/{step}, validation loss {best_loss:.4f})"
            ),
        )
        registry.register(work, target.name, target.version, card)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = FinetuneResult(
        ref=target.key,
        base=base_ref.key,
        golden_version=golden_version,
        splits_read=splits_read,
        train_examples=len(train),
        validation_examples=len(validation),
        truncated_prompts=truncated + truncated_val,
        steps_run=step,
        best_step=best_step,
        initial_validation_loss=initial,
        best_validation_loss=best_loss,
        stopped_early=stopped_early,
        seconds=time.perf_counter() - started,
        history=history,
    )
    log(f"registered {target.key} (validation loss {initial:.4f} -> {best_loss:.4f}) in {result.seconds:.0f} s")
    return result


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
