"""What a schema change does to clients written against the old schema, as graphql-core itself
judges it (`find_breaking_changes`, `find_dangerous_changes`): no diffing of our own. Breaking:
a query that worked fails (a field, type, argument or enum value gone, a type narrowed). Dangerous:
it still validates but may behave differently (an enum value or union member added, a default
changed). Both sides are SDL text, so the served schema is compared exactly as it is exported."""

from __future__ import annotations

import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from graphql import GraphQLError, GraphQLSchema, build_schema
from graphql.utilities import find_breaking_changes, find_dangerous_changes

GIT_TIMEOUT_S = 30


class SchemaSourceError(Exception):
    """An SDL source that cannot be read or is not a valid schema; the message says which."""


@dataclass(frozen=True)
class SchemaChange:
    criticality: str  # "BREAKING" or "DANGEROUS"
    type: str  # graphql-core's BreakingChangeType / DangerousChangeType name
    description: str

    def line(self) -> str:
        return f"{self.criticality} {self.type} {self.description}"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def schema_changes(old_sdl: str, new_sdl: str, old_name: str = "old", new_name: str = "new") -> list[SchemaChange]:
    """The breaking changes from `old_sdl` to `new_sdl`, then the dangerous ones, in graphql-core's order."""
    old, new = _parse(old_sdl, old_name), _parse(new_sdl, new_name)
    return [SchemaChange("BREAKING", c.type.name, c.description) for c in find_breaking_changes(old, new)] + [
        SchemaChange("DANGEROUS", c.type.name, c.description) for c in find_dangerous_changes(old, new)
    ]


def read_sdl(source: str) -> str:
    """An SDL file's text; or, for `REV:path` that is not a file, the path as it is at git revision
    REV (`git show REV:path`, the path relative to the repository root, run in the current folder)."""
    path = Path(source)
    if path.is_file():
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SchemaSourceError(f"cannot read {source}: {exc}") from exc
    if ":" not in source or source.startswith("-"):  # a leading '-' would reach git as an option
        raise SchemaSourceError(
            f"{source}: no such file (a git revision is written REV:path, e.g. origin/main:schema.graphql)"
        )
    try:
        shown = subprocess.run(
            ["git", "show", source],
            capture_output=True,
            encoding="utf-8",
            errors="replace",
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError as exc:
        raise SchemaSourceError(f"{source}: reading a git revision needs git on PATH") from exc
    except subprocess.TimeoutExpired as exc:
        raise SchemaSourceError(f"{source}: git show took longer than {GIT_TIMEOUT_S}s") from exc
    if shown.returncode != 0:
        raise SchemaSourceError(f"{source}: {shown.stderr.strip() or 'git show failed'}")
    return shown.stdout


def _parse(sdl: str, name: str) -> GraphQLSchema:
    try:
        return build_schema(sdl)
    except (GraphQLError, TypeError) as exc:  # syntax errors, and invalid SDL (unknown types...)
        raise SchemaSourceError(f"{name} is not a valid GraphQL schema: {exc}") from exc
