"""E-mail over SMTP (smtplib), one connection per job run. With no SMTP_HOST (the demo) a message is written to
the log instead, which counts as delivered. Each message carries a Message-ID derived from its notification row, so
a receiving system can drop the one duplicate left possible (a sender killed after the server accepted the message
but before the row was marked delivered)."""
from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import formataddr

from flask import current_app

log = logging.getLogger(__name__)


class Mailer:
    def __init__(self) -> None:
        cfg = current_app.config
        self.host: str | None = cfg.get("SMTP_HOST") or None
        self.port = int(cfg.get("SMTP_PORT") or 25)
        self.sender: str = cfg.get("MAIL_FROM") or "hoctap@localhost"
        self.timeout = float(cfg.get("SMTP_TIMEOUT") or 20)
        self._smtp: smtplib.SMTP | None = None

    def send(self, to: str, subject: str, body: str, message_id: str) -> None:
        """Send one message; raise on any SMTP or network failure (the job then retries)."""
        msg = EmailMessage()
        msg["From"] = formataddr(("Hội Khuyến học", self.sender))
        msg["To"] = to
        msg["Subject"] = subject
        msg["Message-ID"] = message_id
        msg.set_content(body)
        if self.host is None:
            log.info("mail (no SMTP_HOST, logged only) to=%s subject=%s", to, subject)
            return
        if self._smtp is None:
            self._smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            self._smtp.send_message(msg)
        except (smtplib.SMTPServerDisconnected, OSError):
            self.close()
            raise

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._smtp = None


def message_id(notification_id: int) -> str:
    domain = (current_app.config.get("MAIL_FROM") or "hoctap@localhost").rsplit("@", 1)[-1]
    return f"<notice-{notification_id}@{domain}>"
