"""What the server keeps and measures about a parsed GraphQL document, so that no document a
client sends can stall the event loop: not by its validation (`document_size` bounds it before
it runs), nor by the cyclic garbage collector, whose every full collection walks each object
the process holds. A cached document is thousands of objects; so caches admit a document only
once it comes again (`SeenBefore`), what is memoised per document lives only as long as the
document (`ByNode`), and a parsed document holds no reference cycle (`release_tokens`), so that
it is freed the moment its request ends."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

V = TypeVar("V")


class SeenBefore:
    """Whether a text was seen among the last `size` distinct ones (then it may be cached): a
    client inventing a new document per request fills no cache. A cached document holds
    thousands of objects that every full collection of the cyclic GC walks: 512 documents of
    `health { status }` x 149 made collections of 0.5-0.8 s, during which nothing is served."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self.seen: dict[int, None] = {}

    def __call__(self, text: str) -> bool:
        key = hash(text)
        if key in self.seen:
            return True
        if len(self.seen) >= self.size:
            self.seen.clear()
        self.seen[key] = None
        return False


def release_tokens(document: DocumentNode) -> None:
    """Drop the lexer's back links between tokens (`Token.prev`, unused after parsing), the only
    cycle in a parsed document: the document is then freed when its request drops it, rather
    than by a collection of the cyclic GC once it has aged into the oldest generation."""
    token = document.loc.start_token if document.loc is not None else None
    if token is None or token.next is None or token.next.prev is None:
        return  # no locations, or released already (a cached document)
    while token is not None:
        token.prev = None
        token = token.next


class ByNode(Generic[V]):
    """Values kept while an AST node is alive, found by the node's identity (nodes are frozen
    dataclasses that hash by value, through their whole subtree). An entry holds its node
    weakly and goes when the node does: when the parse cache drops its document, or at the end
    of the one request of a document sent once. (A dict by `id` that held the node, so that the
    id could not be reused, kept up to 4,096 documents that a client could make up.)"""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[Any], V]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, node: object) -> V | None:
        entry = self._entries.get(id(node))
        return entry[1] if entry is not None and entry[0]() is node else None

    def put(self, node: object, value: V) -> None:
        key, entries = id(node), self._entries

        def forget(ref: weakref.ref[Any]) -> None:
            entry = entries.get(key)
            if entry is not None and entry[0] is ref:
                del entries[key]

        entries[key] = (weakref.ref(node, forget), value)

    def setdefault(self, node: object, make: Callable[[], V]) -> V:
        value = self.get(node)
        if value is None:
            value = make()
            self.put(node, value)
        return value


@dataclass
class DocumentSize:
    """What validating a document will cost, measured on the parsed document (`document_size`)."""

    selections: int = 0  # fields, fragment spreads, inline fragments; fragments where spread
    pairs: int = 0  # pairs of fields at one response path, which the overlap rule compares
    repeated: str = ""  # the response name selected most often at one place,
    repeats: int = 0  # and how often


SPREADS = "..."  # the named fragment spreads at one place, counted as one response name


def document_size(definitions: Any, max_selections: int, max_pairs: int) -> DocumentSize:
    """The selections a document makes and the pairs of fields OverlappingFieldsCanBeMerged
    compares, an upper bound computed in one walk. Stops past either limit.

    Each operation is walked with every fragment spread expanded (so a fragment spread a thousand
    times counts a thousand times), and so is each fragment no operation spreads (validation
    visits it too). The fields at one response path (`{ a { b } a { b } }`: two at `a`, two at
    `a.b`) are grouped, inline and named fragments flattened into where they are spread: the
    rule compares a pair of fields only when they share a response path, at most once. The
    named spreads at one place count as fields of one name, since the rule compares them
    pairwise too."""
    fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d.selection_set for d in definitions if isinstance(d, OperationDefinitionNode)]
    spread = _spread_from(operations, fragments)
    roots = operations + [f.selection_set for name, f in fragments.items() if name not in spread]
    size = DocumentSize()
    for root in roots:
        level: list[list[SelectionSetNode]] = [[root]]
        while level:
            below: list[list[SelectionSetNode]] = []
            for group in level:  # the selection sets at one response path
                by_name: dict[str, list[SelectionSetNode | None]] = {}
                for selection_set in group:
                    _collect(selection_set, fragments, by_name, size, max_selections)
                for name, fields in by_name.items():
                    size.pairs += len(fields) * (len(fields) - 1) // 2
                    if len(fields) > size.repeats and name != SPREADS:
                        size.repeated, size.repeats = name, len(fields)
                    nested = [f for f in fields if f is not None]
                    if nested:
                        below.append(nested)
            if size.selections > max_selections or size.pairs > max_pairs:
                return size
            level = below
    return size


def _collect(
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    by_name: dict[str, list[SelectionSetNode | None]],
    size: DocumentSize,
    max_selections: int,
) -> None:
    """The fields of one selection set by response name (their own selection sets), inline and
    named fragments flattened; a fragment is expanded once per selection set, as execution
    collects it, and never within itself."""
    expanded: set[str] = set()
    stack = [iter(selection_set.selections)]
    while stack and size.selections <= max_selections:
        selection = next(stack[-1], None)
        if selection is None:
            stack.pop()
            continue
        size.selections += 1
        if isinstance(selection, FieldNode):
            name = (selection.alias or selection.name).value
            by_name.setdefault(name, []).append(selection.selection_set)
        elif isinstance(selection, InlineFragmentNode):
            stack.append(iter(selection.selection_set.selections))
        elif isinstance(selection, FragmentSpreadNode):
            by_name.setdefault(SPREADS, []).append(None)
            fragment = fragments.get(selection.name.value)
            if fragment is not None and fragment.name.value not in expanded:
                expanded.add(fragment.name.value)
                stack.append(iter(fragment.selection_set.selections))


def _spread_from(roots: list[SelectionSetNode], fragments: dict[str, FragmentDefinitionNode]) -> set[str]:
    """The names of the fragments spread, directly or through other fragments, from `roots`."""
    spread: set[str] = set()
    stack: list[SelectionSetNode] = list(roots)
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in spread:
                    spread.add(name)
                    stack.append(fragments[name].selection_set)
            elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set is not None:
                stack.append(selection.selection_set)
    return spread
