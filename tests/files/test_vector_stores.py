"""Vector stores: create/list/get/delete, attaching stored objects, ingestion status, BM25 search
measured on a small retrieval set (tests/data/retrieval), filters, tenancy, and the native GraphQL graph."""

from __future__ import annotations

import base64
import json
import mimetypes
import time
import uuid
from pathlib import Path

import pytest

from tests.files.test_storage import upload
from tests.harness import assert_documented
from tests.users import register

# Most tests here start servers of their own (quotas, the OpenAI stub, the CLI).
pytestmark = pytest.mark.e2e

DATA = Path(__file__).parent.parent / "data" / "retrieval"
STORES = "/api/v1/vector-stores"
STORE = "/api/v1/vector-stores/{vector_store_id}"
FILES = "/api/v1/vector-stores/{vector_store_id}/files"
UPLOAD = "/api/v1/vector-stores/{vector_store_id}/files/upload"
FILE = "/api/v1/vector-stores/{vector_store_id}/files/{file_id}"
SEARCH = "/api/v1/vector-stores/{vector_store_id}/search"
MIME = {
    ".md": "text/markdown",
    ".csv": "text/csv",
    ".json": "application/json",
    ".html": "text/html",
    ".pdf": "application/pdf",
    ".txt": "text/plain",
}
TOPICS = {"sourdough.txt": "food", "manual.pdf": "food", "gardening.txt": "garden"}


def call(server, token, method, template, expect, **kw):
    params = {k: kw.pop(k) for k in ("vector_store_id", "file_id") if k in kw}
    r = server.rest(method, template.format(**params), token=token, **kw)
    assert r.status_code == expect, r.text
    assert_documented(method, template, r)
    return r.json() if r.content else None


def new_store(server, token, name=None):
    return call(server, token, "POST", STORES, 201, json={"name": name or f"kb-{uuid.uuid4().hex[:6]}"})


def attach(server, token, store_id, path: Path, attributes=None, expect=201, **extra):
    obj = upload(server, token, path.read_bytes(), path.name, MIME[path.suffix])
    body = {"object_id": obj["object_id"], **({"attributes": attributes} if attributes else {}), **extra}
    return call(server, token, "POST", UPLOAD, expect, vector_store_id=store_id, json=body)


@pytest.fixture(scope="module")
def kb(server):
    """One tenant, one store holding the whole retrieval set."""
    owner = register(server, verified=True)
    store = new_store(server, owner.access_token, "retrieval-set")
    files = {}
    for path in sorted(DATA.iterdir()):
        if path.name != "queries.json":
            attrs = {"topic": TOPICS.get(path.name, "tech"), "size": path.stat().st_size}
            files[path.name] = attach(server, owner.access_token, store["id"], path, attrs)
    return owner, store, files


def search(server, token, store_id, expect=200, **body):
    return call(server, token, "POST", SEARCH, expect, vector_store_id=store_id, json=body)


def test_ingestion_completes_for_every_format(kb):
    _, store, files = kb
    for name, f in files.items():
        assert f["status"] == "completed", (name, f["last_error"])
        assert f["usage_bytes"] > 0 and f["last_error"] is None and f["filename"] == name
        assert f["openai_file_id"].startswith("file-") and f["vector_store_id"] == store["id"]


def test_retrieval_set_ranks_the_expected_file_first(server, kb):
    owner, store, _ = kb
    queries = json.loads((DATA / "queries.json").read_text())
    reciprocal = []
    for case in queries:
        page = search(server, owner.access_token, store["id"], query=case["query"], max_num_results=5)
        names = [d["filename"] for d in page["data"]]
        assert names and names[0] == case["expected"], (case, names)
        reciprocal.append(1 / (names.index(case["expected"]) + 1))
        assert page["object"] == "vector_store.search_results.page" and page["search_query"] == case["query"]
        top = page["data"][0]
        assert 0 < top["score"] < 1 and top["content"][0]["type"] == "text" and top["content"][0]["text"]
        assert [d["score"] for d in page["data"]] == sorted((d["score"] for d in page["data"]), reverse=True)
    assert sum(reciprocal) / len(reciprocal) == 1.0  # MRR over the set


