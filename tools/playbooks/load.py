"""Read playbook files: YAML front matter, `##` sections, a content hash; and check a directory.

A playbook is `---\\n<yaml>\\n---\\n<markdown>`. The markdown's `##` sections are the prose an
investigator reads and the passages retrieval returns. The content hash (sha256 of the file with
normalised newlines) identifies the exact revision used in a case trace and drives incremental
indexing; the author-set `version` stays the human-facing number.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml
from pydantic import ValidationError

from tools.errors import InputInvalid
from tools.playbooks.schema import (
    REQUIRED_SECTIONS,
    Actions,
    DispositionPolicy,
    EvidenceStep,
    FrontMatter,
    Narrative,
    SignalTerm,
    WeightedCheck,
    semantic_issues,
)
from tools.schema import TYPOLOGIES

FRONT_RE = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n(.*)\Z", re.S)
HEADING_RE = re.compile(r"^##[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)


def default_dir() -> Path:
    """`$SLEUTH_PLAYBOOKS` or the repository's `playbooks/` next to the `tools` package."""
    env = os.environ.get("SLEUTH_PLAYBOOKS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "playbooks"


def slug(text: str) -> str:
    """Heading -> anchor, as in `PB:structuring#red-flags`."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass(frozen=True)
class Section:
    """One `##` section of a playbook."""

    heading: str
    text: str

    @property
    def anchor(self) -> str:
        return slug(self.heading)


@dataclass(frozen=True)
class Playbook:
    """A parsed, validated playbook."""

    path: Path
    front: FrontMatter
    sections: tuple[Section, ...]
    content_hash: str
    intro: str = ""

    @property
    def name(self) -> str:
        """File stem, used in citations (`PB:<name>#<anchor>`)."""
        return self.path.stem

    @property
    def revision(self) -> str:
        """Author version plus content hash prefix: what a case trace records."""
        return f"{self.front.version}+{self.content_hash[:12]}"

    @property
    def path_name(self) -> str:
        """File name, as the scorecard and case reports name the playbook."""
        return self.path.name

    @property
    def typologies(self) -> list[str]:
        return self.front.all_typologies

    # The front matter, flattened: these are what the agent's nodes read.
    @property
    def typology(self) -> str:
        """The (first) typology this playbook serves; a lift-review playbook, which serves none, gives
        its purpose (`lift_review`), a name no typology lookup finds."""
        return self.front.all_typologies[0] if self.front.all_typologies else self.front.purpose

    @property
    def title(self) -> str:
        return self.front.title

    @property
    def version(self) -> str:
        return self.front.version

    @property
    def triggers(self) -> list[str]:
        return self.front.triggers

    @property
    def keywords(self) -> list[str]:
        return self.front.keywords

    @property
    def evidence_steps(self) -> list[EvidenceStep]:
        return self.front.evidence_steps

    @property
    def red_flags(self) -> list[WeightedCheck]:
        return self.front.red_flags

    @property
    def mitigating_factors(self) -> list[WeightedCheck]:
        return self.front.mitigating_factors

    @property
    def disposition_policy(self) -> DispositionPolicy:
        return self.front.disposition_policy

    @property
    def typology_signal(self) -> list[SignalTerm]:
        return self.front.typology_signal

    @property
    def actions(self) -> Actions:
        return self.front.actions

    @property
    def narrative(self) -> Narrative:
        return self.front.narrative

    def section(self, heading: str) -> Section | None:
        """The section with this heading (case-insensitive), or None."""
        return next((s for s in self.sections if s.heading.lower() == heading.lower()), None)

    def citation(self, anchor: str) -> str:
        return f"PB:{self.name}#{anchor}"


@dataclass
class Issue:
    """One problem found by the checker, printed as `file: field: message`."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


@dataclass
class CheckReport:
    """What `check_dir` found: the playbooks that loaded and every issue."""

    playbooks: list[Playbook] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues


def content_hash(raw: str) -> str:
    """sha256 of the text with normalised newlines (a CRLF checkout hashes like LF)."""
    return hashlib.sha256(raw.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def _split_sections(body: str) -> tuple[str, list[Section]]:
    matches = list(HEADING_RE.finditer(body))
    intro = body[: matches[0].start()].strip() if matches else body.strip()
    sections = []
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(body)
        sections.append(Section(m.group(1).strip(), body[m.end():end].strip()))
    return intro, sections


def _pydantic_issues(file: str, err: ValidationError) -> list[Issue]:
    out = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "front matter"
        msg = e["msg"].removeprefix("Value error, ")
        out.append(Issue(file, loc, msg))
    return out


#: libyaml's safe loader when PyYAML has it (the wheels do): the same safe subset, parsed in C, 0.44 s
#: less start-up for every worker that reads the playbooks (pure-Python parsing of 17 files).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse(path: Path) -> tuple[Playbook | None, list[Issue]]:
    """Parse and validate one file; return the playbook (None if unusable) and its issues."""
    file = path.name
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        return None, [Issue(file, "file", f"cannot read: {e}")]
    text = raw.replace("\r\n", "\n")
    m = FRONT_RE.match(text)
    if not m:
        return None, [Issue(file, "front matter", "file must start with '---', YAML, and a closing '---' line")]
    try:
        data = yaml.load(m.group(1), Loader=SAFE_LOADER)
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        line = f" at line {where.line + 2}" if where is not None else ""
        return None, [Issue(file, "front matter", f"invalid YAML{line}: {getattr(e, 'problem', e)}")]
    if not isinstance(data, dict):
        return None, [Issue(file, "front matter", "must be a YAML mapping")]
    try:
        front = FrontMatter.model_validate(data)
    except ValidationError as e:
        return None, _pydantic_issues(file, e)
    issues = [Issue(file, f, msg) for f, msg in semantic_issues(front)]
    intro, sections = _split_sections(m.group(2))
    headings = [s.heading.lower() for s in sections]
    for required in REQUIRED_SECTIONS:
        if required.lower() not in headings:
            issues.append(Issue(file, "sections", f"missing section '## {required}'"))
        elif len((sections[headings.index(required.lower())]).text.split()) < 15:
            issues.append(Issue(file, "sections", f"section '## {required}' is nearly empty"))
    if len(set(headings)) != len(headings):
        issues.append(Issue(file, "sections", "duplicate section heading"))
    pb = Playbook(path=path, front=front, sections=tuple(sections), content_hash=content_hash(raw), intro=intro)
    return pb, issues


def playbook_files(directory: Path) -> list[Path]:
    """The playbook files of a directory (every `*.md` but its README), in name order."""
    return sorted(p for p in directory.glob("*.md") if p.name.lower() != "readme.md")


def check_dir(directory: Path | None = None, *, require_all_typologies: bool = True) -> CheckReport:
    """Validate every `*.md` playbook in a directory, and that typologies are covered once each."""
    directory = Path(directory) if directory is not None else default_dir()
    report = CheckReport()
    if not directory.is_dir():
        report.issues.append(Issue(str(directory), "directory", "not a directory"))
        return report
    files = playbook_files(directory)
    if not files:
        report.issues.append(Issue(str(directory), "directory", "no playbooks (*.md) found"))
    owner: dict[str, str] = {}
    unreadable = False
    for path in files:
        pb, issues = parse(path)
        report.issues += issues
        if pb is None:
            unreadable = True
            continue
        report.playbooks.append(pb)
        for t in pb.typologies:
            if t in owner:
                report.issues.append(Issue(path.name, "typology", f"{t!r} is already served by {owner[t]}"))
            owner[t] = path.name
    if require_all_typologies and report.playbooks and not unreadable:  # else coverage gaps are noise
        for t in TYPOLOGIES:
            if t not in owner:
                report.issues.append(Issue(directory.name, "typology", f"no playbook serves typology {t!r}"))
    return report


def file_hashes(directory: Path | None = None) -> dict[str, str]:
    """Playbook name -> content hash of each file, read without parsing (about 1 ms for the set):
    enough to tell whether an index was built from these files. A file that cannot be read gives an
    empty answer, which matches no index, so the caller takes the path that reports the problem."""
    directory = Path(directory) if directory is not None else default_dir()
    try:
        return {p.stem: content_hash(p.read_text(encoding="utf-8")) for p in playbook_files(directory)}
    except (OSError, UnicodeDecodeError):
        return {}


def load_dir(directory: Path | None = None) -> list[Playbook]:
    """Load every playbook of a directory, raising `InputInvalid` listing the problems if any is bad."""
    report = check_dir(directory, require_all_typologies=False)
    if not report.ok:
        lines = "\n".join(str(i) for i in report.issues[:20])
        raise InputInvalid(f"{len(report.issues)} playbook problem(s):\n{lines}")
    return report.playbooks


@dataclass(frozen=True)
class PlaybookSet:
    """All playbooks of a directory, by typology, with one version hash for the whole set."""

    directory: Path
    playbooks: tuple[Playbook, ...]

    @cached_property
    def by_typology(self) -> dict[str, Playbook]:
        """typology -> playbook (a grouped playbook appears under each of its typologies); built
        once per set, as every node of every case looks playbooks up by typology."""
        return {t: pb for pb in self.playbooks for t in pb.typologies}

    @cached_property
    def by_name(self) -> dict[str, Playbook]:
        return {pb.name: pb for pb in self.playbooks}

    @cached_property
    def version(self) -> str:
        """Hash of every playbook's content hash: what a case report records as the playbook version."""
        joined = "\n".join(f"{pb.name}:{pb.content_hash}" for pb in self.playbooks)
        return hashlib.sha256(joined.encode()).hexdigest()[:16]


_CACHE: dict[Path, tuple[tuple[tuple[str, int, int], ...], PlaybookSet]] = {}


def _stamp(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, modification times and sizes of the playbook files (one stat each; asked once per node)."""
    out = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.endswith(".md") and entry.is_file():
                st = entry.stat()
                out.append((entry.name, st.st_mtime_ns, st.st_size))
    return tuple(sorted(out))


def load_playbooks(directory: Path | None = None) -> PlaybookSet:
    """The validated playbooks of a directory, cached per process until a file changes.

    Every node of every case asks for the playbooks; parsing and checking them each time would cost
    more than the rules backend's whole decision, so the set is reused while the files' names,
    sizes and modification times are unchanged.
    """
    directory = (Path(directory) if directory is not None else default_dir()).resolve()
    if not directory.is_dir():
        raise InputInvalid(f"playbook directory {directory} does not exist")
    stamp = _stamp(directory)
    hit = _CACHE.get(directory)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    pbs = PlaybookSet(directory, tuple(load_dir(directory)))
    _CACHE[directory] = (stamp, pbs)
    return pbs
