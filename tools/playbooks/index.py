"""`sleuth index`: embed playbook chunks into a persistent Chroma collection, incrementally.

Identity of an index = (index format version, embedding model name, model package version), stored
in the collection metadata; any mismatch (or `--rebuild`) drops and rebuilds the collection, so a
new model or chunking scheme never mixes vectors. Within a valid index each chunk carries its
playbook's content hash: a playbook whose hash changed has its chunks replaced, a deleted one has
them removed, the rest are untouched (and the model is not even loaded when nothing changed).
Embeddings are always passed in: Chroma's default embedding function would download a model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.playbooks import embed
from tools.playbooks.chunks import chunk_playbook
from tools.playbooks.load import Playbook, load_dir
from tools.settings import Settings

COLLECTION = "playbooks"
INDEX_FORMAT = 3


@dataclass
class IndexReport:
    """What an index run did."""

    rebuilt: bool = False
    reason: str = ""
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    model: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.rebuilt)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__} | {"changed": self.changed}


def index_identity() -> dict[str, str | int]:
    """The collection metadata an index must carry to be reused."""
    return {"index_format": INDEX_FORMAT, "model": embed.MODEL_NAME, "model_version": embed.model_version(),
            "precision": embed.precision()}


def open_client(chroma_dir: Path) -> Any:
    """A persistent Chroma client with telemetry off."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(chroma_dir), settings=ChromaSettings(anonymized_telemetry=False))


def get_collection(client: Any) -> Any | None:
    """The playbook collection, or None if it does not exist yet."""
    from chromadb.errors import NotFoundError

    try:
        return client.get_collection(COLLECTION, embedding_function=None)
    except NotFoundError:
        return None


def stale_reason(collection: Any | None) -> str | None:
    """Why an existing collection cannot be reused, or None if it can."""
    if collection is None:
        return "no index yet"
    meta = collection.metadata or {}
    for key, want in index_identity().items():
        if meta.get(key) != want:
            return f"{key} changed ({meta.get(key)!r} -> {want!r})"
    return None


def _stored_hashes(collection: Any) -> dict[str, str]:
    got = collection.get(include=["metadatas"])
    return {m["playbook"]: m["content_hash"] for m in got["metadatas"] or []}


def _add(collection: Any, pbs: list[Playbook]) -> int:
    chunks = [c for pb in pbs for c in chunk_playbook(pb)]
    if not chunks:
        return 0
    vectors = embed.embed([c.text for c in chunks])
    collection.add(ids=[c.id for c in chunks], embeddings=vectors, documents=[c.text for c in chunks],
                   metadatas=[c.metadata() for c in chunks])
    return len(chunks)


def build_index(settings: Settings, directory: Path | None = None, *, rebuild: bool = False) -> IndexReport:
    """Bring the index in line with the playbooks; rebuild from scratch when asked or when stale."""
    start = time.perf_counter()
    playbooks = load_dir(directory)
    report = IndexReport(model=f"{embed.MODEL_NAME} ({embed.model_version()}, {embed.precision()})")
    client = open_client(settings.chroma_dir)
    collection = get_collection(client)
    reason = "--rebuild" if rebuild else stale_reason(collection)
    if reason is not None:
        if collection is not None:
            client.delete_collection(COLLECTION)
        collection = client.create_collection(COLLECTION, embedding_function=None, metadata=index_identity(),
                                              configuration={"hnsw": {"space": "cosine"}})
        report.rebuilt, report.reason = True, reason
    stored = _stored_hashes(collection)
    current = {pb.name: pb for pb in playbooks}
    to_embed: list[Playbook] = []
    for name, pb in current.items():
        if name not in stored:
            report.added.append(name)
            to_embed.append(pb)
        elif stored[name] != pb.content_hash:
            report.updated.append(name)
            collection.delete(where={"playbook": name})
            to_embed.append(pb)
        else:
            report.unchanged.append(name)
    for name in sorted(set(stored) - set(current)):
        collection.delete(where={"playbook": name})
        report.removed.append(name)
    report.chunks_embedded = _add(collection, to_embed)
    report.chunks_total = collection.count()
    report.seconds = round(time.perf_counter() - start, 2)
    if report.changed:
        from tools.playbooks.retrieve import invalidate_cache

        invalidate_cache(settings.chroma_dir)
    return report
