"""Split playbooks into retrievable passages: one summary chunk plus one chunk per `##` section.

The summary chunk (title, typology, trigger rule ids, keywords, red flag descriptions) is what an
alert description most resembles: alerts say what a rule saw ("12 senders in 7 days", "counterparty
linked to a mixer"), and the summary gathers exactly those words. Sections longer than the model's
input window (all-MiniLM-L6-v2 reads 256 word pieces) are cut at paragraph boundaries so no text
is silently truncated; every part keeps the section's citation id. `## Sources` is not indexed: a
reference list is never the passage an investigator needs, and it made unrelated playbooks look
alike (they cite the same guidance).
"""

from __future__ import annotations

from dataclasses import dataclass

from tools.playbooks.load import Playbook

MAX_WORDS = 170  # ~230 word pieces for this English prose: under the model's 256-piece window


@dataclass(frozen=True)
class Chunk:
    """One passage of a playbook, as stored in the index."""

    id: str
    playbook: str
    typology: str
    section: str
    anchor: str
    part: int
    text: str
    content_hash: str

    @property
    def citation(self) -> str:
        return f"PB:{self.playbook}#{self.anchor}"

    def metadata(self) -> dict[str, str | int]:
        """Chroma metadata (scalars only)."""
        return {"playbook": self.playbook, "typology": self.typology, "section": self.section,
                "anchor": self.anchor, "part": self.part, "content_hash": self.content_hash}


def summary_text(pb: Playbook) -> str:
    """The front matter as prose: what an alert about this typology would mention."""
    flags = "; ".join(f.description for f in pb.red_flags)
    head = f"{pb.title}. Typology: {', '.join(t.replace('_', ' ') for t in pb.typologies)}."
    if pb.triggers:
        head += f" Raised by rules: {', '.join(pb.triggers)}."
    parts = [head, f"Keywords: {', '.join(pb.keywords)}.", f"Red flags: {flags}." if flags else ""]
    return "\n\n".join(p for p in parts if p)


def _split(text: str, limit: int = MAX_WORDS) -> list[str]:
    """Paragraph-aligned pieces of at most `limit` words (a longer paragraph is cut at lines, then words)."""
    pieces: list[str] = []
    current: list[str] = []
    count = 0
    units: list[str] = []
    for para in text.split("\n\n"):
        if len(para.split()) <= limit:
            units.append(para)
            continue
        for line in para.split("\n"):
            words = line.split()
            units += [" ".join(words[i:i + limit]) for i in range(0, max(len(words), 1), limit)]
    for unit in units:
        n = len(unit.split())
        if current and count + n > limit:
            pieces.append("\n\n".join(current))
            current, count = [], 0
        current.append(unit)
        count += n
    if current:
        pieces.append("\n\n".join(current))
    return [p for p in pieces if p.strip()]


def chunk_playbook(pb: Playbook) -> list[Chunk]:
    """Summary chunk first, then the sections in order."""
    typ = pb.typology
    chunks = []
    for i, piece in enumerate(_split(summary_text(pb))):
        text = piece if i == 0 else f"{pb.title}\n{piece}"
        chunks.append(Chunk(f"{pb.name}#summary{f'-{i + 1}' if i else ''}", pb.name, typ, "Summary", "summary", i,
                            text, pb.content_hash))
    for section in pb.sections:
        if section.heading == "Sources":  # see the module docstring
            continue
        for i, piece in enumerate(_split(section.text)):
            suffix = f"-{i + 1}" if i else ""
            chunks.append(Chunk(f"{pb.name}#{section.anchor}{suffix}", pb.name, typ, section.heading,
                                section.anchor, i, f"{pb.title} - {section.heading}\n{piece}", pb.content_hash))
    return chunks
