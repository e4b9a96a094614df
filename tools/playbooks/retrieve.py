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

Counts are words too: alerts say what a rule counted ("13 incoming, 0 outgoing", "in=11 out=0",
"6 senders"). Before lexical matching each count is turned into a quantity word attached to what it
counts (0 -> "no", 1-2 -> "few", 3-5 -> "several", 6+ -> "many"), and a zero count removes the
counted word, so "0 outgoing" does not vote for the outgoing shapes; numbers of 1,000 or more are
amounts, not counts. Playbook keywords use the same
quantity words ("many incoming transfers and no outgoing transfers"). Quoted text (a customer memo
the alert quotes) is dropped from the query: untrusted text must not steer which playbook is used.

Without a typology filter the result has one passage per playbook (its best chunk), best first, so
k passages name k candidate typologies. With a filter, it returns the k best sections of that one
playbook. The index's vectors are read once per process into memory (a few hundred chunks: an exact
dot product is faster and more deterministic than an approximate HNSW query) and the model stays
loaded, so a query costs one embedding.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tools.evidence import Evidence, EvidenceLedger
from tools.playbooks.load import default_dir, file_hashes, load_playbooks
from tools.settings import Settings, load_settings

W_LEXICAL = 0.4
W_RULE = 0.12
W_CONTRADICTION = 0.2
CUE_BOOST = 4.0  # a count cue ("no~outgoing") says more about the shape than any single word
QUANTITIES = frozenset({"no", "few", "several", "many"})
COUNT_RE = re.compile(r"(?<![\w.,/])(\d+(?:,\d{3})*)(?:\.\d+)?\s+(?:distinct\s+|separate\s+|new\s+|different\s+)?"
                      r"([a-z][a-z-]*)", re.I)
NO_RE = re.compile(r"\bno\s+([a-z][a-z-]*)", re.I)
KV_RE = re.compile(r"\b([a-z_]+)=(\d+)", re.I)
KV_ALIASES = {"in": "incoming", "out": "outgoing", "cp": "counterparties", "fwd": "forwarding",
              "cosend": "co-senders", "wallets": "external"}
MAX_COUNT = 1000
QUOTED_RE = re.compile(r"\"[^\"]*\"|\u201c[^\u201d]*\u201d")
UNITS = frozenset("usd eur gbp btc eth usdt usdc ltc sol h hour hours day days week weeks x % percent".split())
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


def quantity(n: int) -> str:
    """The quantity word for a count."""
    return "no" if n == 0 else "few" if n <= 2 else "several" if n <= 5 else "many"


def count_cues(text: str) -> tuple[set[str], set[str]]:
    """(quantity~word terms, words counted zero times) from '13 incoming', 'in=11', '0 outgoing', 'no outgoing'."""
    cues: set[str] = set()
    zero: set[str] = set()
    pairs = [(m.group(1), m.group(2)) for m in COUNT_RE.finditer(text)]
    pairs += [(m.group(2), KV_ALIASES.get(m.group(1).lower(), m.group(1))) for m in KV_RE.finditer(text)]
    pairs += [("0", m.group(1)) for m in NO_RE.finditer(text)]
    for number, word in pairs:
        word = word.lower()
        if word in STOPWORDS or word in UNITS:
            continue
        n = int(number.replace(",", ""))
        if n >= MAX_COUNT:  # "in=13960": an amount, not a count
            continue
        stem = _stem(word)
        cues.add(f"{quantity(n)}~{stem}")
        if n == 0:
            zero.add(stem)
    return cues, zero


def query_terms(text: str) -> set[str]:
    """Terms of a query or playbook lexicon: words, word pairs and count cues; quoted text removed."""
    text = QUOTED_RE.sub(" ", text)
    cues, zero = count_cues(text)
    return (terms(text) - zero) | cues


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


