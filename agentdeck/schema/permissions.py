"""Permission classes shared by GraphQL and REST (REST executes the same fields).

    @strawberry.field(extensions=allow(Scope("conversations:read"), TenantRole("member")))

The rules themselves live in `domain/common/access.py`.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension

from agentdeck.domain.common import access


class Authenticated(BasePermission):
    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        access.require_principal(info.context)
        return True


class Verified(BasePermission):
    """A principal whose token does not say its email is unverified."""

    async def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        await access.require_verified(info.context)
        return True


class Scope(BasePermission):
    def __init__(self, scope: str) -> None:
        self.scope = scope

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        access.require_scope(info.context, self.scope)
        return True


class TenantRole(BasePermission):
    """An active tenant context (verified email, matching headers) with at least this role."""

    def __init__(self, minimum: str = "viewer") -> None:
        self.minimum = minimum

    async def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        await access.require_role(info.context, self.minimum)
        return True


class OptionalBearer(BasePermission):
    """The field reads a bearer token when one is sent (and refuses a bad one itself), and
    serves anonymous callers too: grants everything, documents the optional token.

    openapi.json lists an operation under `security` when its field declares any permission:
    required, unless every one of them says `bearer = "optional"`.
    """

    bearer = "optional"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return True


def allow(*permissions: BasePermission) -> list[FieldExtension]:
    """`@strawberry.field(extensions=allow(Scope("tools:read"), TenantRole("admin")))`"""
    return [PermissionExtension(permissions=list(permissions), use_directives=False)]
