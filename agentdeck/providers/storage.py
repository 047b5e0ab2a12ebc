"""Object storage. The embedded default keeps objects on local disk under `<var_dir>/storage`."""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StorageHealth:
    healthy: bool
    provider: str
    detail: str | None = None


class LocalDiskStorage:
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    async def health(self) -> StorageHealth:
        def probe() -> StorageHealth:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
                probe_file = self.root / f".probe-{uuid.uuid4().hex}"
                probe_file.write_bytes(b"ok")
                probe_file.unlink()
                return StorageHealth(True, self.name)
            except OSError as exc:
                return StorageHealth(False, self.name, f"{type(exc).__name__}: {exc.strerror or exc}")

        return await asyncio.to_thread(probe)


def make_storage(storage_url: str | None, var_dir: Path):
    if storage_url and not storage_url.startswith("file://"):
        raise ValueError(f"unsupported AGENTDECK_STORAGE_URL scheme: {storage_url.split(':', 1)[0]}")
    root = Path(storage_url.removeprefix("file://")) if storage_url else var_dir / "storage"
    return LocalDiskStorage(Path(os.path.expanduser(root)))
