"""The real SmolLM2-135M-Instruct Q4_1 GGUF as it ships: registered unconverted, on llama.cpp in
process and behind llama-cpp-python's server."""

from types import SimpleNamespace

import pytest

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make install builds it: extra llama-cpp)")

from slm_assets.core.inference.registry import load_engine  # noqa: E402
from slm_assets.core.models.base_model import BASE_GGUF_REF, BASE_REF, BaseModelError, find_gguf  # noqa: E402
from slm_assets.core.models.base_model import import_base_model  # noqa: E402
from slm_assets.core.models.registry import get_registry  # noqa: E402
from slm_assets.core.models.versions import ModelCard  # noqa: E402

pytestmark = pytest.mark.slow
QUESTIONS = ["I was charged twice for my card payment", "How do I reset my password?", "Where is my parcel?",
             "Cancel my subscription please", "The app crashes when I log in", "Can I change my address?",
             "My refund has not arrived", "What is the exchange rate fee?", "I lost my card"]
PROMPT = "Classify the request into one of: billing, login, delivery, account. Answer with the label.\n\n{q}"


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    try:
        find_gguf()
    except BaseModelError as exc:
        pytest.skip(str(exc))
    from slm_assets.config import load_settings

    root = tmp_path_factory.mktemp("smollm2-gguf")
    (root / "config.yaml").write_text(f"data_dir: {root / 'data'}\n", encoding="utf-8")
    settings = load_settings(root / "config.yaml")
    import_base_model(settings, set_production_alias=False, progress=lambda m: None)
    registry = get_registry(settings)
    return registry.get(BASE_REF), registry.get(BASE_GGUF_REF)


@pytest.fixture(scope="module")
def q4(imported):
    with load_engine(imported[1], n_threads=2) as engine:
        yield engine


def messages(q: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": PROMPT.format(q=q)}]


def test_the_shipped_gguf_is_registered_unconverted_with_its_facts(imported, q4):
    f32, gguf = imported
    assert gguf.card.engine == "llama_cpp" and [p.name for p in gguf.path.glob("*.gguf")] == [find_gguf().name]
    assert (gguf.path / find_gguf().name).stat().st_size == find_gguf().stat().st_size
    facts = q4.facts()
    assert (facts.format, facts.precision, facts.details["architecture"]) == ("gguf", "Q4_1", "llama")
    assert 80e6 < facts.weight_bytes < 110e6 and 130e6 < facts.parameters < 140e6
    # The GGUF's own chat template renders what the float32 conversion's tokenizer renders.
    with load_engine(f32, defaults={"device": "cpu"}) as tf:
        assert q4.apply_chat_template(messages("hi")) == tf.apply_chat_template(messages("hi"))


def test_answers_are_deterministic_across_batch_sizes(q4):
    prompts = [q4.apply_chat_template(messages(q)) for q in QUESTIONS]
    one = q4.generate_until(prompts, max_new_tokens=6, stop=["\n"], batch_size=1)
    eight = q4.generate_until(prompts, max_new_tokens=6, stop=["\n"], batch_size=8)
    assert [g.error for g in one] == [None] * len(QUESTIONS)
    assert [g.text for g in eight] == [g.text for g in one] and any(g.text.strip() for g in one)


def test_the_server_engine_answers_what_the_engine_answers_in_process(imported, q4):
    from slm_assets.testing_gguf import llama_server

    gguf = next(imported[1].path.glob("*.gguf"))
    expected = q4.generate_until([q4.apply_chat_template(messages(q)) for q in QUESTIONS[:4]], max_new_tokens=6,
                                 stop=[], batch_size=4)
    with llama_server(gguf, alias="smollm2", threads=2) as url:
        card = ModelCard(task="t", engine="openai",
                         engine_options={"base_url": url, "model": "smollm2", "extra_body": {"repeat_penalty": 1.0}})
        with load_engine(SimpleNamespace(key="smollm2@served", path=None, card=card)) as remote:
            got = remote.generate_until([remote.apply_chat_template(messages(q)) for q in QUESTIONS[:4]],
                                        max_new_tokens=6, stop=[], batch_size=2)
    assert [g.text for g in got] == [g.text for g in expected]
