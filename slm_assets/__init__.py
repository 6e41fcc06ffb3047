"""slm_assets: frozen golden sets from production logs, and a regression gate for SLM versions."""

__version__ = "0.1.0"
