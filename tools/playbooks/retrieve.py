"""Playbook retrieval: `search_playbooks` for code, `retrieve` for the agent (records evidence).

Scoring is hybrid and deterministic. Each chunk gets the cosine similarity of its MiniLM embedding
to the query's; a playbook's score is its best chunk's similarity plus two front-matter bonuses:
- lexical: the share of the query's informative words (and word pairs, so "fan in" differs from
  "fan out") found in the playbook's title, keywords and trigger ids, weighted by rarity across
  playbooks (idf), so words every playbook shares count for nothing;
- rule id: the alert's rule id is one of the playbook's triggers, divided by how many playbooks
  share that trigger (TM-STRUCT-01 points at one playbook, TM-VEL-07 at eight).
Pure embeddings confuse the seven graph shapes, whose alerts read alike; the bonuses carry the few
words that tell them apart ("senders", "recipients", "returned", "intermediaries", "layers").

Without a typology filter the result has one passage per playbook (its best chunk), best first, so
k passages name k candidate typologies. With a filter, it returns the k best sections of that one
playbook. The index's vectors are read once per process into memory (a few hundred chunks: an exact
dot product is faster and more deterministic than an approximate HNSW query) and the model stays
loaded, so a query costs one embedding.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tools.evidence import Evidence, EvidenceLedger
from tools.playbooks.load import default_dir, load_playbooks
from tools.settings import Settings, load_settings

W_LEXICAL = 0.2
W_RULE = 0.12
RULE_RE = re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)+\b")
WORD_RE = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    "a an and are as at be been by do does for from has have how i in into is it its of on one or our "
    "s so than that the their them then there these they this to was we were what when where which who "
    "why will with within without you your can should about after before any all more most other some "
    "out over than up down via per each".split()
)


@dataclass(frozen=True)
class Passage:
    """One retrieved playbook passage, citeable as `PB:<playbook>#<anchor>`."""

    playbook: str
    file: str
    typology: str
    section: str
    anchor: str
    text: str
    score: float
    citation: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _stem(word: str) -> str:
    """Crude, consistent suffix stripping; queries and playbooks go through the same function."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: len(word) - len(suffix)] + keep
    return word


def terms(text: str) -> set[str]:
    """Stemmed informative words and adjacent word pairs of a text (pairs keep 'fan-in' apart from 'fan-out')."""
    words = [w for w in WORD_RE.findall(text.lower()) if not w.isdigit()]
    out: set[str] = set()
    prev: tuple[str, bool] | None = None
    for w in words:
        stem, stop = _stem(w), w in STOPWORDS
        if not stop:
            out.add(stem)
        if prev is not None and not (stop and prev[1]):
            out.add(f"{prev[0]}~{stem}")
        prev = (stem, stop)
    return out


def rule_ids(text: str) -> set[str]:
    """Rule-id-looking tokens (TM-VEL-07, VENDOR-X-17), upper-cased."""
    return {m.group(0).upper() for m in RULE_RE.finditer(text) if any(c.isdigit() for c in m.group(0))}


@dataclass
class _Snapshot:
    """The index in memory: unit vectors, chunk metadata and the playbooks' front-matter lexicons."""

    hashes: dict[str, str]
    ids: list[str]
    matrix: Any  # numpy (n_chunks, dim)
    metas: list[dict[str, Any]]
    docs: list[str]
    lexicon: dict[str, set[str]]
    idf: dict[str, float]
    triggers: dict[str, set[str]]
    trigger_share: dict[str, int]


_lock = threading.Lock()
_snapshots: dict[Path, _Snapshot] = {}
_clients: dict[Path, Any] = {}


def invalidate_cache() -> None:
    """Forget in-memory snapshots (after an index run in this process)."""
    with _lock:
        _snapshots.clear()


def _client(chroma_dir: Path) -> Any:
    from tools.playbooks.index import open_client

    if chroma_dir not in _clients:
        _clients[chroma_dir] = open_client(chroma_dir)
    return _clients[chroma_dir]


def _load_snapshot(settings: Settings, directory: Path) -> _Snapshot:
    import numpy as np

    from tools.playbooks.index import get_collection

    pbs = load_playbooks(directory)
    collection = get_collection(_client(settings.chroma_dir))
    got = collection.get(include=["embeddings", "metadatas", "documents"])
    order = sorted(range(len(got["ids"])), key=lambda i: got["ids"][i])  # deterministic order
    ids = [got["ids"][i] for i in order]
    metas = [got["metadatas"][i] for i in order]
    docs = [got["documents"][i] for i in order]
    matrix = np.asarray([got["embeddings"][i] for i in order], dtype=np.float32).reshape(len(ids), -1)
    lexicon = {pb.name: terms(" ".join([pb.title, *pb.keywords, *pb.typologies])) for pb in pbs.playbooks}
    df = Counter(t for lex in lexicon.values() for t in lex)
    n = max(len(lexicon), 1)
    idf = {t: math.log(1 + n / c) for t, c in df.items()}
    triggers = {pb.name: {t.upper() for t in pb.triggers} for pb in pbs.playbooks}
    share = Counter(t for ts in triggers.values() for t in ts)
    hashes = {m["playbook"]: m["content_hash"] for m in metas}
    return _Snapshot(hashes, ids, matrix, metas, docs, lexicon, idf, triggers, dict(share))