def test_html_script_text_is_not_indexed(server, kb):
    owner, store, _ = kb
    page = search(server, owner.access_token, store["id"], query="espresso")
    assert [d["filename"] for d in page["data"]] == ["manual.pdf"]


def test_filters_max_results_and_query_lists(server, kb):
    owner, store, _ = kb
    token, sid = owner.access_token, store["id"]
    page = search(
        server, token, sid, query="machine bread tomato", filters={"type": "eq", "key": "topic", "value": "food"}
    )
    assert {d["filename"] for d in page["data"]} == {"manual.pdf", "sourdough.txt"}
    assert all(d["attributes"]["topic"] == "food" for d in page["data"])
    page = search(
        server,
        token,
        sid,
        query="machine bread tomato",
        filters={
            "type": "or",
            "filters": [
                {"type": "eq", "key": "topic", "value": "garden"},
                {"type": "nin", "key": "topic", "value": ["food", "garden"]},
            ],
        },
    )
    assert {d["filename"] for d in page["data"]} == {"gardening.txt"}
    big = search(server, token, sid, query="the a of", filters={"type": "gte", "key": "size", "value": 0})
    assert isinstance(big["data"], list)
    one = search(server, token, sid, query="overdue payment pods bread", max_num_results=1)
    assert len(one["data"]) == 1
    both = search(server, token, sid, query=["sourdough", "kubernetes"])
    assert both["search_query"] == "sourdough kubernetes"
    assert {d["filename"] for d in both["data"]} == {"sourdough.txt", "kubernetes.md"}
    none = search(server, token, sid, query="zzzqqq")
    assert none["data"] == [] and none["has_more"] is False
    high = search(server, token, sid, query="sourdough", ranking_options={"score_threshold": 0.999})
    assert high["data"] == []


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, ["body", "query"]),
        ({"query": ""}, ["body", "query"]),
        ({"query": []}, ["body", "query"]),
        ({"query": "x", "max_num_results": 0}, ["body", "max_num_results"]),
        ({"query": "x", "max_num_results": 51}, ["body", "max_num_results"]),
        ({"query": "x", "filters": {"type": "like", "key": "a", "value": 1}}, ["body", "filters"]),
        ({"query": "x", "unknown": 1}, ["body", "unknown"]),
    ],
)
def test_invalid_search_is_422(server, kb, body, loc):
    owner, store, _ = kb
    r = search(server, owner.access_token, store["id"], expect=422, **body)
    assert any(d["loc"] == loc for d in r["details"]), r["details"]


