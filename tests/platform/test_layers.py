"""The architecture, checked: the layering contracts of pyproject.toml, no import circle, and
one table of error codes that every raised code is in."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

import agentdeck
from agentdeck.errors import CODES, DomainError, UnknownErrorCode

ROOT = Path(__file__).resolve().parents[2]


def test_the_layering_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_no_module_imports_itself_through_others():
    # Every import counts, also one inside a function or under TYPE_CHECKING.
    assert _cycles(grimp.build_graph("agentdeck", cache_dir=None)) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for a, b in [("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")]:
        graph.add_import(importer=a, imported=b)
    assert _cycles(graph) == [["p.a", "p.b", "p.c"]]


def test_every_error_code_is_in_the_one_table():
    for module in pkgutil.walk_packages(agentdeck.__path__, "agentdeck."):
        if ".migrations." not in module.name:
            importlib.import_module(module.name)  # a subclass with an unknown code fails here

    def subclasses(cls: type) -> list[type]:
        return [cls, *(s for sub in cls.__subclasses__() for s in subclasses(sub))]

    codes = {cls.code for cls in subclasses(DomainError)}
    assert len(codes) > 10 and codes <= CODES.keys()


def test_an_unknown_error_code_can_be_neither_defined_nor_raised():
    with pytest.raises(UnknownErrorCode, match="NO_SUCH_CODE"):
        DomainError("message", code="NO_SUCH_CODE")
    with pytest.raises(UnknownErrorCode, match="ALSO_UNKNOWN"):
        type("Typo", (DomainError,), {"code": "ALSO_UNKNOWN"})
    assert DomainError("message", code="usage_limit_exceeded").code == "usage_limit_exceeded"
