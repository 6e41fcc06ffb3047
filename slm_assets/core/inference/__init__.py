"""Inference engines: how a registered version is run (transformers, llama.cpp, an OpenAI server).

Owns prompt rendering with the model's chat template, batched greedy generation with stops,
per-token timing and the engine's own memory figure. May import: ``core.models``.
"""
