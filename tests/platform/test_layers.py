"""The architecture, checked: the layering contracts of pyproject.toml, no import circle, and
one table of error codes that every raised code is in."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from collections.abc import Callable, Iterator
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


def test_the_readme_states_the_layers_the_contract_checks():
    """README.md's numbered list of layers is the first contract of pyproject.toml, in order."""
    import re
    import tomllib

    contract = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]
    layers = [
        sorted(m.strip().removeprefix("agentdeck.") for m in re.split(r"[|:]", row)) for row in contract["layers"]
    ]
    readme = (ROOT / "README.md").read_text()
    section = readme.split("The layering is two import-linter contracts")[1].split("Modules of one layer")[0]
    items = re.findall(r"^\d+\. (.*)$", section, flags=re.M)
    assert [sorted(re.findall(r"`([a-z_]+)`", item)) for item in items] == layers
    for row, item in zip(contract["layers"], items, strict=True):
        assert ("independent" in item) == ("|" in row), item


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


def _import_all() -> list[str]:
    names = []
    for module in pkgutil.walk_packages(agentdeck.__path__, "agentdeck."):
        if ".migrations." not in module.name:
            importlib.import_module(module.name)  # a subclass with an unknown code fails here
            names.append(module.name)
    return names


def _subclasses(cls: type) -> list[type]:
    return [cls, *(s for sub in cls.__subclasses__() for s in _subclasses(sub))]


def test_every_error_code_is_in_the_one_table():
    _import_all()
    codes = {cls.code for cls in _subclasses(DomainError)}
    assert len(codes) > 10 and codes <= CODES.keys()


def _callee(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _code_values(mapping: ast.expr) -> list[ast.expr]:
    if not isinstance(mapping, ast.Dict):
        return []
    return [
        v
        for k, v in zip(mapping.keys, mapping.values, strict=True)
        if isinstance(k, ast.Constant) and k.value == "code"
    ]


def reported_codes(source: str, resolve: Callable[[str], object], error_classes: set[str]) -> Iterator[tuple[int, str]]:
    """(line, code) for every error code a module states literally: `extensions={"code": X}` in a
    call (GraphQLError), `<error>.extensions = {..., "code": X}`, `code=X` given to an error class,
    `code = X` in an error class's body, and `log_client_error(where, X, ...)`. X is a string or a
    name `resolve` reads as one (a module constant, imported or not). Where X is a parameter of
    the function around it (`def _error(message, code)`), the code is what each call in the
    module passes for it. A code computed at run time (`exc.code`) is not a literal: skipped."""
    tree = ast.parse(source)
    sites: list[tuple[ast.expr, ast.AST | None]] = []  # (the code's expression, the function it is in)
    helpers: dict[str, tuple[int, str]] = {}  # function -> (position, name) of its code parameter

    def visit(node: ast.AST, function: ast.AST | None) -> None:
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "extensions":
                    sites.extend((v, function) for v in _code_values(keyword.value))
                elif keyword.arg == "code" and _callee(node) in error_classes:
                    sites.append((keyword.value, function))
            if _callee(node) == "log_client_error" and len(node.args) >= 2:
                sites.append((node.args[1], function))
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Attribute) and t.attr == "extensions" for t in node.targets
        ):
            sites.extend((v, function) for v in _code_values(node.value))
        elif isinstance(node, ast.ClassDef) and any(
            isinstance(b, ast.Name | ast.Attribute) and (b.id if isinstance(b, ast.Name) else b.attr) in error_classes
            for b in node.bases
        ):
            for statement in node.body:
                if isinstance(statement, ast.Assign) and [getattr(t, "id", None) for t in statement.targets] == [
                    "code"
                ]:
                    sites.append((statement.value, function))
        inner = node if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else function
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(tree, None)
    functions = {f.name: f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)}
    for expression, _ in list(sites):
        if isinstance(expression, ast.Call) and _callee(expression) in functions:
            # A code chosen by a function of the module (`client_code(error)`): what it returns.
            returned = ast.walk(functions[_callee(expression)])
            sites.extend((r.value, None) for r in returned if isinstance(r, ast.Return) and r.value is not None)
    for expression, function in sites:
        if isinstance(expression, ast.Name) and isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            parameters = [a.arg for a in function.args.posonlyargs + function.args.args]
            if expression.id in parameters:
                helpers[function.name] = (parameters.index(expression.id), expression.id)
                continue
        yield from _literal(expression, resolve)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _callee(node) in helpers:
            position, name = helpers[_callee(node)]
            passed = [k.value for k in node.keywords if k.arg == name] or node.args[position : position + 1]
            for expression in passed:
                yield from _literal(expression, resolve)