def invalidate_cache(chroma_dir: Path | None = None) -> None:
    """Forget in-memory snapshots (after an index run in this process) and the index's saved copy."""
    with _lock:
        _snapshots.clear()
    if chroma_dir is not None:
        (chroma_dir / SAVED_SNAPSHOT).unlink(missing_ok=True)


#: A copy of the index's vectors and chunks beside it, with the playbook hashes and index identity it
#: was read under: a process whose playbooks match it starts searching without importing chromadb
#: (0.9 s of every triage worker's start-up and of every one-shot `sleuth investigate`). Chroma
#: stays the store: the copy is rewritten whenever the snapshot is read from it.
SAVED_SNAPSHOT = "snapshot.npz"


def _client(chroma_dir: Path) -> Any:
    from tools.playbooks.index import open_client

    if chroma_dir not in _clients:
        _clients[chroma_dir] = open_client(chroma_dir)
    return _clients[chroma_dir]


def _load_snapshot(settings: Settings, directory: Path) -> _Snapshot:
    import numpy as np

    from tools.playbooks.index import get_collection

    collection = get_collection(_client(settings.chroma_dir))
    got = collection.get(include=["embeddings", "metadatas", "documents"])
    order = sorted(range(len(got["ids"])), key=lambda i: got["ids"][i])  # deterministic order
    ids = [got["ids"][i] for i in order]
    metas = [got["metadatas"][i] for i in order]
    docs = [got["documents"][i] for i in order]
    matrix = np.asarray([got["embeddings"][i] for i in order], dtype=np.float32).reshape(len(ids), -1)
    snap = _assemble(directory, ids, matrix, metas, docs)
    _save(settings.chroma_dir / SAVED_SNAPSHOT, snap)
    return snap


def _assemble(directory: Path, ids: list[str], matrix: Any, metas: list[dict[str, Any]], docs: list[str]) -> _Snapshot:
    """The snapshot of these chunks, with the lexical tables of the current playbooks."""
    pbs = load_playbooks(directory)
    lexicon = {pb.name: query_terms(" ; ".join([pb.title, *pb.keywords, *pb.typologies])) for pb in pbs.playbooks}
    df = Counter(t for lex in lexicon.values() for t in lex)
    n = max(len(lexicon), 1)
    idf = {t: math.log(1 + n / c) for t, c in df.items()}
    triggers = {pb.name: {t.upper() for t in pb.triggers} for pb in pbs.playbooks}
    share = Counter(t for ts in triggers.values() for t in ts)
    hashes = {m["playbook"]: m["content_hash"] for m in metas}
    return _Snapshot(hashes, ids, matrix, metas, docs, lexicon, idf, triggers, dict(share))


def _save(path: Path, snap: _Snapshot) -> None:
    import numpy as np

    from tools.playbooks.index import index_identity

    chunks = json.dumps({"identity": index_identity(), "ids": snap.ids, "metas": snap.metas, "docs": snap.docs})
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, matrix=snap.matrix, chunks=np.array(chunks))
        os.replace(tmp, path)
    except OSError:  # a read-only index folder: no copy, the next process reads Chroma again
        tmp.unlink(missing_ok=True)


def _read_saved(settings: Settings, current: dict[str, str], *, matrix: bool = True) -> tuple[dict[str, Any], Any] | None:
    """The saved copy's chunks (and vectors, unless `matrix` is False), if it was taken under these
    playbooks and this index identity."""
    import numpy as np

    from tools.playbooks.index import index_identity

    path = settings.chroma_dir / SAVED_SNAPSHOT
    try:
        with np.load(path, allow_pickle=False) as data:
            chunks = json.loads(str(data["chunks"]))
            vectors = data["matrix"] if matrix else None
    except (OSError, ValueError, KeyError):
        return None
    if chunks.get("identity") != index_identity() or {m["playbook"]: m["content_hash"] for m in chunks["metas"]} != current:
        return None
    return chunks, vectors


