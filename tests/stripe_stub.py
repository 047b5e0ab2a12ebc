"""A local server that answers the Stripe API calls agentdeck makes, so that tests run the real
`stripe` SDK (form-encoded requests, auth header, JSON answers) against it; plus webhook signing."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

PERIOD = 30 * 86400


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header for `payload` (scheme v1: HMAC-SHA256 of `<t>.<body>`)."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def _unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """`items[0][price]=p` → {"items": {"0": {"price": "p"}}}"""
    out: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


class StripeStub:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.subscriptions: dict[str, dict[str, Any]] = {}
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.send_header("Request-Id", f"req_{uuid.uuid4().hex[:12]}")
                self.end_headers()
                self.wfile.write(raw)

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                params = _unflatten(parse_qsl(raw, keep_blank_values=True))
                path = self.path.split("?")[0]
                stub.requests.append((method, path, params))
                if not self.headers.get("Authorization", "").startswith("Bearer sk_test_"):
                    return self._answer(401, {"error": {"type": "invalid_request_error", "message": "bad key"}})
                status, body = stub.route(method, path, params)
                self._answer(status, body)

            def do_GET(self) -> None:  # noqa: N802
                self._handle("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._handle("POST")

            def do_DELETE(self) -> None:  # noqa: N802
                self._handle("DELETE")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()

    def calls(self, method: str, prefix: str) -> list[dict[str, Any]]:
        return [p for m, path, p in self.requests if m == method and path.startswith(prefix)]

    def route(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        now = int(time.time())
        if method == "POST" and path == "/v1/customers":
            return 200, {
                "id": f"cus_{uuid.uuid4().hex[:14]}",
                "object": "customer",
                "email": params.get("email"),
                "metadata": params.get("metadata", {}),
            }
        if method == "POST" and path == "/v1/billing/meter_events":
            return 200, {
                "object": "billing.meter_event",
                "event_name": params["event_name"],
                "identifier": params.get("identifier") or uuid.uuid4().hex,
                "payload": params["payload"],
                "timestamp": int(params.get("timestamp", now)),
                "created": now,
                "livemode": False,
            }
        if method == "POST" and path == "/v1/subscriptions":
            item = params["items"]["0"]
            trial = int(params.get("trial_period_days") or 0)
            sub = {
                "id": f"sub_{uuid.uuid4().hex[:14]}",
                "object": "subscription",
                "customer": params["customer"],
                "status": "trialing" if trial else "active",
                "cancel_at_period_end": params.get("cancel_at_period_end") == "true",
                "cancel_at": None,
                "canceled_at": None,
                "trial_end": now + trial * 86400 if trial else None,
                "metadata": params.get("metadata", {}),
                "created": now,
                "items": {
                    "object": "list",
                    "data": [
                        {
                            "id": f"si_{uuid.uuid4().hex[:14]}",
                            "object": "subscription_item",
                            "price": {"id": item["price"], "object": "price"},
                            "quantity": int(item.get("quantity", 1)),
                            "current_period_start": now,
                            "current_period_end": now + PERIOD,
                        }
                    ],
                },
            }
            self.subscriptions[sub["id"]] = sub
            return 200, sub
        if path.startswith("/v1/subscriptions/"):
            sub = self.subscriptions.get(path.rsplit("/", 1)[1])
            if sub is None:
                return 404, {"error": {"type": "invalid_request_error", "message": "No such subscription"}}
            if method == "POST":
                item = sub["items"]["data"][0]
                if "items" in params:
                    change = params["items"]["0"]
                    item["price"] = {"id": change.get("price", item["price"]["id"]), "object": "price"}
                    item["quantity"] = int(change.get("quantity", item["quantity"]))
                if "cancel_at_period_end" in params:
                    sub["cancel_at_period_end"] = params["cancel_at_period_end"] == "true"
                    sub["cancel_at"] = item["current_period_end"] if sub["cancel_at_period_end"] else None
                sub["metadata"].update(params.get("metadata", {}))
            elif method == "DELETE":
                sub.update(status="canceled", canceled_at=now, cancel_at_period_end=False)
            return 200, sub
        return 404, {"error": {"type": "invalid_request_error", "message": f"unknown {method} {path}"}}
