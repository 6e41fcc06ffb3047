"""The OpenAI-compatible server engine (standard library HTTP): a version served elsewhere.

Nothing is contacted unless a card's ``engine_options`` set ``base_url``.
"""

from slm_assets.core.inference.openai.engine import OpenAIConfig, OpenAIEngine

ENGINE = OpenAIEngine
EXTRA = None  # the standard library is enough
__all__ = ["ENGINE", "EXTRA", "OpenAIConfig", "OpenAIEngine"]
