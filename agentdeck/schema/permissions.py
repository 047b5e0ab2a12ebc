"""Permission classes shared by GraphQL and REST (REST executes the same fields)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.permission import BasePermission

from agentdeck.errors import Forbidden, Unauthenticated


class RequireScope(BasePermission):
    """`permission_classes=[RequireScope.of("platform:operator")]`"""

    scope: str = ""

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        if principal is None:
            raise info.context.auth_error or Unauthenticated("Not authenticated")
        if not principal.has_scope(self.scope):
            raise Forbidden("Insufficient scopes for this operation.")
        return True

    @classmethod
    def of(cls, scope: str) -> type[RequireScope]:
        return type(f"RequireScope[{scope}]", (cls,), {"scope": scope})
