"""Prompt rendering over a Hugging Face tokenizer: the ``PromptRenderer`` of the transformers
engine, and of the fine-tune, which trains on prompts rendered exactly as evaluation renders them."""

from typing import Protocol


class PromptRenderer(Protocol):
    """What ``evaluation.prompts.build_prompt`` needs: every ``Engine`` is one."""

    @property
    def has_chat_template(self) -> bool: ...

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str: ...

    def truncate_input(self, text: str, max_tokens: int) -> str: ...


class TokenizerPrompts:
    """A ``PromptRenderer`` over a tokenizer (no torch needed)."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def truncate_input(self, text: str, max_tokens: int) -> str:
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) <= max_tokens:
            return text
        return self.tokenizer.decode(ids[-max_tokens:], skip_special_tokens=True)