def test_store_lifecycle_files_and_deletes(server):
    owner = register(server, verified=True)
    token = owner.access_token
    created = call(
        server,
        token,
        "POST",
        STORES,
        201,
        json={
            "name": "docs",
            "description": "d",
            "metadata": {"team": "a"},
            "expires_after": {"anchor": "last_active_at", "days": 7},
        },
    )
    sid = created["id"]
    assert created["tenant_id"] == owner.tenant_id and created["owner_user_id"] == owner.user_id
    assert created["metadata"] == {"team": "a"} and created["usage_bytes"] == 0 and created["expires_at"]
    dup = server.rest("POST", STORES, token=token, json={"name": "docs"})
    assert dup.status_code == 409
    assert_documented("POST", STORES, dup)
    listed = call(server, token, "GET", STORES, 200)
    assert listed["total"] == 1 and listed["items"][0]["id"] == sid

    f = attach(server, token, sid, DATA / "rust.md")
    again = server.rest("POST", FILES.format(vector_store_id=sid), token=token, json={"file_id": f["openai_file_id"]})
    assert again.status_code == 409, again.text
    store = call(server, token, "GET", STORE, 200, vector_store_id=sid)
    assert store["usage_bytes"] == f["usage_bytes"] > 0

    # Attach by file id (the object's UUID works too), with a static chunking strategy.
    obj = upload(server, token, (DATA / "kubernetes.md").read_bytes(), "k8s.md", "text/markdown")
    strategy = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 50}}
    g = call(
        server,
        token,
        "POST",
        FILES,
        201,
        vector_store_id=sid,
        json={"file_id": obj["object_id"], "chunking_strategy": strategy, "attributes": {"kind": "k8s"}},
    )
    assert g["status"] == "completed" and g["chunking_strategy"] == strategy
    got = call(server, token, "GET", FILE, 200, vector_store_id=sid, file_id=g["openai_file_id"])
    assert got["id"] == g["id"]
    files = call(server, token, "GET", FILES, 200, vector_store_id=sid, params={"status": "completed"})
    assert files["total"] == 2
    assert call(server, token, "GET", FILES, 200, vector_store_id=sid, params={"status": "failed"})["total"] == 0
    call(server, token, "GET", FILES, 422, vector_store_id=sid, params={"status": "weird"})

    call(server, token, "DELETE", FILE, 204, vector_store_id=sid, file_id=g["openai_file_id"])
    call(server, token, "GET", FILE, 404, vector_store_id=sid, file_id=g["openai_file_id"])
    assert search(server, token, sid, query="tolerations")["data"] == []
    assert search(server, token, sid, query="borrow")["data"][0]["filename"] == "rust.md"

    call(server, token, "DELETE", STORE, 204, vector_store_id=sid)
    call(server, token, "GET", STORE, 404, vector_store_id=sid)
    search(server, token, sid, expect=404, query="borrow")
    assert call(server, token, "GET", STORES, 200)["total"] == 0


def test_failed_ingestion_records_last_error(server):
    owner = register(server, verified=True)
    sid = new_store(server, owner.access_token)["id"]
    obj = upload(server, owner.access_token, b"%PDF-1.4 not really a pdf", "broken.pdf", "application/pdf")
    f = call(server, owner.access_token, "POST", UPLOAD, 201, vector_store_id=sid, json={"object_id": obj["object_id"]})
    assert f["status"] == "failed" and f["last_error"]
    png = upload(server, owner.access_token, b"\x89PNG\r\n\x1a\n\x00\x00", "x.png", "image/png")
    f = call(server, owner.access_token, "POST", UPLOAD, 201, vector_store_id=sid, json={"object_id": png["object_id"]})
    assert f["status"] == "failed" and "Unsupported" in f["last_error"]


def test_poll_false_returns_in_progress_then_completes(server):
    owner = register(server, verified=True)
    sid = new_store(server, owner.access_token)["id"]
    f = attach(server, owner.access_token, sid, DATA / "sourdough.txt", poll=False)
    assert f["status"] in ("in_progress", "completed")
    deadline = time.monotonic() + 10
    while f["status"] == "in_progress" and time.monotonic() < deadline:
        time.sleep(0.05)
        f = call(server, owner.access_token, "GET", FILE, 200, vector_store_id=sid, file_id=f["openai_file_id"])
    assert f["status"] == "completed"


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"name": ""}, ["body", "name"]),
        ({"name": "x" * 129}, ["body", "name"]),
        ({}, ["body", "name"]),
        ({"name": "a", "expires_after": {"anchor": "created_at", "days": 1}}, ["body", "expires_after"]),
    ],
)
def test_invalid_store_is_422(server, body, loc):
    owner = register(server, verified=True)
    r = server.rest("POST", STORES, token=owner.access_token, json=body)
    assert r.status_code == 422, r.text
    assert_documented("POST", STORES, r)
    assert any(d["loc"] == loc for d in r.json()["details"]), r.json()["details"]


