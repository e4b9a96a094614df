"""report.html is one self-contained, well-formed file; it loads in a headless browser without JS errors."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from eval_fixtures import CLOSE_NOTE, SAR_NARRATIVE, case, report, structuring_evidence

from evals.log import CaseSetInfo, RunLog
from evals.outputs import write_outputs
from evals.report_html import render_html
from evals.runner import aggregate_records, score_case
from evals.scorers import default_scorers

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
HOSTILE = '<script>alert("x")</script><img src="https://evil.example/x.png">'


def sample_log() -> RunLog:
    scorers = default_scorers()
    rows = [
        (case("ALT-1", "sar", "structuring", key=["TX-1"]),
         report("ALT-1", "sar", "structuring", risk=90, narrative=SAR_NARRATIVE, evidence=structuring_evidence(),
                flagged=["TX-1"]), None),
        (case("ALT-2", "sar", "mixer_exposure"), report("ALT-2", "close", risk=20, narrative=CLOSE_NOTE), None),
        (case("ALT-3", "close"), report("ALT-3", "close", risk=10, narrative=CLOSE_NOTE), None),
        (case("ALT-4", "escalate", "pass_through"), report("ALT-4", "escalate", "ponzi", risk=60), None),
        (case("ALT-5", "close"), None, "NotFound: " + HOSTILE),
    ]
    records = [score_case(scorers, label, rep, err, 0.2) for label, rep, err in rows]
    return RunLog(run_id="test-rules-x", model="rules", backend="rules", styles=["rules"], cases=records,
                  metrics=aggregate_records(records), notes=["a note with " + HOSTILE],
                  case_set=CaseSetInfo(name="test", path="evals/cases/test.jsonl", sha256="ab" * 32, n_cases=5))


class Checker(HTMLParser):
    """Collects external references and checks that every non-void element is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.external: list[str] = []
        self.images = 0
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value and re.match(r"^\s*(https?:)?//", value, re.I):
                self.external.append(value)
        if tag == "img":
            self.images += 1
            src = dict(attrs).get("src") or ""
            if not src.startswith("data:image/png;base64,"):
                self.problems.append(f"image not inline: {src[:40]}")
        if tag == "script":
            self.scripts += 1
            if dict(attrs).get("src"):
                self.problems.append("external script")
        if tag == "link":
            self.problems.append("link element (external stylesheet?)")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
            return
        self.stack.pop()


@pytest.fixture(scope="module")
def html() -> str:
    return render_html(sample_log(), links={"ALT-2": "cases/ALT-2.html"})


def test_self_contained_and_well_formed(html: str) -> None:
    checker = Checker()
    checker.feed(html)
    checker.close()
    assert checker.external == []
    assert checker.problems == []
    assert checker.stack == []
    assert checker.images == 4  # confusion, calibration, typology, distributions
    assert checker.scripts == 1
    assert html.lstrip().startswith("<!DOCTYPE html>")
    assert re.search(r"@import|url\(\s*['\"]?https?:", html) is None


def test_untrusted_text_is_escaped(html: str) -> None:
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(" in html


def test_report_content(html: str) -> None:
    assert '<a href="cases/ALT-2.html">ALT-2</a>' in html
    assert "ponzi (unknown)" in html
    assert "actionable_f1" in html and "Worst cases" in html


def test_write_outputs_links_case_files(tmp_path: Path) -> None:
    write_outputs(sample_log(), tmp_path)
    md = (tmp_path / "report.md").read_text()
    page = (tmp_path / "report.html").read_text()
    linked = re.findall(r'href="(cases/[^"]+)"', page)
    assert linked and all((tmp_path / p).exists() for p in linked)
    assert "ALT-2" in md and "sar predicted close" in md
    assert "ALT-5" in md and "failed: NotFound" in md  # no report: listed, not linked


def _chromium() -> str | None:
    return next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)


@pytest.mark.skipif(_chromium() is None, reason="no chromium installed")
def test_loads_in_headless_chromium_without_js_errors(tmp_path: Path, html: str) -> None:
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    out = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    body = re.search(r"<body[^>]*>", out.stdout)
    assert body is not None
    assert 'data-ready="1"' in body.group(0)  # the inline script ran to its end
    assert "data-js-error" not in body.group(0)  # and window.onerror never fired
    assert "Headline metrics" in out.stdout
