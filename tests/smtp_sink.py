"""A real SMTP server on 127.0.0.1 that keeps what it receives, for black-box mail tests.

from tests.smtp_sink import smtp_sink  # noqa: F401  (the fixture)

def test_x(smtp_sink):
    ...  # start a server with AGENTDECK_SMTP_URL=smtp_sink.url
    mail = smtp_sink.wait_for(lambda m: m.to == "a@example.com")
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str  # envelope sender
    rcpt_tos: list[str]  # envelope recipients
    to: str  # the To header
    subject: str
    text: str  # the text/plain body
    message: EmailMessage


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = _free_port()
        self._received: list[ReceivedMail] = []
        self._cond = threading.Condition()  # the server runs in its own thread
        self._controller = Controller(self, hostname=self.host, port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._cond:
            return list(self._received)

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd hook)
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        body = msg.get_body(preferencelist=("plain",))
        mail = ReceivedMail(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            to=str(msg.get("To", "")),
            subject=str(msg.get("Subject", "")),
            text=body.get_content() if body is not None else "",
            message=msg,
        )
        with self._cond:
            self._received.append(mail)
            self._cond.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, predicate: Callable[[ReceivedMail], bool] = lambda m: True, timeout: float = 5) -> ReceivedMail:
        """The first received mail matching `predicate`, waiting up to `timeout` seconds.

        Blocking: from async code that must keep its loop running, use asyncio.to_thread."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for mail in self._received:
                    if predicate(mail):
                        return mail
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(m.to, m.subject) for m in self._received]
                    raise TimeoutError(f"no matching mail within {timeout}s; received {seen}")
                self._cond.wait(remaining)


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()
