"""Run-failure alerts: one clear message in the log and, optionally, a JSON POST to a webhook.

The webhook URL is a secret, so it only ever comes from an environment variable
(its *name* is in the config: ``alerts.webhook_url_env``). A webhook that is
down must never hide the failure it reports, so posting errors are logged and
swallowed. Neither the log nor any exception ever holds the URL (it often embeds a
token): failures are reported by kind, never with the library's message, which may quote it.
"""

import json
import logging
import os
import re
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass

from slm_assets.config import AlertsConfig

logger = logging.getLogger(__name__)
_UNSAFE_URL_CHARS = re.compile(r"[\x00-\x20\x7f]")


@dataclass(frozen=True)
class RunFailureAlert:
    job: str
    run_id: str
    failed_steps: list[str]
    error: str
    partition: str | None = None

    def message(self) -> str:
        steps = ", ".join(self.failed_steps) or "(no step failed: the run itself failed)"
        where = f" partition {self.partition}" if self.partition else ""
        return (
            f"ALERT run failed: job {self.job}{where}, run {self.run_id}, "
            f"failed step(s): {steps}. Error: {self.error}"
        )

    def payload(self) -> dict:
        return {"event": "run_failure", "text": self.message(), **asdict(self)}


def post_webhook(url: str, payload: dict, timeout_seconds: float, log: logging.Logger = logger) -> bool:
    """POST ``payload`` as JSON; True on a 2xx answer. Never raises (logs why, without the URL, instead)."""
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        log.warning("alert webhook URL must start with http:// or https://; nothing posted")
        return False
    if _UNSAFE_URL_CHARS.search(url):
        log.warning("alert webhook URL holds a space or control character; nothing posted")
        return False
    try:
        request = urllib.request.Request(
            url,
            data=json.dumps(payload, default=str).encode("utf-8"),
            headers={"Content-Type": "application/json", "User-Agent": "slm-assets-alerts"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=timeout_seconds) as response:
            ok = 200 <= response.status < 300
            if not ok:
                log.warning("alert webhook answered HTTP %s", response.status)
            return ok
    except urllib.error.HTTPError as exc:
        log.warning("alert webhook answered HTTP %s", exc.code)
    except Exception as exc:  # noqa: BLE001 - an alert sender must never raise; the kind is enough
        # Only the kind: messages of InvalidURL, URLError and friends quote the URL or its host.
        log.warning("alert webhook POST failed: %s%s", type(exc).__name__, _reason(exc))
    return False


def _reason(exc: BaseException) -> str:
    """A URL-free hint for the common network failures (the OS error, a timeout)."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, OSError) and reason.strerror:
        return f" ({reason.strerror})"
    if isinstance(exc, OSError) and exc.strerror:
        return f" ({exc.strerror})"
    if isinstance(exc, TimeoutError) or isinstance(reason, TimeoutError):
        return " (timed out)"
    return ""


def send_alert(alert: RunFailureAlert, cfg: AlertsConfig, log: logging.Logger | None = None) -> bool | None:
    """Log the alert; POST it when ``$<cfg.webhook_url_env>`` is set.

    Returns None when no webhook is configured, else whether the POST succeeded.
    """
    log = log or logger
    try:
        log.error(alert.message())
        payload = alert.payload()
    except Exception as exc:  # noqa: BLE001 - a malformed alert still must not hide the failure
        log.error("ALERT run failed (the alert itself could not be formatted: %s)", type(exc).__name__)
        payload = {"event": "run_failure", "text": "run failed (alert could not be formatted)"}
    url = os.environ.get(cfg.webhook_url_env, "").strip()
    if not url:
        return None
    ok = post_webhook(url, payload, cfg.timeout_seconds, log)
    if ok:
        log.info("alert posted to the webhook in $%s", cfg.webhook_url_env)
    else:
        log.warning("alert NOT delivered to the webhook in $%s (see the warning above)", cfg.webhook_url_env)
    return ok
