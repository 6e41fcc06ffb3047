"""Models: registry backends (folder, MLflow) behind one protocol, safe loading, base import, fine-tune.

Owns ``<registry>/<name>/<version>/`` and its card. May import: ``core.io``, ``core.layout``,
``core.golden`` (the fine-tune reads golden_train), ``core.inference``.
"""
