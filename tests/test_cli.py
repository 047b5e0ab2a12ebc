"""The administration commands, run against a live server's database."""

from __future__ import annotations

import subprocess
import sys
import uuid

from tests.identity import PASSWORD, login


def _cli(server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agentdeck.cli", *args], env=server.env,
                          capture_output=True, text=True, timeout=60)


def test_create_tenant_makes_an_owner_who_can_sign_in(server):
    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    done = _cli(server, "create-tenant", "Cli Co", "--owner-email", email, "--password", PASSWORD)
    assert done.returncode == 0, done.stderr
    assert "slug=cli-co-" in done.stdout
    session = login(server, email)
    assert "billing:manage" in session["scopes"]
    # The same owner can be given a second tenant; signing in then needs a tenant_id.
    assert _cli(server, "create-tenant", "Cli Two", "--owner-email", email).returncode == 0
    r = server.rest("POST", "/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert r.status_code == 400


def test_create_tenant_refuses_bad_input(server):
    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    weak = _cli(server, "create-tenant", "Cli Co", "--owner-email", email, "--password", "weak")
    assert weak.returncode == 1 and "Password refused" in weak.stderr
    assert _cli(server, "create-tenant", "X", "--owner-email", email, "--password", PASSWORD).returncode == 1
    assert _cli(server, "create-tenant", "Cli Co", "--owner-email", "not-an-email", "--password", PASSWORD).returncode == 1
    r = server.rest("POST", "/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert r.status_code == 401  # nothing was created
