"""The llama.cpp engine (in process, llama-cpp-python): a GGUF version as it is deployed.

Optional: ``pip install -e '.[llama-cpp]'`` (``make install`` builds a CPU-only wheel once and caches it).
"""

from slm_assets.core.inference.llama_cpp.engine import LlamaCppConfig, LlamaCppEngine

ENGINE = LlamaCppEngine
EXTRA = "llama-cpp"
__all__ = ["ENGINE", "EXTRA", "LlamaCppConfig", "LlamaCppEngine"]
