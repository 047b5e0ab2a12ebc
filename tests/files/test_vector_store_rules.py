"""Vector store rules, in-process (tests/inprocess.py): the per-tenant store quota and unique
(trimmed) names; what may be attached (uploaded objects only, once per store, up to the per-store
file quota, valid chunking, agents that use file search); ingestion's outcome and the store's
totals as files come and go; BM25 search order, score scale, attribute filters and threshold;
tenant isolation of stores."""

from __future__ import annotations

import uuid

import pytest

from agentdeck.domain.files import vector_stores as vs
from agentdeck.domain.files.storage import UploadRequest, create_upload, store_bytes
from agentdeck.errors import BadRequest, Conflict, Forbidden, InvalidInput, NotFound
from tests.inprocess import platform, tenant_member

TEXTS = {
    "bread.txt": "Sourdough bread rises slowly. Feed the sourdough starter with flour; sourdough loves warmth.",
    "ops.txt": "Kubernetes pods restart on failure. The canteen once served sourdough toast.",
    "db.txt": "Indexes make database queries fast; vacuum reclaims dead rows.",
}
TOPICS = {"bread.txt": "baking", "ops.txt": "ops", "db.txt": "ops"}


async def _store_with_files(ctx, name="kb"):
    store = await vs.create_store(ctx, name, None, None, None)
    files = {}
    for filename, body in TEXTS.items():
        obj = await store_bytes(ctx, filename, "text/plain", body.encode())
        files[filename] = await vs.attach_object(ctx, store.id, obj, {"topic": TOPICS[filename]}, None, poll=True)
    return store, files


async def test_store_quota_is_per_tenant_and_names_are_unique_once_trimmed(tmp_path):
    async with platform(tmp_path, vector_store_max_per_tenant=2) as services:
        a = await tenant_member(services, role="admin", tenant_name="Tenant A")
        b = await tenant_member(services, role="admin", tenant_name="Tenant B")
        first = await vs.create_store(a, "  manuals ", None, None, None)
        assert first.name == "manuals"
        with pytest.raises(Conflict):
            await vs.create_store(a, "manuals", None, None, None)
        await vs.create_store(a, "policies", None, {"anchor": "last_active_at", "days": 7}, None)
        with pytest.raises(Forbidden) as exc:
            await vs.create_store(a, "third", None, None, None)
        assert exc.value.message == "Vector store quota exceeded for this tenant."
        assert (await vs.list_stores(a, 10, 0)).total == 2
        # Another tenant has its own quota and its own names.
        assert (await vs.create_store(b, "manuals", None, None, None)).name == "manuals"

        with pytest.raises(InvalidInput) as exc:
            await vs.create_store(b, "expiring", None, {"anchor": "last_active_at", "days": 366}, None)
        assert exc.value.details[0]["field"] == "input.expires_after"
        with pytest.raises(InvalidInput) as exc:
            await vs.create_store(b, "   ", None, None, None)
        assert exc.value.details[0]["field"] == "input.name"


