"""Run-failure alerts: the message, and a real POST received by a local HTTP server."""

import http.server
import logging

import pytest

from slm_assets.config import AlertsConfig
from slm_assets.core.automation.alerts import RunFailureAlert, post_webhook, send_alert

ALERT = RunFailureAlert(
    job="evaluate_model_version",
    run_id="abc123",
    failed_steps=["model_evaluation"],
    error="ModelLoadError: /x/model.safetensors: truncated",
    partition="tiny@v1",
)


def test_alert_message_names_job_run_step_and_error():
    text = ALERT.message()
    for part in ("evaluate_model_version", "abc123", "model_evaluation", "truncated", "tiny@v1"):
        assert part in text
    assert "no step failed" in RunFailureAlert("j", "r", [], "boom").message()


def test_webhook_receives_the_alert(webhook_server, monkeypatch, caplog):
    url, received = webhook_server
    monkeypatch.setenv("MY_HOOK", url + "/hook")
    with caplog.at_level(logging.INFO):
        assert send_alert(ALERT, AlertsConfig(webhook_url_env="MY_HOOK", timeout_seconds=5)) is True
    (path, content_type, payload), = received
    assert path == "/hook" and content_type == "application/json"
    assert payload["job"] == "evaluate_model_version" and payload["run_id"] == "abc123"
    assert payload["failed_steps"] == ["model_evaluation"] and "ALERT run failed" in payload["text"]
    assert "ALERT run failed" in caplog.text


def test_no_webhook_configured_only_logs(monkeypatch, caplog):
    monkeypatch.delenv("SLM_ALERT_WEBHOOK_URL", raising=False)
    with caplog.at_level(logging.ERROR):
        assert send_alert(ALERT, AlertsConfig()) is None
    assert "abc123" in caplog.text


def test_webhook_failures_are_logged_never_raised(webhook_server, monkeypatch, caplog):
    url, _ = webhook_server
    assert post_webhook(url + "/broken", {"a": 1}, timeout_seconds=5) is False
    # A closed port: connection refused.
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    closed = f"http://127.0.0.1:{server.server_address[1]}/x"
    server.server_close()
    monkeypatch.setenv("SLM_ALERT_WEBHOOK_URL", closed)
    with caplog.at_level(logging.WARNING):
        assert send_alert(ALERT, AlertsConfig(timeout_seconds=2)) is False
    assert "webhook POST failed" in caplog.text and closed not in caplog.text
    assert post_webhook("not a url", {}, timeout_seconds=1) is False


SECRET = "tok-S3CRET"


@pytest.mark.parametrize(
    "url",
    [f"http://127.0.0.1:9/hook\x01?token={SECRET}", f"http://127.0.0.1:9/ho ok?token={SECRET}",
     f"http://[::1/{SECRET}", f"http://127.0.0.1:99999/{SECRET}"],
    ids=["control-character", "space", "broken-ipv6", "bad-port"],
)
def test_hostile_webhook_url_never_raises_nor_leaks_its_token(url, monkeypatch, caplog):
    monkeypatch.setenv("SLM_ALERT_WEBHOOK_URL", url)
    with caplog.at_level(logging.DEBUG):
        assert send_alert(ALERT, AlertsConfig(timeout_seconds=1)) is False
    assert SECRET not in caplog.text and "ALERT run failed" in caplog.text


def test_any_library_error_is_swallowed_without_the_url(monkeypatch, caplog):
    import http.client

    from slm_assets.core.automation import alerts

    url = f"http://hooks.example/{SECRET}"

    def boom(*args, **kwargs):
        raise http.client.InvalidURL(f"URL can't contain control characters. {url!r}")

    monkeypatch.setattr(alerts.urllib.request, "urlopen", boom)
    with caplog.at_level(logging.DEBUG):
        assert post_webhook(url, {"a": 1}, timeout_seconds=1) is False
    assert "InvalidURL" in caplog.text and SECRET not in caplog.text
