"""The parse and validation caches, keyed by a document's text, keep only short documents: a
long comment or string literal (not counted by the token limit) cannot make each of their 512
entries hold up to the 1 MiB request body."""

from __future__ import annotations

from agentdeck.schema import build_schema
from agentdeck.schema.error_reporting import CACHEABLE_QUERY_CHARS, BoundedValidation, CachedParser
from agentdeck.settings import Settings


async def test_only_short_documents_are_cached():
    schema = build_schema(Settings())
    parser = next(e for e in schema.extensions if isinstance(e, CachedParser))
    validation = next(e for e in schema.extensions if isinstance(e, BoundedValidation))
    parser.cached_parse_document.cache_clear()  # Strawberry shares it between schemas of one maxsize
    short = "{ __typename }"
    long = "# " + "x" * CACHEABLE_QUERY_CHARS + "\n{ __typename }"
    for query in (short, short, long, long):
        result = await schema.execute(query)
        assert result.errors is None and result.data == {"__typename": "Query"}
    assert list(validation.cache) == [short]
    assert parser.cached_parse_document.cache_info().currsize == 1  # the short one, once
