"""Helpers for tests that need signed-in users."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

PASSWORD = "Correct-Horse-42-battery"


@dataclass
class Account:
    email: str
    password: str
    tenant_id: str
    user_id: str
    access_token: str
    refresh_token: str
    session_id: str


def register(server, email: str | None = None, tenant_name: str = "Acme Test") -> Account:
    email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
    r = server.rest("POST", "/api/v1/auth/register", json={
        "email": email, "password": PASSWORD, "tenant_name": tenant_name, "accept_terms": True,
    })
    assert r.status_code == 201, r.text
    body = r.json()
    return Account(email, PASSWORD, body["tenant_id"], body["user_id"], body["access_token"],
                   body["refresh_token"], body["session_id"])
