"""A deterministically slower candidate: profiling timed on a virtual clock.

Every engine handed out by the engine cache is wrapped: its ``generate_fixed`` does the real work,
then reports timestamps from a virtual clock that advances by the version's cost per decoding
step. Timings are a function of the work done, never of the machine's load: a 3x slower
candidate measures exactly 3x on any machine, and twins measure exactly 1x.
"""

from slm_assets.core.inference.base import TimedGeneration
from slm_assets.core.inference.engine_cache import EngineCache

STEP_NS = 1_000_000  # 1 ms per decoding step for an unslowed version


class VirtualClock:
    def __init__(self):
        self.now_ns = 0


class VirtualTimeEngine:
    """An engine whose fixed-length generations take ``factor`` virtual milliseconds per step."""

    def __init__(self, inner, clock: VirtualClock, factor: float):
        self.inner, self.clock, self.step_ns = inner, clock, int(STEP_NS * factor)

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def generate_fixed(self, prompts, *, new_tokens, timed=False):
        runs = self.inner.generate_fixed(prompts, new_tokens=new_tokens, timed=timed)
        out = []
        for run in runs:
            start = self.clock.now_ns
            stamps = tuple(start + (k + 1) * self.step_ns for k in range(new_tokens)) if timed else ()
            self.clock.now_ns = start + new_tokens * self.step_ns
            out.append(TimedGeneration(start, self.clock.now_ns, run.output_tokens, stamps))
        return out


def install(monkeypatch, slow: dict[str, float]) -> VirtualClock:
    """Profile every version on a virtual clock; versions keyed in ``slow`` (``name@version``)
    cost that many times more per decoding step."""
    clock = VirtualClock()
    real_get = EngineCache.get

    def get(self, version, defaults=None, **overrides):
        engine = real_get(self, version, defaults, **overrides)
        return VirtualTimeEngine(engine, clock, slow.get(version.key, 1.0))

    monkeypatch.setattr(EngineCache, "get", get)
    return clock
