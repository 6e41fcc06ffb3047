"""A deterministically slower candidate: profiling timed on a virtual clock.

Every decoding step of a model advances the virtual clock by that model's cost per step, and
the profiler's clock reads it: timings are a function of the work done, never of the machine's
load, so a 3x slower candidate measures exactly 3x on any machine, and twins measure exactly 1x.
"""

from types import SimpleNamespace

from transformers import LogitsProcessor

from slm_assets.core.profiling import runner as runner_module

STEP_NS = 1_000_000  # 1 ms per decoding step for an unslowed model


class VirtualClock:
    def __init__(self, slow: dict[str, float]):
        self.now_ns = 0
        self.slow = slow  # registry path fragment ("/name/version") -> cost multiplier

    def perf_counter_ns(self) -> int:
        return self.now_ns

    def cost_ns(self, model) -> int:
        path = str(getattr(model.config, "_name_or_path", ""))
        factor = next((f for fragment, f in self.slow.items() if fragment in path), 1.0)
        return int(STEP_NS * factor)


class _Step(LogitsProcessor):
    """Advances the virtual clock by one step's cost, then lets the profiler's clock stamp it."""

    def __init__(self, clock: VirtualClock, cost_ns: int, inner):
        self.clock, self.cost_ns, self.inner = clock, cost_ns, inner

    def __call__(self, input_ids, scores):
        self.clock.now_ns += self.cost_ns
        return self.inner(input_ids, scores) if self.inner is not None else scores


def install(monkeypatch, slow: dict[str, float]) -> VirtualClock:
    """Time every profiling run on a virtual clock; models whose path holds a key of ``slow`` cost
    that many times more per decoding step."""
    virtual = VirtualClock(slow)
    real_generate = runner_module.GenerationRunner.generate

    def generate(self, encoded, new_tokens, clock=None):
        return real_generate(self, encoded, new_tokens, _Step(virtual, virtual.cost_ns(self.model), clock))

    monkeypatch.setattr(runner_module, "time", SimpleNamespace(perf_counter_ns=virtual.perf_counter_ns))
    monkeypatch.setattr(runner_module.GenerationRunner, "generate", generate)
    return virtual