def _snapshot(settings: Settings, directory: Path) -> _Snapshot:
    """The cached snapshot, refreshed (and the index updated) when the playbooks changed."""
    from tools.playbooks.index import build_index, get_collection, stale_reason

    current = {pb.name: pb.content_hash for pb in load_playbooks(directory).playbooks}
    with _lock:
        snap = _snapshots.get(settings.chroma_dir)
        if snap is not None and snap.hashes == current:
            return snap
    collection = get_collection(_client(settings.chroma_dir))
    stored: dict[str, str] = {}
    if collection is not None and stale_reason(collection) is None:
        stored = {m["playbook"]: m["content_hash"] for m in collection.get(include=["metadatas"])["metadatas"]}
    if stored != current:
        build_index(settings, directory)
    snap = _load_snapshot(settings, directory)
    with _lock:
        _snapshots[settings.chroma_dir] = snap
    return snap


def _bonuses(snap: _Snapshot, query: str) -> dict[str, float]:
    """Per-playbook lexical + rule-id bonus for this query."""
    q = terms(query)
    known = [t for t in q if t in snap.idf]
    total = sum(snap.idf[t] for t in known)
    rules = rule_ids(query)
    out: dict[str, float] = {}
    for name, lex in snap.lexicon.items():
        lexical = sum(snap.idf[t] for t in known if t in lex) / total if total else 0.0
        rule = sum(1.0 / snap.trigger_share[r] for r in rules & snap.triggers.get(name, set()))
        out[name] = W_LEXICAL * lexical + W_RULE * min(rule, 1.0)
    return out


def search_playbooks(query: str, k: int = 3, typology: str | None = None, *, settings: Settings | None = None,
                     directory: Path | None = None) -> list[Passage]:
    """The best playbook passages for a query: one per playbook (k playbooks), or k sections of one typology."""
    import numpy as np

    from tools.playbooks.embed import embed_query

    if not query or not query.strip():
        return []
    settings = settings or load_settings()
    directory = (Path(directory) if directory is not None else default_dir()).resolve()
    snap = _snapshot(settings, directory)
    if not snap.ids:
        return []
    q = np.asarray(embed_query(query.strip()[:2000]), dtype=np.float32)
    sims = snap.matrix @ q
    bonus = _bonuses(snap, query)
    scored = [(float(sims[i]) + bonus.get(m["playbook"], 0.0), i) for i, m in enumerate(snap.metas)]
    if typology is not None:
        scored = [(s, i) for s, i in scored if snap.metas[i]["typology"] == typology]
    scored.sort(key=lambda si: (-si[0], snap.ids[si[1]]))
    passages: list[Passage] = []
    seen: set[str] = set()
    for score, i in scored:
        meta = snap.metas[i]
        key = meta["anchor"] if typology is not None else meta["playbook"]
        if key in seen:
            continue
        seen.add(key)
        passages.append(Passage(
            playbook=meta["playbook"], file=f"{meta['playbook']}.md", typology=meta["typology"],
            section=meta["section"], anchor=meta["anchor"], text=snap.docs[i], score=round(score, 4),
            citation=f"PB:{meta['playbook']}#{meta['anchor']}"))
        if len(passages) >= k:
            break
    return passages


def alert_query(rule_id: str | None, description: str) -> str:
    """The retrieval query for an alert, as the agent builds it: rule id, then the description."""
    return f"{rule_id}: {description}" if rule_id else description


def retrieve(ledger: EvidenceLedger, query: str, k: int = 3, typology: str | None = None, *,
             settings: Settings | None = None) -> Evidence:
    """Search the playbooks and record the passages as evidence (tool='playbooks') the narrative can cite."""
    import time

    start = time.perf_counter()
    passages = search_playbooks(query, k=k, typology=typology, settings=settings)
    rows = [[p.citation, p.typology, p.section, p.score, p.text] for p in passages]
    summary = (f"{len(passages)} playbook passage(s) for the query: "
               + ", ".join(f"{p.citation} ({p.score:.2f})" for p in passages)) if passages else "no playbook matched"
    return ledger.record("playbooks", {"query": query[:300], "k": k, **({"typology": typology} if typology else {})},
                         columns=["citation", "typology", "section", "score", "text"], rows=rows, summary=summary,
                         elapsed_ms=(time.perf_counter() - start) * 1000)
