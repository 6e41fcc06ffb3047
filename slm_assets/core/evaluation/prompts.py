"""Task prompts: the template filled with instruction, labels and input, then the chat template.

The template comes from the model card when it has one, else from the task
config (the caller passes the effective ``TaskConfig``, see ``effective_task``).
"""

import random
from collections.abc import Sequence

from slm_assets.config import TaskConfig
from slm_assets.core.evaluation.robustness import ORIGINAL, PromptParts, perturb


def effective_task(task: TaskConfig, card_prompt_template: str | None) -> TaskConfig:
    """The task config with the card's prompt template, when the card names one."""
    if card_prompt_template:
        return task.model_copy(update={"prompt_template": card_prompt_template})
    return task


def truncate_input(tokenizer, text: str, max_tokens: int) -> str:
    """Keep the last ``max_tokens`` tokens of ``text`` (the config's "truncated from the left")."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) <= max_tokens:
        return text
    return tokenizer.decode(ids[-max_tokens:], skip_special_tokens=True)


def build_prompt(
    tokenizer,
    task: TaskConfig,
    labels: Sequence[str] | None,
    text: str,
    variant: str | None = None,
    rng: random.Random | None = None,
    typo_rate: float = 0.05,
) -> str:
    """The full prompt for one input; ``variant`` names a robustness family (``rng`` makes it
    deterministic, see ``robustness.variant_rng``)."""
    parts = PromptParts(
        instruction=task.instruction,
        labels=tuple(labels or ()),
        input=truncate_input(tokenizer, text, task.max_input_tokens),
    )
    if variant and variant != ORIGINAL:
        if rng is None:
            raise ValueError(f"variant {variant!r} needs an rng (robustness.variant_rng) to be deterministic")
        parts = perturb(variant, parts, rng, typo_rate)
    try:
        body = task.prompt_template.format(
            instruction=parts.instruction, labels=", ".join(parts.labels), input=parts.input
        )
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"prompt template {task.prompt_template!r} is not usable: {exc!r} "
            "(placeholders allowed: {instruction}, {labels}, {input}; write literal braces as {{ }})"
        ) from exc
    if task.use_chat_template and getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": body}], tokenize=False, add_generation_prompt=True
        )
    return body
