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
    Op("GET", "/api/v1/auth/sessions", "userSessions", tags=("auth",), summary="List User Sessions",
       query={"include_revoked": "includeRevoked", "limit": "limit", "offset": "offset", "tenant_id": "tenantId"}),
    Op("DELETE", "/api/v1/auth/sessions/{session_id}", "revokeSession", envelope=True, tags=("auth",),
       summary="Revoke User Session"),
    Op("POST", "/api/v1/auth/email/send", "sendEmailVerification", status=202, envelope=True, tags=("auth",),
       summary="Send Email Verification"),
    Op("POST", "/api/v1/auth/email/verify", "verifyEmail", body="input", envelope=True, tags=("auth",),
       summary="Verify Email Token"),
    Op("POST", "/api/v1/auth/password/forgot", "forgotPassword", body="input", status=202, envelope=True,
       tags=("auth",), summary="Request Password Reset"),
    Op("POST", "/api/v1/auth/password/confirm", "confirmPasswordReset", body="input", envelope=True,
       tags=("auth",), summary="Confirm Password Reset"),
    Op("POST", "/api/v1/auth/password/change", "changePassword", body="input", envelope=True, tags=("auth",),
       summary="Change Password"),
    Op("POST", "/api/v1/auth/password/reset", "resetUserPassword", body="input", envelope=True, tags=("auth",),
       summary="Admin Reset Password"),
    # -- service accounts --
    Op("POST", "/api/v1/auth/service-accounts/issue", "issueServiceAccountToken", body="input", status=201,
       tags=("auth",), summary="Issue Service Account Token"),
    Op("POST", "/api/v1/auth/service-accounts/browser-issue", "issueServiceAccountTokenFromBrowser", body="input",
       status=201, tags=("auth",), summary="Issue Service Account Token From Browser"),
    Op("GET", "/api/v1/auth/service-accounts/tokens", "serviceAccountTokens",
       query={"account": "account", "fingerprint": "fingerprint", "status": "status", "tenant_id": "tenantId",
              "include_global": "includeGlobal", "limit": "limit", "offset": "offset"},
       tags=("auth",), summary="List Service Account Tokens"),
    Op("POST", "/api/v1/auth/service-accounts/tokens/{jti}/revoke", "revokeServiceAccountToken", body="input",
       envelope=True, tags=("auth",), summary="Revoke Service Account Token"),
    # -- signup requests and invites --
    Op("POST", "/api/v1/auth/request-access", "requestAccess", body="input", status=202, tags=("auth",),
       summary="Request Signup Access"),
    Op("GET", "/api/v1/auth/signup-requests", "signupRequests", query={"status": "status", "limit": "limit", "offset": "offset"},
       tags=("auth",), summary="List Signup Requests"),
    Op("POST", "/api/v1/auth/signup-requests/{request_id}/approve", "approveSignupRequest",
       path_args={"request_id": "requestId"}, body="input", tags=("auth",), summary="Approve Signup Request"),
    Op("POST", "/api/v1/auth/signup-requests/{request_id}/reject", "rejectSignupRequest",
       path_args={"request_id": "requestId"}, body="input", tags=("auth",), summary="Reject Signup Request"),
    Op("GET", "/api/v1/auth/invites", "signupInvites",
       query={"status": "status", "email": "email", "request_id": "requestId", "limit": "limit", "offset": "offset"},
       tags=("auth",), summary="List Signup Invites"),
    Op("POST", "/api/v1/auth/invites", "issueSignupInvite", body="input", status=201, tags=("auth",),
       summary="Issue Signup Invite"),
    Op("POST", "/api/v1/auth/invites/{invite_id}/revoke", "revokeSignupInvite", path_args={"invite_id": "inviteId"},
       tags=("auth",), summary="Revoke Signup Invite"),
    # -- chat, agents, tools, conversations --
    # -- workflows --
    # -- billing --
    # -- storage, vector stores, containers --
    # -- status page, contact --
    # -- tenant settings --
    Op("GET", "/api/v1/tenants/settings", "tenantSettings", etag="version", tags=("tenants",), summary="Get Tenant Settings"),
    Op(
        "PUT",
        "/api/v1/tenants/settings",
        "updateTenantSettings",
        body="input",
        header={"If-Match": "ifMatch"},
        etag="version",
        tags=("tenants",),
        summary="Update Tenant Settings",
    ),
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
