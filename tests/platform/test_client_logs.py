"""Client log ingestion through a real server: `POST /api/v1/logs` (checked against the extended
contract) and `submitClientLogs`. An entry is written to the server's structured log with the
tenant, the user and the mark of the client, its control characters neutralised; the answer
carries nothing of it; anonymous callers, bad input, oversize submissions and entries beyond
the per-user rate are refused, and nothing refused is logged. The rules: tests/identity/
test_preferences_rules.py."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest

from tests.graphql_client import ClientLogEntryInput, ClientLogLevel, SubmitClientLogsInput, UserErrorCode
from tests.graphql_client.exceptions import GraphQLClientGraphQLMultiError
from tests.harness import assert_documented, fresh_database, start_server
from tests.users import register

LOGS = "/api/v1/logs"
PER_MINUTE = 10


@pytest.fixture(scope="module")
def log_srv(backend, tmp_path_factory):
    """JSON log lines at INFO, so the test reads what an operator's log pipeline would."""
    tmp = tmp_path_factory.mktemp(f"client-logs-{backend}")
    env = {
        "AGENTDECK_LOG_LEVEL": "info",
        "AGENTDECK_LOG_FORMAT": "json",
        "AGENTDECK_CLIENT_LOGS_PER_MINUTE": str(PER_MINUTE),
    }
    with fresh_database(backend, tmp) as url:
        srv = start_server(tmp, env=env, backend=backend, database_url=url)
        try:
            yield srv
        finally:
            srv.stop()


def call(srv, token: str | None = None, **kw):
    r = srv.rest("POST", LOGS, token=token, **kw)
    assert_documented("POST", LOGS, r, extended=True)
    return r


def client_lines(srv, marker: str) -> list[dict]:
    """The server's JSON log lines of client entries whose event carries `marker`."""
    out = []
    for line in srv.log().splitlines():
        if line.startswith("{") and marker in line:
            record = json.loads(line)
            if record.get("client_log"):
                out.append(record)
    return out


def wait_lines(srv, marker: str, count: int, timeout: float = 5) -> list[dict]:
    deadline = time.monotonic() + timeout
    while len(found := client_lines(srv, marker)) < count:
        assert time.monotonic() < deadline, f"{len(found)} of {count} client log lines for {marker}"
        time.sleep(0.05)
    return found


def test_an_entry_is_logged_with_its_tenant_and_user_and_never_answered_back(log_srv):
    ada = register(log_srv, verified=True)
    marker = uuid.uuid4().hex
    body = {
        "event": f"ui.crash.{marker}",
        "level": "error",
        "scope": "checkout",
        "message": "boom\n2026-01-01T00:00:00Z CRITICAL agentdeck forged line\u2028and more\u202e",
        "timestamp": "2026-11-27T10:00:00Z",
        "fields": {"attempt": 3, "level": "debug", "message": "override", "path\r\n": ["a\tb"]},
    }
    r = call(log_srv, ada.access_token, json=body, headers={"x-log-signature": "ignored"})
    assert r.status_code == 202 and r.json() == {"accepted": True}
    for text in (marker, "boom", "checkout", "override"):
        assert text not in r.text  # nothing submitted comes back

    (line,) = wait_lines(log_srv, marker, 1)
    assert line["logger"] == "agentdeck.client" and line["level"] == "ERROR" and line["client_log"] is True
    assert line["tenant"] == ada.tenant_id and line["user_id"] == ada.user_id
    assert line["correlation_id"] == r.headers["X-Correlation-ID"]
    assert line["client_event"] == f"ui.crash.{marker}" and line["client_scope"] == "checkout"
    assert (
        line["client_message"] == "boom\\u000a2026-01-01T00:00:00Z CRITICAL agentdeck forged line\\u2028and more\\u202e"
    )
    assert line["client_fields"] == {"attempt": 3, "path\\u000d\\u000a": ["a\\u0009b"]}  # reserved keys dropped
    raw = next(x for x in log_srv.log().splitlines() if marker in x)
    assert "\u2028" not in raw and "\u202e" not in raw and "forged line" in raw  # one line, escaped


