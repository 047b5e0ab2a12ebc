"""GraphiQL (/graphql) and Swagger UI (/docs) in a real browser: Debian's headless Chromium driven
by Playwright. Every request a page makes is routed through the test, and one for any host but
127.0.0.1 fails it: both tools must work offline, from agentdeck's own origin."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, WebSocketRoute, expect, sync_playwright

from agentdeck import browser_tools
from tests.harness import start_server
from tests.users import Account, register

# GraphiQL and Swagger UI do not depend on the database: SQLite shows them (tests/conftest.py).
ONE_BACKEND = True

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Bounds on each step. A step takes 0.1-3 s here (Swagger UI renders its 90 operations in 3-7 s on
# two busy cores); the bounds leave room for a loaded machine, and still end a stuck test.
LOAD_MS = 20_000  # a page's first load and render
STEP_MS = 10_000  # every other click, fill and wait
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

expect.set_options(timeout=STEP_MS)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Never a skip: `make test` installs Debian's chromium when it is missing.
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, timeout=30_000
        )
        yield chromium
        chromium.close()


@dataclass
class Visit:
    page: Page
    foreign: list[str] = field(default_factory=list)  # requests for another host, refused
    console: list[str] = field(default_factory=list)
    ws_sent: list[dict] = field(default_factory=list)  # what the page sent over its WebSockets

    def errors(self) -> list[str]:
        return [line for line in self.console if line.startswith(("error:", "pageerror:"))]


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob") or parts.hostname == "127.0.0.1"


@contextlib.contextmanager
def visit(browser: Browser, tmp_path: Path) -> Iterator[Visit]:
    """A fresh browser context whose every request is checked; on failure a screenshot and the
    console log are saved under `tmp_path` and their paths printed."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(STEP_MS)
    v = Visit(context.new_page())

    def route(r: Route) -> None:
        if _is_local(r.request.url):
            r.continue_()
        else:
            v.foreign.append(r.request.url)
            r.abort("blockedbyclient")

    def route_socket(ws: WebSocketRoute) -> None:
        if not _is_local(ws.url):
            v.foreign.append(ws.url)
            ws.close()
            return
        server = ws.connect_to_server()

        def forward(message: str | bytes) -> None:
            v.ws_sent.append(json.loads(message))
            server.send(message)

        ws.on_message(forward)  # server -> page flows on by itself

    context.route("**/*", route)
    context.route_web_socket(re.compile(".*"), route_socket)
    v.page.on("console", lambda m: v.console.append(f"{m.type}: {m.text}"))
    v.page.on("pageerror", lambda e: v.console.append(f"pageerror: {e}"))
    try:
        yield v
        assert not v.foreign, f"the page asked for hosts other than 127.0.0.1: {v.foreign}"
        assert not v.errors(), f"the page logged errors: {v.errors()}"
    except BaseException:
        shot, log = tmp_path / "failure.png", tmp_path / "console.log"
        with contextlib.suppress(Exception):
            v.page.screenshot(path=shot, timeout=STEP_MS)
        log.write_text("\n".join(v.console) + "\n", encoding="utf-8")
        print(f"browser evidence: screenshot {shot}, console log {log}")
        raise
    finally:
        context.close()


def registered(server) -> Account:
    """A verified account. Playwright's sync API keeps an event loop running on this thread, and
    `register` calls asyncio.run, so it runs on another."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(register, server, verified=True).result(timeout=30)


def fill_editor(page: Page, selector: str, text: str) -> None:
    """Replace a CodeMirror editor's text the way a person pastes it."""
    editor = page.locator(selector)
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(text)
    assert editor.evaluate("e => e.CodeMirror.getValue()") == text


QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
HEADER_EDITOR = "section[aria-label='Headers'] .graphiql-editor:not(.hidden) .CodeMirror"


def run_operation(page: Page, name: str, document: str) -> None:
    fill_editor(page, QUERY_EDITOR, document)
    # GraphiQL parses the editor a moment after a change; its tab shows the operation once it has.
    expect(page.locator(".graphiql-tab-active")).to_have_text(name)
    page.locator(".graphiql-execute-button").click()


