"""Platform mail. With `AGENTDECK_SMTP_URL` set, mail goes out over SMTP; without it, the embedded
default stores each message in the `mail_outbox` table and logs it in full, so that whoever runs
`make serve` can follow a verification link from the log. Either way every message leaves a row.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib
from sqlalchemy import select

from agentdeck.db.base import utcnow
from agentdeck.db.models.mail import OutboxMessage
from agentdeck.db.session import Database
from agentdeck.errors import UpstreamFailed
from agentdeck.settings import Settings

log = logging.getLogger("agentdeck.mail")
LINK = re.compile(r"https?://[^\s<>\"']+")

SMTP_TIMEOUT = 10.0  # seconds, per SMTP operation: a stuck server must not hold a request open

# scheme -> (default port, implicit TLS, STARTTLS). `None` = aiosmtplib's default: upgrade
# when the server offers STARTTLS, so credentials are not sent in the clear needlessly.
_SCHEMES: dict[str, tuple[int, bool, bool | None]] = {
    "smtp": (25, False, None),
    "smtp+starttls": (587, False, True),
    "smtps": (465, True, False),
}


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    kind: str  # what the mail is for, e.g. "email_verification"; kept in the outbox


class MailDeliveryFailed(UpstreamFailed):
    def __init__(self, kind: str) -> None:
        # The SMTP error stays in the outbox row and the log: it may name internal hosts.
        super().__init__(f"The mail server did not accept the {kind} mail; please try again later.")


class Mailer(Protocol):
    async def send(self, mail: Mail) -> str:
        """Deliver (or log) `mail`; returns the message id (the outbox row's id)."""
        ...


@dataclass(frozen=True)
class SmtpTarget:
    hostname: str
    port: int
    use_tls: bool
    start_tls: bool | None
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _SCHEMES or not parts.hostname:
            # Not echoing the URL: it may carry a password.
            raise ValueError(
                "AGENTDECK_SMTP_URL must look like smtp://user:pass@host:port (or smtps://, smtp+starttls://)"
            )
        default_port, use_tls, start_tls = _SCHEMES[scheme]
        return cls(
            hostname=parts.hostname,
            port=parts.port or default_port,
            use_tls=use_tls,
            start_tls=start_tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def _build_message(mail: Mail, sender: str, message_id: uuid.UUID, now: datetime) -> EmailMessage:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "agentdeck.local"
    msg = EmailMessage()  # its default policy refuses CR/LF in headers (no header injection)
    msg["From"] = sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<{message_id}@{domain}>"
    msg.set_content(mail.text)
    return msg


async def _record(db: Database, row: OutboxMessage) -> None:
    async with db.platform_session() as s:
        s.add(row)
        await s.commit()


def _outbox_row(mail: Mail, *, keep_body: bool, **kw) -> OutboxMessage:
    # Mail delivered by SMTP lives in the recipient's mailbox; its outbox row is only a
    # delivery record, so single-use links in the body are not kept at rest.
    body = mail.text if keep_body else "(delivered by SMTP; body not kept)"
    return OutboxMessage(to_address=mail.to, subject=mail.subject, body_text=body, kind=mail.kind, **kw)


class SmtpMailer:
    def __init__(self, url: str, sender: str, db: Database) -> None:
        self.target = SmtpTarget.parse(url)
        self.sender = sender
        self.db = db

    async def send(self, mail: Mail) -> str:
        message_id, now = uuid.uuid4(), utcnow()
        t = self.target
        try:
            await aiosmtplib.send(
                _build_message(mail, self.sender, message_id, now),
                hostname=t.hostname,
                port=t.port,
                username=t.username,
                password=t.password,
                use_tls=t.use_tls,
                start_tls=t.start_tls,
                timeout=SMTP_TIMEOUT,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning("mail %s (%s) to %s failed: %s", message_id, mail.kind, mail.to, error)
            await _record(
                self.db,
                _outbox_row(mail, keep_body=False, id=message_id, created_at=now, status="failed", error=error),
            )
            raise MailDeliveryFailed(mail.kind) from exc
        await _record(
            self.db,
            _outbox_row(mail, keep_body=False, id=message_id, created_at=now, status="sent", sent_at=utcnow()),
        )
        log.info("mail %s (%s) sent to %s", message_id, mail.kind, mail.to)
        return str(message_id)


class OutboxMailer:
    """No SMTP server configured: keep the message and show it in the log."""

    def __init__(self, db: Database, sender: str) -> None:
        self.db = db
        self.sender = sender
        _make_log_visible()

    async def send(self, mail: Mail) -> str:
        row = _outbox_row(mail, keep_body=True, id=uuid.uuid4(), status="logged")
        await _record(self.db, row)
        log.info(
            "mail %s (%s) not sent (AGENTDECK_SMTP_URL unset)\nFrom: %s\nTo: %s\nSubject: %s\n\n%s",
            row.id, mail.kind, self.sender, mail.to, mail.subject, mail.text,
        )  # fmt: skip
        # The text log escapes the mail's newlines onto one line; a link then ends in "\n\n…".
        # Each link also gets a line that ends with it, so it can be clicked or copied whole.
        for link in links_in(mail.text):
            log.info("mail %s to %s: open %s", row.id, mail.to, link)
        return str(row.id)


def links_in(text: str) -> list[str]:
    return LINK.findall(text)


async def outbox(db: Database, to: str | None, limit: int) -> list[OutboxMessage]:
    """The newest messages of the outbox (to one address when `to` is given), newest first."""
    query = select(OutboxMessage).order_by(OutboxMessage.created_at.desc()).limit(limit)
    if to is not None:
        query = query.where(OutboxMessage.to_address == to.strip().lower())
    async with db.platform_session() as s:
        return list((await s.scalars(query)).all())


def _make_log_visible() -> None:
    # uvicorn configures only its own loggers, so an INFO record here would be dropped (root
    # stays at WARNING, and Python's last-resort handler prints WARNING and up). The log is this
    # mailer's only output, so give it a handler unless the application configured logging.
    if log.getEffectiveLevel() > logging.INFO:
        log.setLevel(logging.INFO)
    if not log.hasHandlers():
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        log.addHandler(handler)


def make_mailer(settings: Settings, db: Database) -> Mailer:
    if settings.smtp_url:
        return SmtpMailer(settings.smtp_url, settings.mail_from, db)
    return OutboxMailer(db, settings.mail_from)
