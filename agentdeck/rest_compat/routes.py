"""The route table: one row per REST operation. Adding a documented operation is adding a row."""

from __future__ import annotations

from agentdeck.rest_compat.spec import SSE, Op

NOTICE_SSE = SSE(heartbeat=": ping")

ROUTES: tuple[Op, ...] = (
    Op("GET", "/", "service", tags=("default",), summary="Root"),
    Op("GET", "/health", "health", tags=("health",), summary="Health Check"),
    Op("GET", "/health/ready", "readiness", tags=("health",), summary="Readiness Check"),
    Op("GET", "/health/storage", "storageHealth", tags=("health",), summary="Storage Health"),
    Op(
        "POST",
        "/api/v1/notices",
        "publishNotice",
        body="input",
        status=201,
        tags=("platform",),
        summary="Broadcast an operator notice",
        documented=False,
    ),
    Op(
        "GET",
        "/api/v1/notices/stream",
        "notices",
        stream=NOTICE_SSE,
        tags=("platform",),
        summary="Stream operator notices",
        documented=False,
    ),
)