def test_graphiql_runs_an_authenticated_query_and_a_subscription(server, browser, tmp_path):
    account = registered(server)
    started = server.gql(
        'mutation { startChat(input: {message: "hello from GraphiQL"}) { streamId } }', token=account.access_token
    )
    stream_id = started["data"]["startChat"]["streamId"]
    with visit(browser, tmp_path) as v:
        page = v.page
        page.goto(server.base_url + "/graphql", timeout=LOAD_MS)
        # The Explorer plugin opens and lists the schema's root fields (from introspection).
        page.get_by_role("button", name="Show GraphiQL Explorer").click(timeout=LOAD_MS)
        explorer = page.locator(".graphiql-explorer-root")
        expect(explorer.locator(".graphiql-explorer-field-view").filter(has_text=re.compile(r"^me$"))).to_be_visible()
        fill_editor(page, HEADER_EDITOR, json.dumps({"Authorization": f"Bearer {account.access_token}"}))

        run_operation(page, "Me", "query Me { me { databaseId } }")
        expect(page.locator(".graphiql-response")).to_contain_text(f'"databaseId": "{account.user_id}"')

        run_operation(
            page,
            "Turn",
            'subscription Turn { chatEvents(streamId: "%s") { __typename '
            "... on StreamEventBase { eventId } } }" % stream_id,
        )
        # The turn's events replay from the start; the last one shown is its terminal event.
        expect(page.locator(".graphiql-response")).to_contain_text('"__typename": "FinalEvent"')

        # A token the server refuses closes the socket, and the page says so.
        fill_editor(page, HEADER_EDITOR, json.dumps({"Authorization": "Bearer not-a-token"}))
        page.locator(".graphiql-execute-button").click()
        expect(page.locator(".graphiql-response")).to_contain_text("The server closed the WebSocket: 4403")

    # Over graphql-transport-ws, with the header editor's token in connection_init.
    assert v.ws_sent[0] == {"type": "connection_init", "payload": {"authorization": f"Bearer {account.access_token}"}}
    assert v.ws_sent[1]["type"] == "subscribe" and "chatEvents" in v.ws_sent[1]["payload"]["query"]


def test_swagger_ui_lists_operations_and_runs_an_authorized_call(server, browser, tmp_path):
    account = registered(server)
    paths = server.rest("GET", "/openapi.json").json()["paths"]
    operations = sum(1 for item in paths.values() for method in item if method in HTTP_METHODS)
    with visit(browser, tmp_path) as v:
        page = v.page
        page.goto(server.base_url + "/docs", timeout=LOAD_MS)
        expect(page.locator(".opblock")).to_have_count(operations, timeout=LOAD_MS)

        page.locator(".auth-wrapper").get_by_role("button", name="Authorize").click()
        dialog = page.locator(".modal-ux")
        dialog.get_by_label("auth-bearer-value").fill(account.access_token)
        dialog.get_by_role("button", name="Apply credentials").click()
        expect(dialog.get_by_role("button", name="Remove authorization")).to_be_visible()
        dialog.get_by_role("button", name="Close").click()

        me = page.locator("#operations-auth-Rest_GET_api_v1_auth_me")
        me.locator(".opblock-summary").click()
        me.get_by_role("button", name="Try it out").click()
        me.get_by_role("button", name="Execute").click()
        expect(me.locator(".live-responses-table tr.response .response-col_status")).to_have_text("200")
        expect(me.locator(".live-responses-table")).to_contain_text(account.user_id)


def test_graphiql_default_document_runs_against_the_schema():
    """The operations GraphiQL opens with (Login, Me) validate against the served graph."""
    from graphql import parse, validate

    from agentdeck.schema import build_schema

    script = (browser_tools.STATIC_DIR / "graphiql.js").read_text()
    document = re.search(r"DEFAULT_QUERY = `(.*?)`;", script, re.S).group(1)
    operations = re.findall(r"^(?:query|mutation) (\w+)", document, re.M)
    assert operations == ["Login", "Me"]
    assert validate(build_schema()._schema, parse(document)) == []


def test_tool_pages_hold_the_browser_to_this_origin(server):
    for path in ("/graphql", "/docs"):
        r = server.http.get(path, headers={"accept": "text/html"})
        assert r.status_code == 200, path
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "connect-src 'self'" in csp, csp
        for asset in re.findall(r'(?:src|href)="(/[^"]*)"', r.text):
            assert server.http.get(asset).status_code == 200, asset


def test_a_page_whose_assets_are_not_built_says_what_to_run(monkeypatch, tmp_path):
    monkeypatch.setattr(browser_tools, "STATIC_DIR", tmp_path)
    r = browser_tools.page_response(browser_tools.SWAGGER_UI)
    assert r.status_code == 503
    assert b"make install" in r.body and b"agentdeck/static/vendor/swagger-ui-dist/swagger-ui-bundle.js" in r.body


def test_graphiql_can_be_switched_off(tmp_path):
    srv = start_server(tmp_path, env={"AGENTDECK_GRAPHIQL": "false"})
    try:
        assert srv.http.get("/graphql", headers={"accept": "text/html"}).status_code == 404
        assert srv.gql("{ health { status } }")["data"]["health"]["status"] == "HEALTHY"
        assert srv.http.get("/docs").status_code == 200
    finally:
        srv.stop()
