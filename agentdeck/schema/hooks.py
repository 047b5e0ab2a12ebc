"""Strawberry's extension hooks, found once per extension class instead of once per request.

For every operation, Strawberry's runner looks up each extension's four lifecycle hooks (nine
extensions: 36 look-ups) and wraps each one it finds in a context manager made for that request
(`contextlib.contextmanager` over a bound method, with `functools.update_wrapper`): about a fifth
of the CPU of a `{ __typename }` over /graphql. Here each hook is wrapped once per extension
class and bound per request; what runs, in which order, and how an exception passes through the
hooks is Strawberry's own (its context managers and their exit stacks).
"""

from __future__ import annotations

import contextlib
import inspect
from asyncio import iscoroutinefunction
from collections.abc import AsyncIterator, Callable, Iterator
from functools import partial
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import (
    ExecutingContextManager,
    ExtensionContextManagerBase,
    OperationContextManager,
    ParsingContextManager,
    ValidationContextManager,
    WrappedHook,
)
from strawberry.extensions.runner import SchemaExtensionsRunner

# (extension class, hook name) -> a context manager factory taking the extension, and whether it
# is asynchronous; None when the class keeps SchemaExtension's default (no hook at that stage).
_WRAPPED: dict[tuple[type, str], tuple[Callable[[Any], Any], bool] | None] = {}


def _wrap(cls: type, name: str) -> tuple[Callable[[Any], Any], bool] | None:
    """What Strawberry's `get_hook` makes of the hook, as an unbound factory made once."""
    hook = getattr(cls, name)
    if hook is getattr(SchemaExtension, name):
        return None
    if inspect.isgeneratorfunction(hook):
        return contextlib.contextmanager(hook), False
    if inspect.isasyncgenfunction(hook):
        return contextlib.asynccontextmanager(hook), True
    if not callable(hook):
        raise ValueError(f"Hook {name} on {cls} must be callable, received {hook!r}")
    if iscoroutinefunction(hook):

        async def awaited(extension: Any) -> AsyncIterator[None]:
            await hook(extension)
            yield

        return contextlib.asynccontextmanager(awaited), True

    def called(extension: Any) -> Iterator[None]:
        hook(extension)
        yield

    return contextlib.contextmanager(called), False


class _CachedHooks(ExtensionContextManagerBase):
    def get_hook(self, extension: SchemaExtension) -> WrappedHook | None:
        key = (type(extension), self.HOOK_NAME)
        try:
            wrapped = _WRAPPED[key]
        except KeyError:
            wrapped = _WRAPPED[key] = _wrap(type(extension), self.HOOK_NAME)
        if wrapped is None:
            return None
        factory, is_async = wrapped
        return WrappedHook(extension=extension, hook=partial(factory, extension), is_async=is_async)


class _Operation(_CachedHooks, OperationContextManager):
    __slots__ = ()


class _Validation(_CachedHooks, ValidationContextManager):
    __slots__ = ()


class _Parsing(_CachedHooks, ParsingContextManager):
    __slots__ = ()


class _Executing(_CachedHooks, ExecutingContextManager):
    __slots__ = ()


class CachedHooksRunner(SchemaExtensionsRunner):
    def operation(self) -> OperationContextManager:
        return _Operation(self.extensions)

    def validation(self) -> ValidationContextManager:
        return _Validation(self.extensions)

    def parsing(self) -> ParsingContextManager:
        return _Parsing(self.extensions)

    def executing(self) -> ExecutingContextManager:
        return _Executing(self.extensions)
