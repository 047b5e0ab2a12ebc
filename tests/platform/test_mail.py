"""The mail provider: outbox + log without SMTP, real delivery with it, failures recorded."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from agentdeck.db.base import Base
from agentdeck.db.migrate import upgrade
from agentdeck.db.models import OutboxMessage
from agentdeck.db.session import Database
from agentdeck.errors import UpstreamFailed
from agentdeck.providers.mail import (
    Mail,
    MailDeliveryFailed,
    OutboxMailer,
    SmtpMailer,
    SmtpTarget,
    make_mailer,
)
from agentdeck.settings import Settings
from tests.smtp_sink import _free_port, smtp_sink  # noqa: F401  (fixture)

SENDER = "agentdeck <no-reply@agentdeck.local>"
LINK = "http://127.0.0.1:8000/verify?token=abc123"


def _mail(to: str = "alice@example.com") -> Mail:
    return Mail(to=to, subject="Verify your email", text=f"Open {LINK}\n", kind="email_verification")


@pytest.fixture
async def db(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'agentdeck.db'}"
    await asyncio.to_thread(upgrade, url)  # alembic's env calls asyncio.run
    database = Database(url)
    yield database
    await database.dispose()


async def _row(db: Database, message_id: str) -> OutboxMessage:
    async with db.platform_session() as s:
        return (await s.scalars(select(OutboxMessage).where(OutboxMessage.id == uuid.UUID(message_id)))).one()


async def test_the_migration_matches_the_model(db):
    async with db.engine.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
    assert [d for d in diff if "mail_outbox" in repr(d)] == []


async def test_without_smtp_the_mail_is_stored_and_logged_in_full(db, caplog):
    mailer = make_mailer(Settings(smtp_url=None), db)
    assert isinstance(mailer, OutboxMailer)
    with caplog.at_level(logging.INFO, logger="agentdeck.mail"):
        message_id = await mailer.send(_mail())
    assert LINK in caplog.text and "alice@example.com" in caplog.text
    # Besides the whole mail (its newlines escaped onto one line), a line that ends with the link.
    assert caplog.records[-1].getMessage() == f"mail {message_id} to alice@example.com: open {LINK}"
    row = await _row(db, message_id)
    assert (row.status, row.to_address, row.kind, row.sent_at) == (
        "logged",
        "alice@example.com",
        "email_verification",
        None,
    )
    assert LINK in row.body_text and row.created_at.tzinfo is not None


async def test_smtp_delivers_and_records_sent(db, smtp_sink):  # noqa: F811
    mailer = make_mailer(Settings(smtp_url=smtp_sink.url), db)
    assert isinstance(mailer, SmtpMailer)
    message_id = await mailer.send(_mail("bob@example.com"))
    got = smtp_sink.wait_for(lambda m: m.to == "bob@example.com")
    assert got.subject == "Verify your email" and LINK in got.text
    assert got.rcpt_tos == ["bob@example.com"] and got.mail_from == "no-reply@agentdeck.local"
    assert message_id in got.message["Message-ID"]
    row = await _row(db, message_id)
    assert row.status == "sent" and row.error is None and row.sent_at is not None


async def test_smtp_failure_raises_and_records_failed(db):
    mailer = SmtpMailer(f"smtp://127.0.0.1:{_free_port()}", SENDER, db)  # nothing listens there
    with pytest.raises(MailDeliveryFailed) as caught:
        await mailer.send(_mail())
    assert isinstance(caught.value, UpstreamFailed) and caught.value.code == "BAD_GATEWAY"
    async with db.platform_session() as s:
        row = (await s.scalars(select(OutboxMessage))).one()
    assert row.status == "failed" and row.error and row.sent_at is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mx.example.com", ("mx.example.com", 25, False, None, None, None)),
        ("smtp+starttls://u%40x:p%3Aw@mx:2587", ("mx", 2587, False, True, "u@x", "p:w")),
        ("smtps://u:pw@mx", ("mx", 465, True, False, "u", "pw")),
    ],
)
def test_smtp_urls_are_parsed(url, expected):
    t = SmtpTarget.parse(url)
    assert (t.hostname, t.port, t.use_tls, t.start_tls, t.username, t.password) == expected
    assert "pw" not in repr(t) or t.password is None


def test_an_unknown_scheme_is_refused_without_echoing_the_url():
    with pytest.raises(ValueError) as caught:
        SmtpTarget.parse("http://u:secret@mx")
    assert "secret" not in str(caught.value)
