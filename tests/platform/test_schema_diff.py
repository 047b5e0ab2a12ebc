"""`agentdeck schema-diff`: graphql-core's breaking and dangerous changes between the schema
clients were written against and the one served now; exit 1 only when a change breaks them."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from agentdeck.cli import app
from tests.harness import ROOT

COMMITTED = (ROOT / "schema.graphql").read_text()

# Each edit makes an "old" schema that promised clients something the committed one no longer has,
# with the change graphql-core reports: its type and a part of its description (the wording is its own).
EXTRA_FIELD = (
    "type Query {\n",
    "type Query {\n  legacyBanner: String\n",
    ("FIELD_REMOVED", "Query.legacyBanner"),
)
REMOVED_ENUM_VALUE = (
    "enum IncidentSeverity {\n  MAJOR\n",
    "enum IncidentSeverity {\n  CRITICAL\n  MAJOR\n",
    ("VALUE_REMOVED_FROM_ENUM", "IncidentSeverity.CRITICAL"),
)
CHANGED_ARGUMENT_TYPE = (
    "agent(key: String!): Agent",
    "agent(key: Int!): Agent",
    ("ARG_CHANGED_KIND", "Query.agent(key:) has changed type from Int! to String!"),
)


def edited(sdl: str, before: str, after: str) -> str:
    assert sdl.count(before) == 1, f"the committed schema changed: {before!r} is not in it once"
    return sdl.replace(before, after)


def changes(result) -> list[tuple[str, ...]]:
    """(criticality, type, description) of each reported line; the last line is the summary."""
    return [tuple(line.split(" ", 2)) for line in result.stdout.splitlines()[:-1]]


def one_of(reported: tuple[str, ...], criticality: str, expected: tuple[str, str]) -> bool:
    return reported[:2] == (criticality, expected[0]) and expected[1] in reported[2]


def diff(*args: str):
    return CliRunner().invoke(app, ["schema-diff", *args])


def write(tmp_path, name: str, sdl: str) -> str:
    (tmp_path / name).write_text(sdl)
    return str(tmp_path / name)


def test_the_served_schema_breaks_nothing_the_committed_one_promised(monkeypatch):
    monkeypatch.chdir(ROOT)  # both defaults: ./schema.graphql against the schema the code serves
    result = diff()
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["0 breaking, 0 dangerous: schema.graphql -> the served schema"]


def test_what_the_served_schema_dropped_is_breaking_and_fails(tmp_path):
    old = COMMITTED
    for before, after, _ in (EXTRA_FIELD, REMOVED_ENUM_VALUE, CHANGED_ARGUMENT_TYPE):
        old = edited(old, before, after)
    result = diff(write(tmp_path, "old.graphql", old))  # NEW: the served schema
    assert result.exit_code == 1, result.output
    reported = changes(result)
    assert len(reported) == 3
    for _, _, expected in (EXTRA_FIELD, REMOVED_ENUM_VALUE, CHANGED_ARGUMENT_TYPE):
        assert any(one_of(r, "BREAKING", expected) for r in reported), (expected, reported)
    assert result.stdout.splitlines()[-1] == f"3 breaking, 0 dangerous: {tmp_path / 'old.graphql'} -> the served schema"


@pytest.mark.parametrize("edit", [EXTRA_FIELD, REMOVED_ENUM_VALUE, CHANGED_ARGUMENT_TYPE], ids=lambda e: e[2][0])
def test_each_breaking_change_alone_fails(tmp_path, edit):
    before, after, expected = edit
    result = diff(write(tmp_path, "old.graphql", edited(COMMITTED, before, after)), str(ROOT / "schema.graphql"))
    assert result.exit_code == 1, result.output
    [reported] = changes(result)
    assert one_of(reported, "BREAKING", expected), reported


def test_a_new_enum_value_is_dangerous_and_passes(tmp_path):
    old = edited(COMMITTED, "  MINOR\n  MAINTENANCE\n}", "  MINOR\n}")
    result = diff(write(tmp_path, "old.graphql", old), str(ROOT / "schema.graphql"))
    assert result.exit_code == 0, result.output
    [reported] = changes(result)
    assert one_of(reported, "DANGEROUS", ("VALUE_ADDED_TO_ENUM", "IncidentSeverity.MAINTENANCE")), reported
    assert result.stdout.splitlines()[-1].startswith("0 breaking, 1 dangerous: ")


def test_json_lists_the_same_changes(tmp_path):
    old = write(
        tmp_path, "old.graphql", edited(edited(COMMITTED, *EXTRA_FIELD[:2]), "  MINOR\n  MAINTENANCE\n}", "  MINOR\n}")
    )
    new = str(ROOT / "schema.graphql")
    as_json, as_lines = diff(old, new, "--json"), diff(old, new)
    assert as_json.exit_code == as_lines.exit_code == 1, as_json.output
    document = json.loads(as_json.stdout)
    assert (document["old"], document["new"]) == (old, new)
    assert [tuple(c.values()) for c in document["changes"]] == changes(as_lines)
    assert [c["criticality"] for c in document["changes"]] == ["BREAKING", "DANGEROUS"]


def test_the_old_schema_can_come_from_a_git_revision(tmp_path, monkeypatch):
    # `REV:path` is read with git, which the project's own checkout needs anyway: a machine
    # without it is a broken test environment, not a reason to skip.
    assert shutil.which("git") is not None, "git is not on PATH: install it (apt-get install git)"

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            timeout=30,
        )

    git("init", "-q")
    write(tmp_path, "schema.graphql", edited(COMMITTED, *EXTRA_FIELD[:2]))
    git("add", "schema.graphql")
    git("commit", "-q", "-m", "the released schema")
    write(tmp_path, "schema.graphql", COMMITTED)  # the working copy drops the field
    monkeypatch.chdir(tmp_path)
    result = diff("HEAD:schema.graphql", "schema.graphql")
    assert result.exit_code == 1, result.output
    [reported] = changes(result)
    assert one_of(reported, "BREAKING", EXTRA_FIELD[2]), reported
    assert diff("HEAD:schema.graphql", "HEAD:schema.graphql").exit_code == 0


def test_an_unreadable_schema_exits_2_and_says_why(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not a git repository
    missing = diff("nowhere.graphql", str(ROOT / "schema.graphql"))
    assert missing.exit_code == 2 and "nowhere.graphql: no such file" in missing.stderr
    bad_revision = diff("no-such-rev:schema.graphql", str(ROOT / "schema.graphql"))
    assert bad_revision.exit_code == 2 and bad_revision.stderr.startswith("no-such-rev:schema.graphql: ")
    invalid = diff(write(tmp_path, "bad.graphql", "type Query { a: Nope }"), str(ROOT / "schema.graphql"))
    assert invalid.exit_code == 2 and "bad.graphql is not a valid GraphQL schema: " in invalid.stderr
    assert "Nope" in invalid.stderr
    assert not invalid.stdout