async def test_what_may_be_attached_to_a_store(tmp_path):
    async with platform(tmp_path, vector_store_max_files_per_store=2) as services:
        admin = await tenant_member(services, role="admin")
        store = await vs.create_store(admin, "kb", None, None, None)
        one = await store_bytes(admin, "one.txt", "text/plain", b"first file")
        two = await store_bytes(admin, "two.txt", "text/plain", b"second file")
        three = await store_bytes(admin, "three.txt", "text/plain", b"third file")
        pending = (await create_upload(admin, UploadRequest("later.txt", "text/plain", 4))).row

        with pytest.raises(BadRequest) as exc:
            await vs.attach_object(admin, store.id, pending, None, None, poll=True)
        assert exc.value.message == "Object has not been uploaded yet."
        with pytest.raises(InvalidInput) as exc:
            bad = {"type": "static", "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 150}}
            await vs.attach_object(admin, store.id, one, None, bad, poll=True)
        assert exc.value.details[0]["field"] == "input.chunking_strategy"
        with pytest.raises(Forbidden):  # an agent without file search has no use for the file
            await vs.upload_file(admin, store.id, one.id, "researcher", None, None, poll=True)
        with pytest.raises(NotFound):
            await vs.upload_file(admin, store.id, one.id, "no_such_agent", None, None, poll=True)

        # By the id a file is known by, `file-<hex>`; then once per store.
        attached = await vs.attach_file(admin, store.id, vs.file_id_for(one.id), None, None, poll=True)
        assert (attached.openai_file_id, attached.status) == (f"file-{one.id.hex}", "completed")
        with pytest.raises(Conflict):
            await vs.attach_file(admin, store.id, str(one.id), None, None, poll=True)
        await vs.upload_file(admin, store.id, two.id, "retriever", None, None, poll=True)
        with pytest.raises(Forbidden) as exc:
            await vs.attach_object(admin, store.id, three, None, None, poll=True)
        assert exc.value.message == "Vector store file quota exceeded."
        assert (await vs.list_files(admin, store.id, "completed", 10, 0)).total == 2


async def test_ingestion_outcome_and_store_totals_follow_the_files(tmp_path):
    async with platform(tmp_path) as services:
        admin = await tenant_member(services, role="admin")
        store, files = await _store_with_files(admin)
        assert {f.status for f in files.values()} == {"completed"}
        fresh = await vs.get_store(admin, store.id)
        assert fresh.chunk_count == 3  # one short chunk each
        assert fresh.usage_bytes == sum(len(t.encode()) for t in TEXTS.values())

        broken = await store_bytes(admin, "broken.pdf", "application/pdf", b"this is not a pdf")
        failed = await vs.attach_object(admin, store.id, broken, None, None, poll=True)
        assert failed.status == "failed" and failed.last_error
        assert (await vs.list_files(admin, store.id, "failed", 10, 0)).total == 1
        assert (await vs.get_store(admin, store.id)).chunk_count == 3  # a failed file adds nothing

        await vs.delete_file(admin, store.id, files["bread.txt"].openai_file_id)
        after = await vs.get_store(admin, store.id)
        assert after.chunk_count == 2
        assert after.usage_bytes == len(TEXTS["ops.txt"].encode()) + len(TEXTS["db.txt"].encode())
        with pytest.raises(InvalidInput):
            await vs.list_files(admin, store.id, "done", 10, 0)


async def test_search_ranks_by_bm25_and_applies_filters_and_threshold(tmp_path):
    async with platform(tmp_path) as services:
        admin = await tenant_member(services, role="admin")
        store, files = await _store_with_files(admin)

        page = await vs.search(admin, store.id, "  sourdough  ", None, None, None)
        assert page.search_query == "sourdough"
        assert [m.file.filename for m in page.data] == ["bread.txt", "ops.txt"]  # db.txt never says it
        scores = [m.chunk.score for m in page.data]
        assert 1 > scores[0] > scores[1] > 0

        ops_only = {"type": "eq", "key": "topic", "value": "ops"}
        page = await vs.search(admin, store.id, ["sourdough", "vacuum"], ops_only, None, None)
        assert {m.file.filename for m in page.data} == {"ops.txt", "db.txt"}
        page = await vs.search(admin, store.id, "sourdough", None, 1, None)
        assert [m.file.filename for m in page.data] == ["bread.txt"]
        page = await vs.search(admin, store.id, "sourdough", None, None, {"score_threshold": scores[0]})
        assert [m.chunk.score for m in page.data] == [scores[0]]
        # FTS5 operators in a query are plain words, not syntax.
        assert (await vs.search(admin, store.id, 'NEAR(" OR *', None, None, None)).data == []

        with pytest.raises(InvalidInput) as exc:
            await vs.search(admin, store.id, "x", {"type": "like", "key": "topic", "value": "o"}, None, None)
        assert exc.value.details[0]["field"] == "input.filters"
        with pytest.raises(InvalidInput) as exc:
            await vs.search(admin, store.id, "x", None, None, {"score_threshold": 1.5})
        assert exc.value.details[0]["field"] == "input.ranking_options"
        with pytest.raises(InvalidInput):
            await vs.search(admin, store.id, ["ok", " "], None, None, None)


async def test_another_tenants_store_is_not_found(tmp_path):
    async with platform(tmp_path) as services:
        a = await tenant_member(services, role="admin", tenant_name="Tenant A")
        b = await tenant_member(services, role="owner", tenant_name="Tenant B")
        viewer = await tenant_member(services, role="viewer", tenant_name="Tenant C")
        store, _ = await _store_with_files(a)
        for call in (
            vs.get_store(b, store.id),
            vs.search(b, store.id, "sourdough", None, None, None),
            vs.delete_store(b, store.id),
            vs.list_files(b, store.id, None, 10, 0),
        ):
            with pytest.raises(NotFound):
                await call
        own = await vs.create_store(b, "mine", None, None, None)
        obj_id = (await vs.list_files(a, store.id, None, 1, 0)).items[0].object_id
        with pytest.raises(NotFound):  # nor can b attach a's objects to a store of its own
            await vs.attach_file(b, own.id, str(obj_id), None, None, poll=True)
        with pytest.raises(Forbidden):
            await vs.create_store(viewer, "read only", None, None, None)
        assert (await vs.list_stores(b, 10, 0)).total == 1
        assert len((await vs.search(a, store.id, "sourdough", None, None, None)).data) == 2
        with pytest.raises(NotFound):
            await vs.get_store(a, uuid.uuid4())


def test_json_nested_past_any_reading_is_an_extraction_error_not_a_crash():
    from agentdeck.domain.files.ingest import MAX_JSON_DEPTH, ExtractionError, _json

    assert _json('{"a": {"b": [1, 2]}}') == "a / b[0]: 1\na / b[1]: 2"
    for text in ("[" * 100_000 + "]" * 100_000, "[" * (MAX_JSON_DEPTH + 2) + "]" * (MAX_JSON_DEPTH + 2)):
        with pytest.raises(ExtractionError, match="nested deeper than"):
            _json(text)
