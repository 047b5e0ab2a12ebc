"""The route table: one row per REST operation. Adding a documented operation is adding a row."""

from __future__ import annotations

from agentdeck.rest_compat.spec import SSE, Op

NOTICE_SSE = SSE(heartbeat=": ping")

ROUTES: tuple[Op, ...] = (
    Op("GET", "/", "service", tags=("default",), summary="Root"),
    Op("GET", "/health", "health", tags=("health",), summary="Health Check"),
    Op("GET", "/health/ready", "readiness", tags=("health",), summary="Readiness Check"),
    Op("GET", "/health/storage", "storageHealth", tags=("health",), summary="Storage Health"),
    Op("POST", "/api/v1/auth/token", "login", body="input", tags=("auth",), summary="Login For Access Token"),
    Op("POST", "/api/v1/auth/refresh", "refreshSession", body="input", tags=("auth",), summary="Refresh Access Token"),
    Op("POST", "/api/v1/auth/logout", "logout", body="input", envelope=True, tags=("auth",), summary="Logout Session"),
    Op("POST", "/api/v1/auth/logout/all", "logoutAll", envelope=True, tags=("auth",), summary="Logout All Sessions"),
    Op("GET", "/api/v1/auth/me", "me", envelope=True, tags=("auth",), summary="Get Current User Info"),
    Op("GET", "/api/v1/auth/signup-policy", "signupPolicy", tags=("auth",), summary="Get Signup Policy"),
    Op("POST", "/api/v1/auth/register", "register", body="input", status=201, tags=("auth",), summary="Register Tenant"),
    # -- sessions, email verification, passwords --
    # -- service accounts --
    # -- signup requests and invites --
    # -- tenant settings --
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
