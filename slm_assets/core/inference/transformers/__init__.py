"""The transformers engine (in process, torch): any Hugging Face ``AutoModelForCausalLM`` folder."""

from slm_assets.core.inference.transformers.engine import TransformersConfig, TransformersEngine

ENGINE = TransformersEngine
EXTRA = None  # torch and transformers are core dependencies
__all__ = ["ENGINE", "EXTRA", "TransformersConfig", "TransformersEngine"]