def _literal(expression: ast.expr, resolve: Callable[[str], object]) -> Iterator[tuple[int, str]]:
    if isinstance(expression, ast.IfExp):
        yield from _literal(expression.body, resolve)
        yield from _literal(expression.orelse, resolve)
        return
    value = expression.value if isinstance(expression, ast.Constant) else None
    if isinstance(expression, ast.Name):
        value = resolve(expression.id)
    if isinstance(value, str):
        yield expression.lineno, value


# The codes of the GraphQL endpoint itself, which no DomainError carries: the scan must see them.
GRAPHQL_LEVEL = {
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "BAD_USER_INPUT",
    "INTERNAL_SERVER_ERROR",
    "QUERY_TOO_COSTLY",
    "PERSISTED_QUERY_NOT_FOUND",
    "PERSISTED_QUERY_NOT_SUPPORTED",
    "PERSISTED_QUERY_HASH_MISMATCH",
    "PERSISTED_QUERY_TOO_LARGE",
}


def test_every_code_stated_anywhere_in_agentdeck_is_in_the_one_table():
    """Not only DomainError's codes: a GraphQLError raised with `extensions.code` (parse and
    validation failures, the cost limit, persisted queries) reaches clients too, and REST
    refuses a code it cannot find in the table (`errors.http_status`)."""
    modules = _import_all()
    error_classes = {cls.__name__ for cls in _subclasses(DomainError)}
    found: dict[str, list[str]] = {}
    for name in modules:
        module = sys.modules[name]
        path = Path(module.__file__ or "")
        for line, code in reported_codes(path.read_text(), vars(module).get, error_classes):
            found.setdefault(code, []).append(f"{path.relative_to(ROOT)}:{line}")
    unknown = {code: where for code, where in found.items() if code not in CODES}
    assert unknown == {}, f"codes not in agentdeck.errors.CODES: {unknown}"
    assert GRAPHQL_LEVEL <= found.keys(), GRAPHQL_LEVEL - found.keys()
    assert {"NOT_FOUND", "usage_limit_exceeded", "MissingStripeSignature"} <= found.keys()


def test_the_code_scan_sees_each_way_of_stating_a_code():
    source = """
MISSPELT = "NOT_FUOND"

class Oops(DomainError):
    code = "IN_A_CLASS"

def _error(message, code):
    return GraphQLError(message, extensions={"code": code})

def tag(error):
    error.extensions = {**error.extensions, "code": "ASSIGNED"}
    log_client_error("where", "LOGGED", "message")
    raise errors.DomainError("message", code=MISSPELT)

def refuse(exc):
    ModelError("not an error code of ours", code="timeout")
    raise _error("message", "THROUGH_A_HELPER") from exc

def chosen(error):
    return "CHOSEN" if error else MISSPELT

def report(error):
    error.extensions = {"code": chosen(error)}
"""
    found = sorted(code for _, code in reported_codes(source, {"MISSPELT": "NOT_FUOND"}.get, {"DomainError", "Oops"}))
    assert found == ["ASSIGNED", "CHOSEN", "IN_A_CLASS", "LOGGED", "NOT_FUOND", "NOT_FUOND", "THROUGH_A_HELPER"]


def test_an_unknown_error_code_can_be_neither_defined_nor_raised():
    with pytest.raises(UnknownErrorCode, match="NO_SUCH_CODE"):
        DomainError("message", code="NO_SUCH_CODE")
    with pytest.raises(UnknownErrorCode, match="ALSO_UNKNOWN"):
        type("Typo", (DomainError,), {"code": "ALSO_UNKNOWN"})
    assert DomainError("message", code="usage_limit_exceeded").code == "usage_limit_exceeded"
