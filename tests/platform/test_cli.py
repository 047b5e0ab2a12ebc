"""The administration commands, run against a live server's database."""

from __future__ import annotations

import subprocess
import sys
import uuid

from tests.users import PASSWORD, login, register


def _cli(server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agentdeck.cli", *args],
        env=server.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


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
    assert (
        _cli(server, "create-tenant", "Cli Co", "--owner-email", "not-an-email", "--password", PASSWORD).returncode == 1
    )
    r = server.rest("POST", "/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert r.status_code == 401  # nothing was created


def _cli_at_a_terminal(server, args: list[str], answers: list[tuple[str, str]], timeout: float = 60) -> tuple[int, str]:
    """Run the CLI on a pseudo-terminal; when the output shows each prompt in turn, type its answer.

    A prompt is matched with the space the hidden reader prints after it, that is once echo is
    off: a line typed earlier would be flushed away, or echoed."""
    import os
    import pty
    import select
    import time

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentdeck.cli", *args],
        env=server.env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    out, pos, pending = "", 0, list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the command exited and closed its terminal
                break
            out += chunk.decode(errors="replace")
            while pending and (at := out.find(pending[0][0], pos)) >= 0:
                pos = at + len(pending[0][0])
                os.write(master, (pending.pop(0)[1] + "\n").encode())
        assert not pending, f"never prompted for {pending[0][0]!r}:\n{out}"
        return proc.wait(timeout=max(1.0, deadline - time.monotonic())), out
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)


def test_a_new_users_password_is_asked_for_hidden_twice_and_checked(server):
    email = f"tty-{uuid.uuid4().hex[:8]}@example.com"
    prompt, again = f"Password for the new user {email}: ", "Repeat for confirmation: "
    code, out = _cli_at_a_terminal(
        server,
        ["create-tenant", "Tty Co", "--owner-email", email],
        [
            (prompt, "short"),  # refused before the confirmation, and asked again
            (prompt, PASSWORD),
            (again, "a-different-" + PASSWORD),  # a mismatch starts over
            (prompt, PASSWORD),
            (again, PASSWORD),
        ],
    )
    assert code == 0, out
    assert "Password refused:" in out and "do not match" in out and "slug=tty-co-" in out
    assert PASSWORD not in out and "short" not in out  # never echoed
    assert login(server, email)["user_id"] in out
    # An existing user keeps their password: nobody is asked for one.
    code, out = _cli_at_a_terminal(server, ["create-operator", email], [])
    assert code == 0 and "user=promoted" in out and "Password" not in out, out


def test_a_new_operators_password_is_asked_for_hidden_twice_and_checked(server):
    """`create-operator` for an email with no account asks at the terminal, as `create-tenant`
    does: hidden, checked before the confirmation, typed twice; the operator signs in with it."""
    email = f"tty-op-{uuid.uuid4().hex[:8]}@example.com"
    prompt, again = f"Password for the new user {email}: ", "Repeat for confirmation: "
    code, out = _cli_at_a_terminal(
        server,
        ["create-operator", email],
        [
            (prompt, email.split("@")[0] + "-Password1"),  # holds the new email: refused, asked again
            (prompt, PASSWORD),
            (again, PASSWORD[::-1]),  # a mismatch starts over
            (prompt, PASSWORD),
            (again, PASSWORD),
        ],
    )
    assert code == 0, out
    assert out.count("Password refused:") == 1 and "do not match" in out and "user=created" in out
    assert PASSWORD not in out and PASSWORD[::-1] not in out  # never echoed
    session = login(server, email)
    assert session["user_id"] in out and "platform:operator" in session["scopes"]


def test_without_a_terminal_a_new_user_needs_password_on_the_command_line(server):
    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    done = subprocess.run(
        [sys.executable, "-m", "agentdeck.cli", "create-operator", email],
        env=server.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "--password" in done.stderr and "terminal" in done.stderr, done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "agentdeck.cli", "create-operator", email, "--password", PASSWORD],
        env=server.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "user=created" in done.stdout, done.stderr


def test_outbox_shows_the_mail_and_its_link(server):
    acct = register(server)  # mails a verification link; this server has no SMTP: the outbox keeps it
    listing = _cli(server, "outbox", "--to", acct.email.upper())
    assert listing.returncode == 0, listing.stderr
    assert f"To: {acct.email}" in listing.stdout and "Subject: Verify your email address" in listing.stdout
    link = _cli(server, "outbox", "--to", acct.email, "--link")
    assert link.returncode == 0 and link.stdout.count("\n") == 1, link.stdout
    assert link.stdout.startswith(f"{server.base_url}/verify-email?token=")  # AGENTDECK_PUBLIC_URL
    r = server.rest("GET", link.stdout.strip().removeprefix(server.base_url))
    assert r.status_code == 200 and "Email verified" in r.text
    none = _cli(server, "outbox", "--to", f"nobody-{uuid.uuid4().hex[:6]}@example.com", "--link")
    assert none.returncode == 1 and "No mail with a link" in none.stderr
