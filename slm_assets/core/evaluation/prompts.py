"""Task prompts: the template filled with instruction, labels and input, then the chat template.

The template comes from the model card when it has one, else from the task
config (the caller passes the effective ``TaskConfig``, see ``effective_task``).
"""

import random
from collections.abc import Sequence

from slm_assets.config import TaskConfig
from slm_assets.core.inference.chat import PromptRenderer, TokenizerPrompts
from slm_assets.core.evaluation.robustness import ORIGINAL, PromptParts, perturb


def effective_task(task: TaskConfig, card_prompt_template: str | None) -> TaskConfig:
    """The task config with the card's prompt template, when the card names one."""
    if card_prompt_template:
        return task.model_copy(update={"prompt_template": card_prompt_template})
    return task


def as_renderer(renderer_or_tokenizer) -> PromptRenderer:
    """An engine as it is; a bare Hugging Face tokenizer wrapped (the fine-tune, tests)."""
    if hasattr(renderer_or_tokenizer, "truncate_input"):
        return renderer_or_tokenizer
    return TokenizerPrompts(renderer_or_tokenizer)


def build_prompt(
    renderer,
    task: TaskConfig,
    labels: Sequence[str] | None,
    text: str,
    variant: str | None = None,
    rng: random.Random | None = None,
    typo_rate: float = 0.05,
) -> str:
    """The full prompt for one input; ``variant`` names a robustness family (``rng`` makes it
    deterministic, see ``robustness.variant_rng``). ``renderer``: an engine (or a tokenizer)."""
    renderer = as_renderer(renderer)
    parts = PromptParts(
        instruction=task.instruction,
        labels=tuple(labels or ()),
        input=renderer.truncate_input(text, task.max_input_tokens),
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
    if task.use_chat_template and renderer.has_chat_template:
        return renderer.apply_chat_template([{"role": "user", "content": body}])
    return body
