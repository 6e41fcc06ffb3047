"""Batched greedy generation, the way lm-evaluation-harness does it.

Prompts are sorted longest first (the first batch shows at once whether memory
suffices, and rows of similar length waste little padding), left-padded,
generated greedily under ``torch.inference_mode`` in batches, cut at the first
stop sequence, then put back in their original order. A batch that raises is
retried one example at a time, so one bad example is recorded with its error
and the rest goes on.
"""

import re
import string
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm
from transformers import StoppingCriteria, StoppingCriteriaList


@dataclass(frozen=True)
class Generation:
    text: str
    """Decoded output, special tokens removed, cut before the first stop sequence."""
    output_tokens: int
    error: str | None = None


class StopOnSequences(StoppingCriteria):
    """Marks each row finished once its new tokens contain a stop string or EOS.

    Returning one flag per row lets ``generate`` stop extending finished rows and
    halt when every row is done. ``finished_at`` keeps how many tokens each row
    had produced when it finished.
    """

    def __init__(self, tokenizer, prompt_length: int, stop: Sequence[str], eos_ids: set[int]):
        self.tokenizer = tokenizer
        self.prompt_length = prompt_length
        self.stop = [s for s in stop if s]
        self.eos_ids = eos_ids
        self.finished_at: dict[int, int] = {}

    def __call__(self, input_ids: torch.Tensor, scores, **kwargs) -> torch.Tensor:
        new_tokens = input_ids.shape[1] - self.prompt_length
        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        last = input_ids[:, -1].tolist()
        for row in range(input_ids.shape[0]):
            if row in self.finished_at:
                done[row] = True
                continue
            hit = last[row] in self.eos_ids
            if not hit and self.stop:
                tail = self.tokenizer.decode(input_ids[row, self.prompt_length :], skip_special_tokens=True)
                hit = any(s in tail for s in self.stop)
            if hit:
                self.finished_at[row] = new_tokens
                done[row] = True
        return done


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    cut = len(text)
    for s in stop:
        if s:
            at = text.find(s)
            if at != -1:
                cut = min(cut, at)
    return text[:cut]


def _eos_ids(model, tokenizer) -> set[int]:
    ids = model.generation_config.eos_token_id
    found = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
    if tokenizer.eos_token_id is not None:
        found.add(tokenizer.eos_token_id)
    return found


def _generate_one_batch(loaded, token_lists: list[list[int]], max_new_tokens: int, stop: Sequence[str]) -> list[Generation]:
    model, tokenizer = loaded.model, loaded.tokenizer
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    width = max(len(t) for t in token_lists)
    input_ids = torch.full((len(token_lists), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(token_lists), width), dtype=torch.long)
    for row, tokens in enumerate(token_lists):  # left padding: every prompt ends at the same column
        input_ids[row, width - len(tokens) :] = torch.tensor(tokens, dtype=torch.long)
        attention[row, width - len(tokens) :] = 1
    eos = _eos_ids(model, tokenizer)
    criterion = StopOnSequences(tokenizer, width, stop, eos)
    with torch.inference_mode():
        out = model.generate(
            input_ids=input_ids.to(loaded.device),
            attention_mask=attention.to(loaded.device),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            num_beams=1,
            temperature=None,
            top_p=None,
            top_k=None,
            pad_token_id=pad_id,
            stopping_criteria=StoppingCriteriaList([criterion]),
        )
    results = []
    for row in range(len(token_lists)):
        produced = criterion.finished_at.get(row, out.shape[1] - width)
        text = tokenizer.decode(out[row, width : width + produced], skip_special_tokens=True)
        results.append(Generation(text=cut_at_stop(text, stop), output_tokens=produced))
    return results


def generate_batched(
    loaded,
    prompts: Sequence[str],
    max_new_tokens: int,
    stop: Sequence[str],
    batch_size: int,
    add_special_tokens: bool = False,
    on_batch: Callable[[list[int], list[Generation]], None] | None = None,
    progress: Callable[[int, int, float], None] | None = None,
    show_progress: bool = True,
) -> list[Generation]:
    """Greedy outputs for ``prompts``, in their order.

    ``on_batch(indices, generations)`` runs after each batch (indices into
    ``prompts``), e.g. to commit results to the prediction cache;
    ``progress(done, total, seconds)`` reports progress (e.g. to Dagster's log).
    ``add_special_tokens`` is off by default: chat templates already carry them.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if not prompts:
        return []
    tokenizer = loaded.tokenizer
    encoded = tokenizer(list(prompts), add_special_tokens=add_special_tokens)["input_ids"]
    order = sorted(range(len(prompts)), key=lambda i: -len(encoded[i]))  # stable: ties keep input order
    results: list[Generation | None] = [None] * len(prompts)
    started = time.perf_counter()
    bar = tqdm(total=len(prompts), desc="generate", unit="ex", disable=not show_progress)
    try:
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            batch = _run_batch_or_each(loaded, [encoded[i] for i in indices], max_new_tokens, stop)
            for i, generation in zip(indices, batch, strict=True):
                results[i] = generation
            if on_batch is not None:
                on_batch(indices, batch)
            bar.update(len(indices))
            if progress is not None:
                progress(min(start + batch_size, len(order)), len(order), time.perf_counter() - started)
    finally:
        bar.close()
    return results  # type: ignore[return-value]


def _run_batch_or_each(loaded, token_lists, max_new_tokens, stop) -> list[Generation]:
    try:
        return _generate_one_batch(loaded, token_lists, max_new_tokens, stop)
    except Exception:  # noqa: BLE001 - the per-example retry below records the cause
        return [_one_or_error(loaded, tokens, max_new_tokens, stop) for tokens in token_lists]


def _one_or_error(loaded, tokens, max_new_tokens, stop) -> Generation:
    try:
        return _generate_one_batch(loaded, [tokens], max_new_tokens, stop)[0]
    except Exception as exc:  # noqa: BLE001 - recorded on the example, the run goes on
        return Generation(text="", output_tokens=0, error=f"{type(exc).__name__}: {exc}")


# ----------------------------------------------------------------- output normalisation

_EDGE_PUNCT = string.punctuation + "“”‘’«»"


def clean_output(raw: str) -> str:
    """First non-empty line, stripped of surrounding quotes and trailing punctuation."""
    line = next((ln.strip() for ln in raw.strip().splitlines() if ln.strip()), "")
    line = line.strip("\"'`“”‘’«» ")
    return line.rstrip(".,;:!?" + " ").strip()


def match_label(raw: str, labels: Sequence[str]) -> str | None:
    """The label the output names: exact, then case-insensitive (spaces/underscores alike)."""
    cleaned = clean_output(raw)
    if cleaned in labels:
        return cleaned
    folded = _fold(cleaned)
    for label in labels:
        if _fold(label) == folded:
            return label
    return None


def _fold(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip(_EDGE_PUNCT).lower()).strip()
