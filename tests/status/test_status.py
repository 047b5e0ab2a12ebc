"""Status page, RSS, incidents and alert subscriptions — REST (checked against the contract) and
the native GraphQL fields through a real server (their rules: test_status_graph.py)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
import subprocess
import sys
import time
import uuid

import feedparser
import pytest

from tests.harness import (
    BOOTSTRAP_SECRET,
    ROOT,
    assert_documented,
    free_port,
    fresh_database,
    start_server,
)
from tests.smtp_sink import SmtpSink
from tests.users import register
from tests.webhook_receiver import Receiver

STATUS, SUBS = "/api/v1/status", "/api/v1/status/subscriptions"
SUB = "/api/v1/status/subscriptions/{subscription_id}"
RESEND = "/api/v1/status/incidents/{incident_id}/resend"
OPEN = """mutation($input: OpenStatusIncidentInput!) { openStatusIncident(input: $input) {
  incident { id databaseId service state severity impact } userErrors { field code } } }"""
RESOLVE = """mutation($id: ID!) { resolveStatusIncident(input: {id: $id}) {
  incident { id state resolvedAt } userErrors { field code } } }"""
TOKEN = re.compile(r"[?&]token=([A-Za-z0-9_-]+)")
UNSUB = re.compile(r"unsubscribe_token=([A-Za-z0-9_-]+)")
FAST = {"AGENTDECK_STATUS_PROBE_INTERVAL_SECONDS": "0.2"}


def call(srv, method: str, template: str, token: str | None = None, **kw):
    r = srv.rest(method, template.format(**kw.pop("ids", {})), token=token, **kw)
    assert_documented(method, template, r)
    return r


@pytest.fixture(scope="module")
def status_srv(backend, tmp_path_factory):
    """Mails through a local sink; webhooks may target loopback (the test-only setting)."""
    sink, receiver = SmtpSink().start(), Receiver()
    tmp = tmp_path_factory.mktemp(f"status-{backend}")
    with fresh_database(backend, tmp) as url:
        env = {**FAST, "AGENTDECK_SMTP_URL": sink.url, "AGENTDECK_STATUS_WEBHOOK_ALLOW_LOOPBACK": "true"}
        srv = start_server(tmp, env=env, backend=backend, database_url=url)
        srv.sink, srv.receiver = sink, receiver  # type: ignore[attr-defined]
        try:
            yield srv
        finally:
            srv.stop()
            sink.stop()
            receiver.stop()


@pytest.fixture(scope="module")
def strict_srv(backend, tmp_path_factory):
    """Production webhook rules (no loopback); its own rate-limit budget."""
    tmp = tmp_path_factory.mktemp(f"status-strict-{backend}")
    with fresh_database(backend, tmp) as url:
        srv = start_server(tmp, env=FAST, backend=backend, database_url=url)
        yield srv
        srv.stop()


def open_incident(srv, service: str = "Database", severity: str = "major", **extra) -> dict:
    body = srv.gql(
        OPEN,
        {
            "input": {
                "service": service,
                "impact": f"Slow queries {uuid.uuid4().hex[:6]}",
                "severity": severity.upper(),
                **extra,
            }
        },
        token=BOOTSTRAP_SECRET,
    )
    assert "errors" not in body and not body["data"]["openStatusIncident"]["userErrors"], body
    return body["data"]["openStatusIncident"]["incident"]


def wait_status(srv, predicate, timeout: float = 15) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        r = call(srv, "GET", STATUS)
        assert r.status_code == 200, r.text
        page = r.json()
        if predicate(page):
            return page
        if time.monotonic() > deadline:
            raise AssertionError(f"status never matched: {page}")
        time.sleep(0.2)


def by_name(page: dict) -> dict[str, str]:
    return {s["name"]: s["status"] for s in page["services"]}


# The page and the feed -------------------------------------------------------------------------


def test_status_page_is_live(status_srv):
    page = wait_status(status_srv, lambda p: set(by_name(p).values()) == {"operational"})
    assert set(by_name(page)) == {"API", "Database", "Redis", "Storage", "LLM provider", "Payments"}
    assert page["overview"]["state"] == "All systems operational"
    uptime = {m["label"]: m["value"] for m in page["uptime_metrics"]}
    assert uptime["Uptime (24 hours)"] == "100.00%"
    gql = status_srv.gql(
        "{ platformStatus { condition headline services { nodes { name condition } } uptime { nodes { days percent } } } }"
    )["data"]["platformStatus"]
    assert gql["condition"] == "OPERATIONAL" and gql["headline"] == "All systems operational"
    assert {s["condition"] for s in gql["services"]["nodes"]} == {"OPERATIONAL"}
    assert {u["days"]: u["percent"] for u in gql["uptime"]["nodes"]}[1] == 100.0


def test_incidents_show_on_the_page_and_in_both_feeds(status_srv):
    incident = open_incident(status_srv, "Storage", severity="minor")
    page = wait_status(status_srv, lambda p: by_name(p)["Storage"] == "degraded")
    listed = {i["incident_id"]: i for i in page["incidents"]}
    assert listed[incident["databaseId"]]["state"] == "investigating"
    for path in ("/api/v1/status/rss", "/api/v1/status.rss"):
        r = status_srv.rest("GET", path)
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/rss+xml; charset=utf-8"
        assert r.content.startswith(b"<?xml")
        feed = feedparser.parse(r.content)
        assert not feed.bozo, feed.bozo_exception
        assert feed.version == "rss20"
        entry = next(e for e in feed.entries if e.id == incident["databaseId"])
        assert entry.title == f"Storage: {incident['impact']}"
    rss = status_srv.gql("{ platformStatusRss }")["data"]["platformStatusRss"]
    assert not feedparser.parse(rss).bozo
    resolved = status_srv.gql(RESOLVE, {"id": incident["id"]}, token=BOOTSTRAP_SECRET)
    assert resolved["data"]["resolveStatusIncident"]["incident"]["state"] == "RESOLVED"
    wait_status(status_srv, lambda p: by_name(p)["Storage"] == "operational")


def test_only_status_managers_manage_incidents(status_srv):
    anonymous = status_srv.gql(OPEN, {"input": {"service": "API", "impact": "x"}})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    user = register(status_srv, verified=True)
    member = status_srv.gql(OPEN, {"input": {"service": "API", "impact": "x"}}, token=user.access_token)
    assert member["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    empty = status_srv.gql(OPEN, {"input": {"service": "API", "impact": " "}}, token=BOOTSTRAP_SECRET)
    assert empty["data"]["openStatusIncident"] == {
        "incident": None,
        "userErrors": [{"field": ["input", "impact"], "code": "INVALID"}],
    }


def test_status_changes_stream_over_websocket(status_srv):
    query = """subscription { statusChanges { __typename
      ... on IncidentChanged { service state incident { id severity } }
      ... on ServiceConditionChanged { serviceKey condition } } }"""
    with status_srv.subscription(query) as sub:
        time.sleep(0.3)
        incident = open_incident(status_srv, "Payments")
        while True:
            change = sub.next(timeout=10)["data"]["statusChanges"]
            if change["__typename"] == "IncidentChanged" and change["incident"]["id"] == incident["id"]:
                break
        assert change == {
            "__typename": "IncidentChanged",
            "service": "Payments",
            "state": "INVESTIGATING",
            "incident": {"id": incident["id"], "severity": "MAJOR"},
        }


def test_incident_cli(status_srv):
    def cli(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "agentdeck.cli", "incident", *args],
            env=status_srv.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    out = cli("open", "LLM provider", "Elevated error rates", "--severity", "major")
    incident_id = re.search(r"incident_id=(\S+)", out).group(1)
    assert "state=identified" in cli("update", incident_id, "--state", "identified")
    wait_status(status_srv, lambda p: by_name(p)["LLM provider"] == "degraded")
    assert "state=resolved" in cli("resolve", incident_id)
    page = wait_status(status_srv, lambda p: by_name(p)["LLM provider"] == "operational")
    assert {i["incident_id"]: i["state"] for i in page["incidents"]}[incident_id] == "resolved"


# Email subscriptions ---------------------------------------------------------------------------


def _mailed(srv, to: str, subject: str) -> str:
    return srv.sink.wait_for(lambda m: m.to == to and m.subject.startswith(subject), timeout=10).text


def test_email_subscription_verify_alert_resend_unsubscribe(status_srv):
    email = f"watcher-{uuid.uuid4().hex[:8]}@example.com"
    r = call(status_srv, "POST", SUBS, json={"channel": "email", "target": email, "severity_filter": "all"})
    assert r.status_code == 201, r.text
    sub = r.json()
    assert sub["status"] == "pending_verification" and sub["target_masked"] == "w***@example.com"
    assert sub["created_by"] == "public" and sub["webhook_secret"] is None
    text = _mailed(status_srv, email, "Confirm your status updates subscription")
    token, unsubscribe = TOKEN.search(text).group(1), UNSUB.search(text).group(1)

    r = call(status_srv, "POST", SUBS + "/verify", json={"token": token})
    assert r.status_code == 200 and r.json()["status"] == "active"
    assert call(status_srv, "POST", SUBS + "/verify", json={"token": token}).status_code == 404  # single use
    dup = call(status_srv, "POST", SUBS, json={"channel": "email", "target": email})
    assert dup.status_code == 409

    incident = open_incident(status_srv, "Redis", severity="maintenance")
    alert = _mailed(status_srv, email, "[investigating] Redis")
    assert incident["impact"] in alert
    r = call(
        status_srv,
        "POST",
        RESEND,
        BOOTSTRAP_SECRET,
        ids={"incident_id": incident["databaseId"]},
        json={"severity": "all"},
    )
    assert r.status_code == 202 and r.json()["dispatched"] >= 1
    before = r.json()["dispatched"]

    wrong = call(status_srv, "DELETE", SUB, ids={"subscription_id": sub["id"]}, params={"token": "nope"})
    assert wrong.status_code == 400
    r = call(status_srv, "DELETE", SUB, ids={"subscription_id": sub["id"]}, params={"token": unsubscribe})
    assert r.status_code == 204 and r.content == b""
    again = call(
        status_srv,
        "POST",
        RESEND,
        BOOTSTRAP_SECRET,
        ids={"incident_id": incident["databaseId"]},
        json={"severity": "all"},
    )
    assert again.json()["dispatched"] == before - 1
    gql = status_srv.gql(
        "mutation($id: ID!) { resendStatusIncident(input: {id: $id, severity: ALL}) { dispatchedCount } }",
        {"id": incident["id"]},
        token=BOOTSTRAP_SECRET,
    )
    assert gql["data"]["resendStatusIncident"]["dispatchedCount"] == before - 1


def test_email_subscription_over_graphql(status_srv):
    email = f"gql-{uuid.uuid4().hex[:8]}@example.com"
    created = status_srv.gql(
        "mutation($t: String!) { createStatusSubscription(input: {channel: EMAIL, target: $t}) "
        "{ statusSubscription { id status severityFilter } webhookSecret userErrors { code } } }",
        {"t": email},
    )["data"]["createStatusSubscription"]
    assert created["userErrors"] == [] and created["webhookSecret"] is None
    sub = created["statusSubscription"]
    assert sub["severityFilter"] == "MAJOR" and sub["status"] == "PENDING_VERIFICATION"
    token = TOKEN.search(_mailed(status_srv, email, "Confirm")).group(1)
    verified = status_srv.gql(
        "mutation($t: String!) { verifyStatusSubscription(input: {token: $t}) { statusSubscription { status } } }",
        {"t": token},
    )
    assert verified["data"]["verifyStatusSubscription"]["statusSubscription"]["status"] == "ACTIVE"
    revoked = status_srv.gql(
        "mutation($id: ID!) { revokeStatusSubscription(input: {id: $id}) { statusSubscription { status } } }",
        {"id": sub["id"]},
        token=BOOTSTRAP_SECRET,
    )
    assert revoked["data"]["revokeStatusSubscription"]["statusSubscription"]["status"] == "REVOKED"


# Webhook subscriptions -------------------------------------------------------------------------


def _signed(headers: dict[str, str], body: bytes, secret: str) -> bool:
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers.get("X-Status-Signature", ""), expected)


def test_webhook_challenge_signed_alerts_and_retries(status_srv):
    receiver = status_srv.receiver
    path = f"/hook-{uuid.uuid4().hex[:6]}"
    r = call(
        status_srv,
        "POST",
        SUBS,
        BOOTSTRAP_SECRET,
        json={"channel": "webhook", "target": receiver.url(path), "severity_filter": "major"},
    )
    assert r.status_code == 201, r.text
    sub = r.json()
    assert re.fullmatch(r"[0-9a-f]{64}", sub["webhook_secret"]) and sub["target_masked"] == "http:/…"
    _, headers, body = receiver.wait_for(lambda p, b: p == path and "challenge" in b)
    assert _signed(headers, body, sub["webhook_secret"])
    challenge = json.loads(body)
    assert (
        challenge["subscription_id"] == sub["id"]
        and body == json.dumps(challenge, separators=(",", ":"), sort_keys=True).encode()
    )
    assert call(status_srv, "POST", SUBS + "/challenge", json={"token": "forged"}).status_code == 404
    r = call(status_srv, "POST", SUBS + "/challenge", json={"token": challenge["challenge"]})
    assert r.status_code == 200 and r.json()["status"] == "active"

    receiver.responses[path] = [503, 200]  # the first alert fails, the retry succeeds
    incident = open_incident(status_srv, "API", severity="major")
    _, headers, body = receiver.wait_for(lambda p, b: p == path and b.get("incident_id") == incident["databaseId"])
    alert = json.loads(body)
    assert _signed(headers, body, sub["webhook_secret"])
    assert set(alert) == {
        "dispatched_at",
        "impact",
        "incident_id",
        "occurred_at",
        "service",
        "state",
        "subscription_id",
    }
    deadline = time.monotonic() + 10
    while receiver.count(path) < 3 and time.monotonic() < deadline:  # challenge, failed try, retry
        time.sleep(0.1)
    assert receiver.count(path) == 3
    minor = open_incident(status_srv, "API", severity="minor")  # filtered out by "major"
    time.sleep(1)
    assert not [b for p, _, b in receiver.received if p == path and minor["databaseId"].encode() in b]


def test_webhook_subscriptions_need_a_status_manager(status_srv):
    body = {"channel": "webhook", "target": status_srv.receiver.url("/x")}
    assert call(status_srv, "POST", SUBS, json=body).status_code == 401
    user = register(status_srv, verified=True)
    assert call(status_srv, "POST", SUBS, user.access_token, json=body).status_code == 403
    bad = call(status_srv, "POST", SUBS, "forged", json={"channel": "email", "target": "a@example.com"})
    assert bad.status_code == 401
    sub_id = str(uuid.uuid4())
    assert call(status_srv, "DELETE", SUB, ids={"subscription_id": sub_id}).status_code == 401
    assert call(status_srv, "DELETE", SUB, BOOTSTRAP_SECRET, ids={"subscription_id": sub_id}).status_code == 404
    assert call(status_srv, "GET", SUBS, user.access_token).status_code == 403
    assert call(status_srv, "POST", RESEND, user.access_token, ids={"incident_id": sub_id}, json={}).status_code == 403


def test_redirects_are_not_followed(status_srv):
    r = call(
        status_srv,
        "POST",
        SUBS,
        BOOTSTRAP_SECRET,
        json={"channel": "webhook", "target": status_srv.receiver.url("/redirect")},
    )
    assert r.status_code == 502 and r.json()["message"] == "Webhook challenge delivery failed."
    time.sleep(0.3)
    assert status_srv.receiver.count("/internal") == 0


@pytest.mark.parametrize(
    "target",
    [
        "http://example.com/hook",  # not https
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://[::1]/hook",
        "https://10.0.0.5/hook",
        "https://192.168.1.1/hook",
        "https://172.16.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://0.0.0.0/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://user:pw@example.com/hook",
        "ftp://example.com/x",
        "not a url",
    ],
)
def test_unsafe_webhook_targets_are_refused(strict_srv, target):
    r = call(strict_srv, "POST", SUBS, BOOTSTRAP_SECRET, json={"channel": "webhook", "target": target})
    assert r.status_code == 400, r.text


def test_listing_subscriptions(status_srv):
    for _ in range(2):
        call(status_srv, "POST", SUBS, json={"channel": "email", "target": f"l-{uuid.uuid4().hex[:8]}@example.com"})
    page = call(status_srv, "GET", SUBS, BOOTSTRAP_SECRET, params={"all": "true", "limit": 1})
    assert page.status_code == 200 and len(page.json()["items"]) == 1 and page.json()["next_cursor"] == "1"
    nxt = call(status_srv, "GET", SUBS, BOOTSTRAP_SECRET, params={"all": "true", "limit": 1, "cursor": "1"})
    assert nxt.json()["items"][0]["id"] != page.json()["items"][0]["id"]
    assert call(status_srv, "GET", SUBS, BOOTSTRAP_SECRET, params={"cursor": "-1"}).status_code == 422
    assert call(status_srv, "GET", SUBS).status_code == 401
    gql = status_srv.gql(
        "{ operator { statusSubscriptions(first: 1) { nodes { databaseId } pageInfo { hasNextPage } } } }",
        token=BOOTSTRAP_SECRET,
    )["data"]["operator"]["statusSubscriptions"]
    assert gql["pageInfo"]["hasNextPage"] and len(gql["nodes"]) == 1


def test_invalid_input_is_422(status_srv):
    bad_bodies = [
        {"channel": "sms", "target": "a@example.com"},
        {"channel": "email"},
        {"channel": "email", "target": "not-an-email"},
        {"channel": "email", "target": "a@example.com", "unknown": 1},
        {"channel": "email", "target": "a@example.com", "severity_filter": "minor"},
    ]
    for body in bad_bodies:
        assert call(status_srv, "POST", SUBS, json=body).status_code == 422, body
    assert call(status_srv, "POST", SUBS + "/verify", json={}).status_code == 422
    assert call(status_srv, "POST", SUBS + "/challenge", json={"token": 5}).status_code == 422
    assert call(status_srv, "DELETE", SUB, ids={"subscription_id": "nope"}).status_code == 422
    unknown = {"incident_id": str(uuid.uuid4())}
    assert call(status_srv, "POST", RESEND, BOOTSTRAP_SECRET, ids=unknown, json={}).status_code == 404
    assert call(status_srv, "POST", RESEND, BOOTSTRAP_SECRET, ids=unknown, json={"severity": "huge"}).status_code == 422


def test_email_subscriptions_are_rate_limited_per_ip(strict_srv):
    codes = [
        call(
            strict_srv, "POST", SUBS, json={"channel": "email", "target": f"r-{uuid.uuid4().hex[:8]}@example.com"}
        ).status_code
        for _ in range(6)
    ]
    assert codes == [201] * 5 + [429]


# A dependency going down and recovering ----------------------------------------------------------


@contextlib.contextmanager
def redis_server(port: int):
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(10)


def test_the_page_follows_redis_going_down_and_recovering(tmp_path):
    port = free_port()
    env = {**FAST, "AGENTDECK_REDIS_URL": f"redis://127.0.0.1:{port}/0"}
    with redis_server(port):
        time.sleep(0.5)
        srv = start_server(tmp_path, env=env)
    try:
        page = wait_status(srv, lambda p: by_name(p)["Redis"] == "major_outage")
        assert page["overview"]["state"] == "Partial outage" and "Redis" in page["overview"]["description"]
        with redis_server(port):
            wait_status(srv, lambda p: by_name(p)["Redis"] == "operational")
        wait_status(srv, lambda p: by_name(p)["Redis"] == "major_outage")
        uptime = {m["label"]: m for m in wait_status(srv, lambda p: True)["uptime_metrics"]}
        assert float(uptime["Uptime (24 hours)"]["value"].rstrip("%")) < 100
    finally:
        srv.stop()