def _saved(settings: Settings, directory: Path, current: dict[str, str]) -> _Snapshot | None:
    """The saved copy as a snapshot, if it was taken under these playbooks and this index identity."""
    saved = _read_saved(settings, current)
    if saved is None:
        return None
    chunks, matrix = saved
    return _assemble(directory, chunks["ids"], matrix, chunks["metas"], chunks["docs"])


def prepare_index(settings: Settings, directory: Path | None = None) -> None:
    """Bring the index in line with the playbooks and the embedding engine in this process, before
    batch workers start: a stale index is then rebuilt once, here, and not by every worker at once
    (they would race on the Chroma store). Cheap when it is current: the saved copy is checked."""
    directory = (Path(directory) if directory is not None else default_dir()).resolve()
    if _read_saved(settings, file_hashes(directory), matrix=False) is None:
        _snapshot(settings, directory)


def _snapshot(settings: Settings, directory: Path) -> _Snapshot:
    """The cached snapshot, refreshed (and the index updated) when the playbooks changed."""
    from tools.playbooks.index import build_index, get_collection, stale_reason

    current = {pb.name: pb.content_hash for pb in load_playbooks(directory).playbooks}
    with _lock:
        snap = _snapshots.get(settings.chroma_dir)
        if snap is not None and snap.hashes == current:
            return snap
    snap = _saved(settings, directory, current)
    if snap is not None:
        with _lock:
            _snapshots[settings.chroma_dir] = snap
        return snap
    collection = get_collection(_client(settings.chroma_dir))
    stored: dict[str, str] = {}
    if collection is not None and stale_reason(collection) is None:
        stored = {m["playbook"]: m["content_hash"] for m in collection.get(include=["metadatas"])["metadatas"]}
    if stored != current:
        from tools.first_use import first_use

        with first_use(f"embedding the playbooks into the index {settings.chroma_dir} (missing or out of date)"):
            build_index(settings, directory)
    snap = _load_snapshot(settings, directory)
    with _lock:
        _snapshots[settings.chroma_dir] = snap
    return snap


def _bonuses(snap: _Snapshot, query: str) -> dict[str, float]:
    """Per-playbook lexical + rule-id bonus for this query."""
    q = query_terms(query)
    cues = {t for t in q if "~" in t and t.split("~", 1)[0] in QUANTITIES}
    weight = {t: snap.idf[t] * (CUE_BOOST if t in cues else 1.0) for t in q if t in snap.idf}
    total = sum(weight.values())
    rules = rule_ids(query)
    out: dict[str, float] = {}
    counted = {t.split("~", 1)[1]: t.split("~", 1)[0] for t in sorted(cues)}
    for name, lex in snap.lexicon.items():
        lexical = sum(w for t, w in weight.items() if t in lex) / total if total else 0.0
        rule = sum(1.0 / snap.trigger_share[r] for r in rules & snap.triggers.get(name, set()))
        out[name] = W_LEXICAL * lexical + W_RULE * min(rule, 1.0) - W_CONTRADICTION * _contradictions(counted, lex)
    return out


def _contradictions(counted: dict[str, str], lexicon: set[str]) -> int:
    """How many things the query counts as absent that the playbook expects present, or the reverse:
    "0 incoming" against a playbook whose keywords only ever say "several/many incoming"."""
    n = 0
    for word, qty in counted.items():
        expected = {q for q in QUANTITIES if f"{q}~{word}" in lexicon}
        if expected and qty not in expected and (qty == "no" or expected == {"no"}):
            n += 1
    return n


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
    q = np.asarray(embed_query(_embedding_text(query)), dtype=np.float32)
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


def _embedding_text(query: str) -> str:
    """What is embedded of a query: quoted (untrusted) text removed, capped."""
    return (QUOTED_RE.sub(" ", query).strip() or query.strip())[:2000]


def prefetch(query: str) -> None:
    """Start embedding a query that `search_playbooks` will get soon (batch work: the next alert)."""
    from tools.playbooks.embed import prefetch_query

    if query and query.strip():
        prefetch_query(_embedding_text(query))


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