def test_invalid_attach_is_422_and_unknown_ids_404(server):
    owner = register(server, verified=True)
    token = owner.access_token
    sid = new_store(server, token)["id"]
    obj = upload(server, token, b"hello", "h.txt", "text/plain")
    r = server.rest(
        "POST",
        UPLOAD.format(vector_store_id=sid),
        token=token,
        json={"object_id": obj["object_id"], "chunking_strategy": {"type": "static", "static": {}}},
    )
    assert r.status_code == 422 and r.json()["details"][0]["loc"] == ["body", "chunking_strategy"]
    r = server.rest(
        "POST",
        UPLOAD.format(vector_store_id=sid),
        token=token,
        json={"object_id": obj["object_id"], "attributes": {"k": {"nested": 1}}},
    )
    assert r.status_code == 422 and r.json()["details"][0]["loc"] == ["body", "attributes"]
    r = server.rest("POST", UPLOAD.format(vector_store_id=sid), token=token, json={"object_id": "nope"})
    assert r.status_code == 422
    call(server, token, "POST", UPLOAD, 404, vector_store_id=sid, json={"object_id": str(uuid.uuid4())})
    # An agent must exist, and must be one that searches files.
    body = {"object_id": obj["object_id"]}
    call(server, token, "POST", UPLOAD, 404, vector_store_id=sid, json={**body, "agent_key": "no_such_agent"})
    call(server, token, "POST", UPLOAD, 403, vector_store_id=sid, json={**body, "agent_key": "researcher"})
    call(server, token, "POST", UPLOAD, 201, vector_store_id=sid, json={**body, "agent_key": "retriever"})
    call(server, token, "POST", FILES, 404, vector_store_id=sid, json={"file_id": "file-abc"})
    call(server, token, "POST", UPLOAD, 404, vector_store_id=str(uuid.uuid4()), json={"object_id": obj["object_id"]})
    call(server, token, "GET", STORE, 422, vector_store_id="not-a-uuid")


def test_other_tenants_get_404_and_viewers_cannot_write(server, kb):
    owner, store, files = kb
    other = register(server, verified=True)
    t = other.access_token
    sid = store["id"]
    call(server, t, "GET", STORE, 404, vector_store_id=sid)
    call(server, t, "DELETE", STORE, 404, vector_store_id=sid)
    search(server, t, sid, expect=404, query="sourdough")
    call(server, t, "GET", FILES, 404, vector_store_id=sid)
    fid = files["rust.md"]["openai_file_id"]
    call(server, t, "GET", FILE, 404, vector_store_id=sid, file_id=fid)
    # Another tenant's object cannot be attached to one's own store either.
    mine = new_store(server, t)["id"]
    call(server, t, "POST", FILES, 404, vector_store_id=mine, json={"file_id": fid})
    assert search(server, t, mine, query="sourdough")["data"] == []
    viewer = {"X-Tenant-Role": "viewer"}
    r = server.rest("POST", STORES, token=owner.access_token, headers=viewer, json={"name": "nope"})
    assert r.status_code == 403
    r = server.rest("DELETE", STORE.format(vector_store_id=sid), token=owner.access_token, headers=viewer)
    assert r.status_code == 403
    r = server.rest(
        "POST",
        SEARCH.format(vector_store_id=sid),
        token=owner.access_token,
        headers=viewer,
        json={"query": "sourdough"},
    )
    assert r.status_code == 200 and r.json()["data"]


def test_quota(tmp_path):
    from tests.files.test_storage import sqlite_server

    srv = sqlite_server(tmp_path, {"AGENTDECK_VECTOR_STORE_MAX_PER_TENANT": "1"})
    try:
        owner = register(srv, verified=True)
        new_store(srv, owner.access_token)
        r = srv.rest("POST", STORES, token=owner.access_token, json={"name": "second"})
        assert r.status_code == 403 and "quota" in r.json()["message"]
    finally:
        srv.stop()


def gid(type_name: str, key: str) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


