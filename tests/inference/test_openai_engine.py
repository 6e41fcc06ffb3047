"""The OpenAI-compatible engine against llama-cpp-python's real server (a fixture starts it on
127.0.0.1 with a tiny GGUF), and against a faulty server written here for each failure."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from slm_assets.core.inference.base import EngineError
from slm_assets.core.inference.registry import load_engine
from slm_assets.core.models.versions import ModelCard
from slm_assets.testing_gguf import free_port

KEY_ENV, KEY = "SLM_TEST_SERVER_KEY", "sk-test-0123456789"
INPUTS = ["refund my order please", "where is my invoice", "login broken help", "cancel plan", "card payment error"]


def remote_version(key="tiny@remote", **options):
    card = ModelCard(task="t", engine="openai", engine_options=options)
    return SimpleNamespace(key=key, path=None, card=card)


# -- against the real server ------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tiny_gguf):
    pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python[server] is not installed (extra llama-cpp)")
    from slm_assets.testing_gguf import llama_server

    with llama_server(tiny_gguf, alias="tiny", threads=1, n_ctx=1024, api_key=KEY) as base_url:
        yield base_url


@pytest.fixture
def remote(server, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    with load_engine(remote_version(base_url=server, model="tiny", api_key_env=KEY_ENV,
                                    extra_body={"repeat_penalty": 1.0})) as engine:
        yield engine


def test_server_answers_equal_the_in_process_engine_at_every_concurrency(remote, tiny_gguf):
    with load_engine(SimpleNamespace(key="tiny@local", path=tiny_gguf.parent,
                                     card=ModelCard(task="t", engine="llama_cpp",
                                                    engine_options={"n_threads": 1}))) as local:
        messages = [[{"role": "user", "content": text}] for text in INPUTS]
        expected = local.generate_until([local.apply_chat_template(m) for m in messages], max_new_tokens=6,
                                        stop=[], batch_size=len(INPUTS))
    prompts = [remote.apply_chat_template(m) for m in messages]
    for concurrency in (1, 3):
        got = remote.generate_until(prompts, max_new_tokens=6, stop=[], batch_size=concurrency)
        assert [g.error for g in got] == [None] * len(INPUTS)
        # The server drops the bytes of a character cut mid-way (the engine shows U+FFFD), treats a
        # character cut by max_tokens its own way, and streams the tokens of one character as one
        # chunk: the same answer, one text a prefix of the other, at most as many chunks as tokens.
        for ours, theirs in zip(expected, got, strict=True):
            mine = ours.text.replace("\ufffd", "")
            assert theirs.text and (mine.startswith(theirs.text) or theirs.text.startswith(mine))
            assert 0 < theirs.output_tokens <= ours.output_tokens


def test_server_streams_per_token_timing_and_reports_no_memory(remote):
    prompts = [remote.apply_chat_template([{"role": "user", "content": t}]) for t in INPUTS[:3]]
    timed = remote.generate_fixed(prompts, new_tokens=5, timed=True)
    assert len(timed) == 3  # one per concurrent request
    for t in timed:
        assert 0 < t.output_tokens <= 5 and len(t.token_ns) == t.output_tokens
        assert t.start_ns < t.token_ns[0] <= t.end_ns and t.ttft_s > 0
    facts = remote.facts()
    assert (facts.engine, facts.format, facts.device, facts.weight_bytes) == ("openai", "remote", "remote", None)
    assert facts.details["memory"] == facts.details["energy"] == "not measured: remote"
    assert remote.peak_memory_bytes() is None and remote.capabilities.batch_is_concurrency
    assert KEY not in json.dumps(facts.details) and facts.details["api_key_env"] == KEY_ENV


def test_completions_api_sends_prompts_as_they_are(server, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    with load_engine(remote_version(base_url=server, model="tiny", api="completions", api_key_env=KEY_ENV,
                                    extra_body={"repeat_penalty": 1.0})) as engine:
        assert not engine.has_chat_template
        (out,) = engine.generate_until(["refund my order"], max_new_tokens=4, stop=[], batch_size=1)
    assert out.error is None and out.output_tokens > 0


def test_api_key_is_read_from_the_named_variable_and_never_shown(server, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(EngineError, match=f"tiny@remote: .*variable {KEY_ENV} named by the card is not set"):
        load_engine(remote_version(base_url=server, model="tiny", api_key_env=KEY_ENV))
    monkeypatch.setenv(KEY_ENV, "sk-wrong-key")
    with pytest.raises(EngineError, match="tiny@remote: .*HTTP 401") as caught:
        load_engine(remote_version(base_url=server, model="tiny", api_key_env=KEY_ENV))
    assert "sk-wrong-key" not in str(caught.value)
    monkeypatch.setenv(KEY_ENV, KEY)
    with pytest.raises(EngineError, match="tiny@remote: .*does not serve model 'other' \\(it serves: tiny\\)"):
        load_engine(remote_version(base_url=server, model="other", api_key_env=KEY_ENV))


def test_nothing_is_remote_unless_the_card_sets_base_url():
    with pytest.raises(EngineError, match="(?s)tiny@remote: invalid engine_options for openai.*base_url"):
        load_engine(remote_version(model="tiny"))


# -- against a faulty server ------------------------------------------------------------------


class Faulty(BaseHTTPRequestHandler):
    """``/v1/models`` answers; a completion fails the way ``server.mode`` says."""

    def log_message(self, *args):
        pass

    def _send(self, status: int, body: bytes, content_type: str = "text/event-stream") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._send(200, json.dumps({"data": [{"id": "m"}]}).encode(), "application/json")

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        chunk = b'data: {"choices": [{"delta": {"content": "hi"}}]}\n\n'
        mode = self.server.mode
        if mode == "slow":
            time.sleep(1.5)
        bodies = {
            "500": (500, b'{"error": "boom"}'),
            "malformed": (200, b"data: {not json\n\n"),
            "garbage": (200, b"\x00\x01 hello there\n"),
            "cut": (200, chunk),
            "slow": (200, chunk + b"data: [DONE]\n\n"),
        }
        self._send(*bodies[mode])


@pytest.fixture
def faulty():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Faulty)
    httpd.mode = "500"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize(
    ("mode", "cause"),
    [
        ("500", r"answered HTTP 500 .*boom"),
        ("malformed", r"malformed JSON in the stream \('\{not json'\)"),
        ("garbage", "not a server-sent event stream"),
        ("cut", r"the stream ended without \[DONE\]"),
        ("slow", r"no answer from .* within 0.3 s \(timeout\)"),
    ],
)
def test_each_server_fault_is_an_error_naming_version_and_cause(faulty, mode, cause):
    faulty.mode = mode
    url = f"http://127.0.0.1:{faulty.server_address[1]}/v1"
    with load_engine(remote_version(key="m@faulty", base_url=url, model="m", timeout_s=0.3)) as engine:
        out = engine.generate_until(["a", "b"], max_new_tokens=4, stop=[], batch_size=2)
        with pytest.raises(EngineError, match=f"m@faulty: .*{cause}"):
            engine.generate_fixed(["a"], new_tokens=4)
    assert [g.output_tokens for g in out] == [0, 0]
    assert all(g.error.startswith("m@faulty: ") and __import__("re").search(cause, g.error) for g in out)


def test_a_server_that_is_down_names_version_and_cause(faulty):
    down = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(EngineError, match=f"m@down: openai engine: server {down} unreachable: ConnectionRefused"):
        load_engine(remote_version(key="m@down", base_url=down, model="m"))
    # Down after loading: every prompt is an error, the batch goes on.
    url = f"http://127.0.0.1:{faulty.server_address[1]}/v1"
    with load_engine(remote_version(key="m@down", base_url=url, model="m")) as engine:
        faulty.shutdown()
        faulty.server_close()
        out = engine.generate_until(["a", "b", "c"], max_new_tokens=2, stop=[], batch_size=2)
    assert all("m@down: server" in g.error and "unreachable" in g.error for g in out)