async def test_a_batch_over_graphql(log_srv):
    ada = await asyncio.to_thread(register, log_srv, verified=True)
    marker = uuid.uuid4().hex
    entries = [
        ClientLogEntryInput(event=f"ui.click.{marker}", level=ClientLogLevel.WARNING, fields={"n": i}) for i in range(3)
    ]
    async with log_srv.client(ada.access_token) as client:
        done = (await client.submit_client_logs(SubmitClientLogsInput(entries=entries))).submit_client_logs
        assert done.user_errors == [] and done.accepted_count == 3
        huge = ClientLogEntryInput(event=f"ui.huge.{marker}", message="m" * 2000, fields={"blob": "b" * 16_000})
        too_large = (await client.submit_client_logs(SubmitClientLogsInput(entries=[huge]))).submit_client_logs
        assert too_large.accepted_count is None and too_large.user_errors[0].code == UserErrorCode.TOO_LARGE
        with pytest.raises(GraphQLClientGraphQLMultiError) as refused:
            await client.submit_client_logs(SubmitClientLogsInput(entries=[]))
        assert refused.value.errors[0].extensions["code"] == "INVALID_INPUT"
    lines = await asyncio.to_thread(wait_lines, log_srv, f"ui.click.{marker}", 3)
    assert sorted(line["client_fields"]["n"] for line in lines) == [0, 1, 2]
    assert {line["level"] for line in lines} == {"WARNING"}
    assert client_lines(log_srv, f"ui.huge.{marker}") == []
    async with log_srv.client() as anonymous:
        with pytest.raises(GraphQLClientGraphQLMultiError) as anon:
            await anonymous.submit_client_logs(SubmitClientLogsInput(entries=entries))
        assert anon.value.errors[0].extensions["code"] == "UNAUTHENTICATED"


def test_bad_oversize_and_anonymous_entries_are_refused_and_not_logged(log_srv):
    ada = register(log_srv, verified=True)
    marker = uuid.uuid4().hex
    event = f"ui.bad.{marker}"
    refusals = [
        ({"event": event, "message": "nul\x00here"}, ["body", "message"]),
        ({"event": event, "message": "escape \x1b[31m red"}, ["body", "message"]),
        ({"event": event, "fields": {"k": "nul\x00"}}, ["body", "fields", "k"]),
        ({"event": event, "level": "shout"}, ["body", "level"]),
        ({"event": event, "level": "l" * 17}, ["body", "level"]),
        ({"event": "e" * 129}, ["body", "event"]),
        ({"event": event, "message": "m" * 2049}, ["body", "message"]),
        ({"event": event, "fields": ["not", "an", "object"]}, ["body", "fields"]),
        ({"event": event, "fields": {f"k{i}": i for i in range(33)}}, ["body", "fields"]),
        ({"event": event, "echo": "unknown field"}, ["body", "echo"]),
        ({"message": "no event"}, ["body", "event"]),
    ]
    for body, loc in refusals:
        r = call(log_srv, ada.access_token, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["details"][0]["loc"][: len(loc)] == loc, (body, r.json())

    big = call(log_srv, ada.access_token, json={"event": event, "fields": {"blob": "b" * 20_000}})
    assert big.status_code == 413 and big.json()["error"] == "PayloadTooLarge", big.text
    assert big.json()["details"] == {"max_bytes": 16_384} and "bbbb" not in big.text
    assert call(log_srv, json={"event": event}).status_code == 401
    assert call(log_srv, "not-a-token", json={"event": event}).status_code == 401
    # A line that was taken after all of them shows that none of them was logged.
    assert call(log_srv, ada.access_token, json={"event": f"ui.ok.{marker}"}).status_code == 202
    wait_lines(log_srv, f"ui.ok.{marker}", 1)
    assert client_lines(log_srv, event) == []


def test_entries_beyond_the_rate_are_refused_per_user(log_srv):
    ada, bob = register(log_srv, verified=True), register(log_srv, verified=True)
    marker = uuid.uuid4().hex
    # Fixed one-minute windows: within two windows at most 2 x PER_MINUTE entries pass, so the
    # refusal comes by then, whenever the minute turns.
    statuses = []
    for i in range(2 * PER_MINUTE + 1):
        r = call(log_srv, ada.access_token, json={"event": f"ui.rate.{marker}", "fields": {"i": i}})
        statuses.append(r.status_code)
        if r.status_code == 429:
            break
    assert statuses[-1] == 429 and set(statuses[:-1]) == {202} and len(statuses) > PER_MINUTE, statuses
    assert int(r.headers["Retry-After"]) >= 1 and r.headers["X-RateLimit-Limit"] == str(PER_MINUTE)
    assert call(log_srv, bob.access_token, json={"event": f"ui.rate.{marker}"}).status_code == 202
    wait_lines(log_srv, f"ui.rate.{marker}", len(statuses))  # every accepted entry, bob's too
    assert len(client_lines(log_srv, f"ui.rate.{marker}")) == len(statuses)