def test_graphql_stores_files_search_and_mutations(server, kb):
    owner, store, files = kb
    token = owner.access_token
    store_id = gid("VectorStore", store["id"])
    q = """query($id: ID!) {
             vectorStore(id: $id) { id databaseId name usageBytes status metadata
               fileCounts { completed total }
               files(first: 2, filter: {status: COMPLETED}) { totalCount nodes { fileId status vectorStore { name } } } }
             vectorStores(first: 5) { totalCount nodes { id } } }"""
    data = server.gql(q, {"id": store_id}, token=token)["data"]
    got = data["vectorStore"]
    assert (got["id"], got["databaseId"], got["name"], got["status"]) == (
        store_id,
        store["id"],
        "retrieval-set",
        "COMPLETED",
    )
    assert got["fileCounts"] == {"completed": len(files), "total": len(files)}
    assert got["files"]["totalCount"] == len(files) and len(got["files"]["nodes"]) == 2
    assert {n["vectorStore"]["name"] for n in got["files"]["nodes"]} == {"retrieval-set"}
    assert data["vectorStores"]["totalCount"] == 1 and data["vectorStores"]["nodes"] == [{"id": store_id}]

    s = """query($id: ID!, $q: String!, $f: VectorStoreSearchFilter) { searchVectorStore(id: $id, query: $q,
             first: 2, filter: $f) { totalCount nodes { score text file { filename attributes } } } }"""
    res = server.gql(s, {"id": store_id, "q": "borrow checker"}, token=token)["data"]["searchVectorStore"]
    assert res["nodes"][0]["file"]["filename"] == "rust.md" and res["totalCount"] <= 2
    only_food = {"attributes": {"comparison": {"key": "topic", "operator": "EQ", "value": "food"}}}
    res = server.gql(s, {"id": store_id, "q": "borrow checker", "f": only_food}, token=token)["data"]
    assert all(n["file"]["attributes"]["topic"] == "food" for n in res["searchVectorStore"]["nodes"])

    created = server.gql(
        """mutation { createVectorStore(input: {name: "gql-store", expiresAfterDays: 7}) {
             vectorStore { id status expiresAfter { anchor days } } userErrors { field code } } }""",
        token=token,
    )["data"]["createVectorStore"]
    assert created["userErrors"] == [] and created["vectorStore"]["expiresAfter"] == {
        "anchor": "LAST_ACTIVE_AT",
        "days": 7,
    }
    sid = created["vectorStore"]["id"]
    taken = server.gql(
        """mutation { createVectorStore(input: {name: "gql-store"}) { vectorStore { id } userErrors { code } } }""",
        token=token,
    )["data"]["createVectorStore"]
    assert taken == {"vectorStore": None, "userErrors": [{"code": "CONFLICT"}]}

    obj = upload(server, token, b"graphql twin text about zebras", "z.txt", "text/plain")
    up = server.gql(
        """mutation($s: ID!, $o: ID!) { uploadVectorStoreFile(input: {vectorStoreId: $s, storageObjectId: $o,
                         attributes: {k: "v"}}) { vectorStoreFile { id fileId status attributes
                         storageObject { filename } } userErrors { message } } }""",
        {"s": sid, "o": gid("StorageObject", obj["object_id"])},
        token=token,
    )["data"]["uploadVectorStoreFile"]
    file = up["vectorStoreFile"]
    assert up["userErrors"] == [] and file["status"] == "COMPLETED" and file["attributes"] == {"k": "v"}
    assert file["storageObject"] == {"filename": "z.txt"}
    node = server.gql(
        "query($id: ID!) { node(id: $id) { ... on VectorStoreFile { fileId vectorStore { id } } } }",
        {"id": file["id"]},
        token=token,
    )["data"]["node"]
    assert node == {"fileId": file["fileId"], "vectorStore": {"id": sid}}
    delete_file = """mutation($id: ID!) { deleteVectorStoreFile(input: {id: $id}) { deletedId userErrors { code } } }"""
    assert server.gql(delete_file, {"id": file["id"]}, token=token)["data"]["deleteVectorStoreFile"] == {
        "deletedId": file["id"],
        "userErrors": [],
    }
    again = server.gql(
        """mutation($s: ID!, $f: String!) { attachVectorStoreFile(input: {vectorStoreId: $s, fileId: $f,
             chunking: {maxChunkSizeTokens: 200, chunkOverlapTokens: 20}}) {
             vectorStoreFile { status chunkingStrategy { type maxChunkSizeTokens chunkOverlapTokens } } } }""",
        {"s": sid, "f": file["fileId"]},
        token=token,
    )["data"]["attachVectorStoreFile"]["vectorStoreFile"]
    assert again == {
        "status": "COMPLETED",
        "chunkingStrategy": {"type": "STATIC", "maxChunkSizeTokens": 200, "chunkOverlapTokens": 20},
    }
    delete_store = """mutation($id: ID!) { deleteVectorStore(input: {id: $id}) { deletedId userErrors { code } } }"""
    assert server.gql(delete_store, {"id": sid}, token=token)["data"]["deleteVectorStore"] == {
        "deletedId": sid,
        "userErrors": [],
    }
    gone = server.gql("query($id: ID!) { vectorStore(id: $id) { id } }", {"id": sid}, token=token)
    assert gone["data"]["vectorStore"] is None and gone["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_mime_guess_table_is_complete():
    for path in DATA.iterdir():
        if path.name != "queries.json":
            assert path.suffix in MIME, path
            assert mimetypes.guess_type(path.name)[0] is not None


def test_cli_ingests_a_folder_with_progress(tmp_path):
    import os
    import re
    import shutil
    import subprocess
    import sys

    from tests.files.test_storage import sqlite_server
    from tests.users import PASSWORD, login, mark_email_verified

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AGENTDECK_")},
        "AGENTDECK_VAR_DIR": str(tmp_path),
        "AGENTDECK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'agentdeck.db'}",
        "COLUMNS": "200",
    }
    cli = [sys.executable, "-m", "agentdeck.cli"]
    made = subprocess.run(
        [*cli, "create-tenant", "CLI Co", "--owner-email", "cli@example.com", "--password", PASSWORD],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    tenant_id = made.stdout.split("tenant_id=")[1].split()[0]
    # The retrieval set, and files that are not ingested: each is accounted for, with why.
    docs = tmp_path / "docs"
    shutil.copytree(DATA, docs)
    (docs / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (docs / "Makefile").write_text("all:\n")
    (docs / ".notes.md").write_text("# private\n")
    (docs / ".git").mkdir()
    (docs / ".git" / "HEAD").write_text("ref: refs/heads/main\n")

    def ingest() -> subprocess.CompletedProcess:
        return subprocess.run(
            [*cli, "ingest", str(docs), "--tenant", tenant_id, "--store", "handbook"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    run = ingest()
    assert run.returncode == 0, run.stdout + run.stderr
    assert "9 new files to ingest, 0 already ingested, 4 skipped" in run.stdout
    assert "9/9 new files completed" in run.stdout and "MB/s" in run.stdout
    assert "0 already ingested (unchanged since a previous run), 4 skipped." in run.stdout
    assert re.search(r"logo\.png\s.*1\s.*unsupported type \(\.png\)", run.stdout), run.stdout
    assert re.search(r"Makefile\s.*1\s.*unsupported type \(no file extension\)", run.stdout), run.stdout
    assert re.search(r"\.git/HEAD, \.notes\.md\s.*2\s.*hidden", run.stdout), run.stdout
    assert "Supported types: .csv" in run.stdout
    again = ingest()  # the store is found by name; nothing is new
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Nothing new to ingest: 9 already ingested (unchanged since a previous run), 4 skipped." in again.stdout
    # A binary file under a text name is tried, and its failure says why (exit code 2).
    (docs / "broken.txt").write_bytes(b"text\x00\x01\x02" * 100)
    third = ingest()
    assert third.returncode == 2, third.stdout + third.stderr
    assert "0/1 new files completed" in third.stdout and "File looks binary, not text." in third.stdout
    assert "9 already ingested" in third.stdout
    srv = sqlite_server(tmp_path, {})
    try:
        mark_email_verified(srv, made.stdout.split("user_id=")[1].split()[0])
        token = login(srv, "cli@example.com")["access_token"]
        stores = srv.rest("GET", STORES, token=token).json()
        assert stores["total"] == 1 and stores["items"][0]["name"] == "handbook"
        page = search(srv, token, stores["items"][0]["id"], query="borrow checker")
        assert page["data"][0]["filename"] == "rust.md" and page["data"][0]["attributes"] == {"path": "rust.md"}
    finally:
        srv.stop()


# With OpenAI configured, search ranks by embeddings (a local stub of /v1/embeddings). ----------


class EmbeddingsStub:
    """Deterministic 'embeddings': hashed bag of crudely stemmed words, `dimensions` wide."""

    def __init__(self) -> None:
        from starlette.applications import Starlette
        from starlette.routing import Route

        self.requests: list[dict] = []
        self.fail = False
        self.app = Starlette(routes=[Route("/v1/embeddings", self.embeddings, methods=["POST"])])

    @staticmethod
    def vector(text: str, dims: int) -> list[float]:
        import hashlib
        import re

        v = [0.0] * dims
        for word in re.findall(r"[a-z]{3,}", text.lower()):
            stem = word[:6]
            v[int(hashlib.md5(stem.encode()).hexdigest(), 16) % dims] += 1.0
        return v

    async def embeddings(self, request):
        from starlette.responses import JSONResponse

        body = await request.json()
        self.requests.append(body)
        if self.fail:
            return JSONResponse({"error": {"message": "down", "type": "server_error"}}, 500)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [
            {"object": "embedding", "index": i, "embedding": self.vector(t, body.get("dimensions", 64))}
            for i, t in enumerate(inputs)
        ]
        return JSONResponse(
            {"object": "list", "data": data, "model": body["model"], "usage": {"prompt_tokens": 1, "total_tokens": 1}}
        )


@pytest.fixture(scope="module")
def embedding_server(tmp_path_factory):
    import threading

    import uvicorn

    from tests.files.test_storage import sqlite_server

    stub = EmbeddingsStub()
    web = uvicorn.Server(uvicorn.Config(stub.app, host="127.0.0.1", port=0, log_level="critical"))
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    while not web.started:
        time.sleep(0.01)
    port = web.servers[0].sockets[0].getsockname()[1]
    srv = sqlite_server(
        tmp_path_factory.mktemp("emb"),
        {"AGENTDECK_OPENAI_API_KEY": "sk-test", "AGENTDECK_OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1"},
    )
    yield srv, stub
    srv.stop()
    web.should_exit = True
    thread.join(5)


def test_openai_embeddings_rank_when_configured(embedding_server):
    srv, stub = embedding_server
    owner = register(srv, verified=True)
    t = owner.access_token
    sid = new_store(srv, t)["id"]
    for name in ("rust.md", "sourdough.txt", "gardening.txt", "kubernetes.md"):
        assert attach(srv, t, sid, DATA / name)["status"] == "completed"
    assert stub.requests and all(
        r["model"] == "text-embedding-3-small" and r["dimensions"] == 256 for r in stub.requests
    )
    seen = len(stub.requests)
    for query, expected in [
        ("borrow checker lifetimes", "rust.md"),
        ("sourdough starter", "sourdough.txt"),
        ("tomato blight", "gardening.txt"),
        ("pod tolerations", "kubernetes.md"),
    ]:
        page = search(srv, t, sid, query=query)
        assert page["data"][0]["filename"] == expected, (query, page["data"])
        assert 0 < page["data"][0]["score"] <= 1
    assert len(stub.requests) == seen + 4  # one query embedding per search
    stub.fail = True
    try:
        r = srv.rest("POST", SEARCH.format(vector_store_id=sid), token=t, json={"query": "rust"})
        assert r.status_code == 502, r.text
        f = attach(srv, t, sid, DATA / "solar.html")
        assert f["status"] == "failed" and "Embedding failed" in f["last_error"]
    finally:
        stub.fail = False
