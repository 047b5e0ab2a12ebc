"""Tenant scoping lives in one place: a session opened for a tenant sees and writes only its rows."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, TenantOwned
from agentdeck.db.migrate import upgrade
from agentdeck.db.models import Tenant
from agentdeck.db.session import CrossTenantWrite, Database
from tests.harness import fresh_database, needs_postgres


class Memo(TenantOwned, Base):
    """A tenant-owned model that exists only in this test."""

    __tablename__ = "test_memos"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    text: Mapped[str] = mapped_column(String(64))


BACKENDS = ["sqlite", pytest.param("postgres", marks=needs_postgres)]


@pytest.fixture(params=BACKENDS)
async def db(request, tmp_path):
    with fresh_database(request.param, tmp_path) as url:
        import asyncio

        await asyncio.to_thread(upgrade, url)
        database = Database(url)
        async with database.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all, tables=[Memo.__table__])
        yield database
        await database.dispose()


async def _two_tenants(db: Database):
    a, b = Tenant(name="A", slug=f"a-{uuid.uuid4().hex[:6]}"), Tenant(name="B", slug=f"b-{uuid.uuid4().hex[:6]}")
    async with db.platform_session() as s:
        s.add_all([a, b])
        await s.flush()
        s.add_all([Memo(tenant_id=a.id, text="a's"), Memo(tenant_id=b.id, text="b's")])
        await s.commit()
    return a.id, b.id


async def test_a_tenant_session_cannot_read_another_tenants_rows(db):
    a, b = await _two_tenants(db)
    async with db.session(tenant_id=a) as s:
        assert [m.text for m in (await s.scalars(select(Memo))).all()] == ["a's"]
        # Even asking for b's rows by id returns nothing.
        assert (await s.scalars(select(Memo).where(Memo.tenant_id == b))).all() == []
    async with db.platform_session() as s:  # the unscoped platform session sees both
        assert len((await s.scalars(select(Memo))).all()) == 2


async def test_a_tenant_session_cannot_write_another_tenants_rows(db):
    a, b = await _two_tenants(db)
    async with db.session(tenant_id=a) as s:
        s.add(Memo(tenant_id=b, text="smuggled"))
        with pytest.raises(CrossTenantWrite):
            await s.flush()
    async with db.session(tenant_id=a) as s:
        memo = Memo(text="stamped")  # tenant_id filled in from the session
        s.add(memo)
        await s.commit()
        assert memo.tenant_id == a


async def test_a_tenant_session_needs_a_tenant(db):
    """No tenant is never read as "every tenant": the unscoped session has its own name."""
    for missing in (None, "", str(uuid.uuid4())):
        with pytest.raises(TypeError):
            async with db.session(missing):
                pass
