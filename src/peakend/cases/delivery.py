"""Sending the outbox: e-mail over SMTP and signed webhooks, in a background thread.

E-mail goes through :mod:`smtplib` (STARTTLS and login when configured). A
webhook is an HTTP POST of the notification's JSON body with

* ``X-Peakend-Signature: sha256=<hex>``: HMAC-SHA256, keyed by the webhook's
  secret, of ``<timestamp>.<body>`` (so a captured request cannot be replayed
  later with another timestamp);
* ``X-Peakend-Timestamp``: seconds since 1970 when it was sent;
* ``X-Peakend-Event`` and ``X-Peakend-Delivery`` (the notification id: the
  same on every retry, for receivers that drop repeats).

Any answer but 2xx, a timeout or a refused connection is a failed attempt,
retried with the configured backoff. Nothing here runs in a request: the
thread wakes when a case event is queued and every few seconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import smtplib
import ssl
import threading
import time
import urllib.error
import urllib.request
from email.message import EmailMessage

from peakend.cases import outbox
from peakend.cases.notify import NotifyConfig, Smtp
from peakend.errors import PeakendError
from peakend.survey.store import SurveyStore

log = logging.getLogger("peakend.notify")


class DeliveryError(PeakendError):
    """A notification could not be delivered (it is retried)."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def post_webhook(
    url: str, secret: str, pending: outbox.Pending, timeout: float, *, now: float | None = None
) -> None:
    """POST one notification; :class:`DeliveryError` unless the receiver answers 2xx."""
    body = pending.payload.encode()
    timestamp = str(int(now if now is not None else time.time()))
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "peakend-notify",
            "X-Peakend-Event": pending.event,
            "X-Peakend-Delivery": str(pending.id),
            "X-Peakend-Timestamp": timestamp,
            "X-Peakend-Signature": sign(secret, timestamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"{url} answered {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"{url}: {exc}") from exc
    if not 200 <= status < 300:
        raise DeliveryError(f"{url} answered {status}")


def email_message(smtp: Smtp, pending: outbox.Pending) -> EmailMessage:
    """The e-mail of one notification: a short text with the case's fields
    (or, for the scheduled summary, its text with the PDF attached)."""
    data = json.loads(pending.payload)
    if data.get("event") == "summary":
        return summary_message(smtp, pending.target, data)
    case = data["case"]
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = pending.target
    message["Subject"] = (
        f"[peakend] case {case['id']} {pending.event}: {case['reason']} ({case['unit']})"
    )
    lines = [f"Case {case['id']} was {pending.event}.", ""]
    lines += [f"{key}: {value}" for key, value in case.items() if value is not None]
    if data.get("link"):
        lines += ["", f"Open it: {data['link']}"]
    message.set_content("\n".join(lines))
    return message


def summary_message(smtp: Smtp, target: str, data: dict[str, object]) -> EmailMessage:
    """The scheduled summary's e-mail: its text, and page 1 of the report as a PDF."""
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = target
    message["Subject"] = str(data["subject"])
    message.set_content(str(data["text"]))
    message.add_attachment(
        base64.b64decode(str(data["pdf"])),
        maintype="application",
        subtype="pdf",
        filename=str(data["filename"]),
    )
    return message


def send_email(smtp: Smtp, message: EmailMessage, timeout: float) -> None:
    """Send one message; :class:`DeliveryError` when the server refuses or is away."""
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=timeout) as client:
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if smtp.user:
                client.login(smtp.user, smtp.password or "")
            client.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"{smtp.host}:{smtp.port}: {exc}") from exc


class DeliveryWorker:
    """Delivers due notifications in a thread; wakes on :meth:`wake` and every ``interval`` s."""

    def __init__(self, survey: SurveyStore, config: NotifyConfig, *, interval: float = 5.0):
        self.survey = survey
        self.config = config
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="peakend-notify", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def deliver_due(self, ids: list[int] | None = None) -> int:
        """Send every due notification (or those of ``ids``) once; returns how many
        were delivered."""
        sent = 0
        while not self._stop.is_set():
            lease = self.config.retry.timeout_s * 2 + 30
            with self.survey.write() as connection:
                batch = outbox.claim(connection, lease_s=lease, ids=ids)
            if not batch:
                return sent
            for pending in batch:
                sent += self._deliver(pending)
            if len(batch) < 50:
                return sent
        return sent

    def _deliver(self, pending: outbox.Pending) -> int:
        try:
            self._send(pending)
        except DeliveryError as exc:
            attempts = pending.attempts + 1
            give_up = attempts >= self.config.retry.attempts
            wait = self.config.retry.wait_after(attempts)
            log.warning(
                "notification %s to %s failed (attempt %d%s): %s",
                pending.id,
                pending.target,
                attempts,
                ", given up" if give_up else f", again in {wait:.0f} s",
                str(exc),
            )
            with self.survey.write() as connection:
                outbox.failed(connection, pending, str(exc), wait_s=wait, give_up=give_up)
            return 0
        with self.survey.write() as connection:
            outbox.delivered(connection, pending)
        return 1

    def _send(self, pending: outbox.Pending) -> None:
        timeout = self.config.retry.timeout_s
        if pending.channel == "webhook":
            hook = next((h for h in self.config.webhooks if h.url == pending.target), None)
            if hook is None:
                raise DeliveryError(f"{pending.target} is no longer in the notify file")
            post_webhook(hook.url, hook.secret, pending, timeout)
            return
        if self.config.smtp is None:
            raise DeliveryError("the notify file has no [smtp] table any more")
        send_email(self.config.smtp, email_message(self.config.smtp, pending), timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.deliver_due()
            except Exception:
                log.exception("notifications could not be read; retrying")
            self._wake.wait(self.interval)
