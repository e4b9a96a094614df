"""The fund-flow picture of a traced subgraph: a PNG (matplotlib, Agg) and a self-contained HTML page.

Layout is by hop, not by force: money flows left to right, the traced account in the middle
column (backward hops to its left, forward hops to its right), each column sorted by USD. That
reads like a flow chart and is the same on every run. Colour is the risk label (red = risky list,
orange = other labelled address, blue = exchange account, grey = unlabelled address, green = bank);
shape is the kind (circle = account, square = external address, diamond = bank). Edges carry USD
and dates. Beyond `max_nodes` the smallest nodes of each column are folded into one "+N more" node
per column and the picture says so, so it stays readable at 50 nodes.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from dataclasses import dataclass, field
from pathlib import Path

from tools.graph.trace import node_kind
from tools.graph.walk import Walk

RISKY_COLOUR, LABEL_COLOUR, ACCOUNT_COLOUR, ADDRESS_COLOUR, BANK_COLOUR = (
    "#d62728", "#ff7f0e", "#1f77b4", "#8c8c8c", "#2ca02c")
MARKERS = {"account": "o", "address": "s", "bank": "D", "group": "h"}


@dataclass
class PNode:
    id: str
    x: float
    y: float
    kind: str
    colour: str
    text: str
    tip: str
    root: bool = False


@dataclass
class PEdge:
    src: str
    dst: str
    usd: float
    text: str
    tip: str


@dataclass
class Picture:
    title: str
    nodes: dict[str, PNode] = field(default_factory=dict)
    edges: list[PEdge] = field(default_factory=list)
    note: str = ""


def short(entity: str) -> str:
    """Long addresses as 0x1234..abcd so labels stay legible; ids as they are."""
    return entity if len(entity) <= 16 else f"{entity[:8]}..{entity[-4:]}"


def _when(first: dt.datetime, last: dt.datetime) -> str:
    a, b = first.strftime("%Y-%m-%d"), last.strftime("%Y-%m-%d")
    return a if a == b else f"{a}..{b[5:]}"


def layout(w: Walk, max_nodes: int = 50, title: str | None = None) -> Picture:
    """Positions, colours and labels for the walk; folds the smallest nodes beyond `max_nodes`."""
    pic = Picture(title or f"Fund flow around {w.root} ({w.direction}, {len(w.nodes) - 1} counterparties)")
    col = {nid: (n.hop if n.side == "out" else -n.hop) for nid, n in w.nodes.items()}
    keep = _keep(w, max_nodes)
    folded: dict[int, list[str]] = {}
    for nid in w.nodes:
        if nid not in keep:
            folded.setdefault(col[nid], []).append(nid)
    columns: dict[int, list[str]] = {}
    for nid in keep:
        columns.setdefault(col[nid], []).append(nid)
    for c in folded:
        columns.setdefault(c, [])
    for c, members in columns.items():
        members.sort(key=lambda m: (-w.nodes[m].usd, m))
        if c in folded:
            members.append(f"+{len(folded[c])} more (hop {abs(c)})")
    tallest = max(len(m) for m in columns.values())
    for c, members in columns.items():
        for i, nid in enumerate(members):
            spread = min(2.0, tallest / len(members)) if len(members) > 1 else 1.0
            y = ((len(members) - 1) / 2 - i) * spread
            if nid.startswith("+"):
                gone = folded[c]
                total = sum(w.nodes[g].usd for g in gone)
                pic.nodes[nid] = PNode(nid, c, y, "group", "#dddddd", nid, f"{len(gone)} smaller counterparties "
                                       f"folded, {total:,.2f} USD: {', '.join(gone[:20])}")
                continue
            n = w.nodes[nid]
            kind = node_kind(w, nid)
            if n.label and n.label.risky:
                colour = RISKY_COLOUR
            elif n.label:
                colour = LABEL_COLOUR
            else:
                colour = {"account": ACCOUNT_COLOUR, "bank": BANK_COLOUR}.get(kind, ADDRESS_COLOUR)
            text = short(nid) + (f"\n{n.label.category}" if n.label else "")
            tip = (f"{nid}\n{kind}, hop {n.hop}" + (f", {n.label.category} ({n.label.list_name})" if n.label else "")
                   + (f"\n{n.usd:,.2f} USD along traced edges" if n.hop else "\ntraced entity"))
            pic.nodes[nid] = PNode(nid, c, y, kind, colour, text, tip, root=nid == w.root)
    group_of = {g: f"+{len(v)} more (hop {abs(c)})" for c, v in folded.items() for g in v}
    merged: dict[tuple[str, str], list] = {}
    for e in w.edge_list():
        s, d = group_of.get(e.src, e.src), group_of.get(e.dst, e.dst)
        if s == d:
            continue
        acc = merged.setdefault((s, d), [0.0, 0, e.first_ts, e.last_ts, []])
        acc[0] += e.usd
        acc[1] += e.n
        acc[2], acc[3] = min(acc[2], e.first_ts), max(acc[3], e.last_ts)
        acc[4] += e.txn_ids
    for (s, d), (total, n, first, last, txns) in merged.items():
        pic.edges.append(PEdge(s, d, total, f"{total:,.0f} USD\n{_when(first, last)}",
                               f"{s} -> {d}\n{total:,.2f} USD in {n} txns\n{first} .. {last}\n"
                               + ", ".join(txns[:5])))
    shown = len(keep) - 1
    if folded:
        pic.note = (f"Showing {shown} of {len(w.nodes) - 1} counterparties (nearest hops first, then largest); "
                    f"{sum(len(v) for v in folded.values())} smaller ones folded into '+N more' nodes.")
    if w.pruned_nodes:
        pic.note += (" " if pic.note else "") + (f"{w.pruned_nodes} further counterparties were beyond the "
                                                 "per-hop cap of the trace and are not drawn.")
    return pic


def _keep(w: Walk, max_nodes: int) -> set[str]:
    """The root, every risky node with its path, then hop by hop the largest nodes whose parent is
    kept, up to `max_nodes`: nearer hops first, so what is drawn stays connected to the root."""
    keep = {w.root}
    for n in sorted(w.nodes.values(), key=lambda n: (n.hop, -n.usd)):
        if n.label and n.label.risky and len(keep) < max_nodes:
            cur = n
            while cur is not None and len(keep) < max_nodes:
                keep.add(cur.id)
                cur = w.nodes.get(cur.parent) if cur.parent else None
    for n in sorted(w.nodes.values(), key=lambda n: (n.hop, -n.usd, n.id)):
        if len(keep) >= max_nodes:
            break
        if n.parent is None or n.parent in keep:
            keep.add(n.id)
    return keep


def _degrees(pic: Picture) -> dict[str, int]:
    deg: dict[str, int] = {}
    for e in pic.edges:
        deg[e.src] = deg.get(e.src, 0) + 1
        deg[e.dst] = deg.get(e.dst, 0) + 1
    return deg


def _label_at(degree: dict[str, int], e: PEdge) -> float:
    """Where along an edge its label goes: away from a hub, where many edges meet and labels pile up."""
    ds, dd = degree.get(e.src, 0), degree.get(e.dst, 0)
    return 0.5 if ds == dd else (0.66 if ds > dd else 0.34)


def render_png(w: Walk, path: Path | str, max_nodes: int = 50, title: str | None = None, dpi: int = 110) -> Path:
    """Draw the walk to a PNG file and return its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch

    pic = layout(w, max_nodes, title)
    xs = sorted({n.x for n in pic.nodes.values()})
    tallest = max(sum(1 for n in pic.nodes.values() if n.x == x) for x in xs)
    fig, ax = plt.subplots(figsize=(max(7.0, 3.3 * len(xs)), max(4.5, 0.62 * tallest + 1.6)))
    top = max((abs(e.usd) for e in pic.edges), default=1.0) or 1.0
    degree = _degrees(pic)
    for e in pic.edges:
        a, b = pic.nodes[e.src], pic.nodes[e.dst]
        back = b.x <= a.x
        t = _label_at(degree, e)
        arrow = FancyArrowPatch((a.x, a.y), (b.x, b.y), arrowstyle="-|>", mutation_scale=10,
                                connectionstyle=f"arc3,rad={0.35 if back else 0.06}", shrinkA=9, shrinkB=9,
                                lw=0.6 + 2.6 * (e.usd / top), color="#d62728" if back else "#555555", alpha=0.75,
                                zorder=1)
        ax.add_patch(arrow)
        mx, my = a.x + t * (b.x - a.x), a.y + t * (b.y - a.y) + (0.35 if back else 0.0)
        ax.text(mx, my, e.text, fontsize=6.2, ha="center", va="center", zorder=3, color="#222222",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
    for n in pic.nodes.values():
        ax.scatter([n.x], [n.y], s=420 if n.root else 260, marker=MARKERS[n.kind], c=n.colour,
                   edgecolors="black" if n.root else "white", linewidths=2.2 if n.root else 0.8, zorder=4)
        ax.text(n.x, n.y - 0.3, n.text, fontsize=6.8, ha="center", va="top", zorder=5,
                fontweight="bold" if n.root else "normal")
    for x in xs:
        ax.text(x, max(n.y for n in pic.nodes.values()) + 0.7, "traced" if x == 0 else
                f"{'forward' if x > 0 else 'backward'} hop {abs(int(x))}", ha="center", fontsize=8, color="#666666")
    legend = [Line2D([], [], marker=m, ls="", color=c, markersize=8, label=lab) for m, c, lab in (
        ("o", ACCOUNT_COLOUR, "exchange account"), ("s", ADDRESS_COLOUR, "external address"),
        ("D", BANK_COLOUR, "bank"), ("s", RISKY_COLOUR, "risky label (sanctions, mixer, scam, ...)"),
        ("s", LABEL_COLOUR, "other label (exchange, defi, ...)"))]
    ax.legend(handles=legend, loc="lower center", bbox_to_anchor=(0.5, -0.02), ncol=5, fontsize=7, frameon=False)
    ax.set_title(pic.title, fontsize=10)
    if pic.note:
        fig.text(0.5, 0.005, pic.note, ha="center", va="bottom", fontsize=7.5, color="#aa0000")
    ys = [n.y for n in pic.nodes.values()]
    ax.set_xlim(min(xs) - 0.7, max(xs) + 0.7)
    ax.set_ylim(min(ys) - 1.4, max(ys) + 1.0)
    ax.axis("off")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out


def render_html(w: Walk, path: Path | str, max_nodes: int = 50, title: str | None = None) -> Path:
    """Write a self-contained interactive page (inline SVG and script, no network): hover for
    details, click a node to highlight its flows, wheel to zoom, drag to pan."""
    pic = layout(w, max_nodes, title)
    sx, sy, pad = 230.0, 72.0, 90.0
    xs = [n.x for n in pic.nodes.values()]
    ys = [n.y for n in pic.nodes.values()]
    x0, y1 = min(xs), max(ys)
    width = (max(xs) - x0) * sx + 2 * pad
    height = (y1 - min(ys)) * sy + 2 * pad

    def pos(n: PNode) -> tuple[float, float]:
        return pad + (n.x - x0) * sx, pad + (y1 - n.y) * sy

    top = max((e.usd for e in pic.edges), default=1.0) or 1.0
    parts = [f'<svg id="g" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}">',
             '<defs><marker id="a" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#555"/></marker></defs><g id="v">']
    for i, e in enumerate(pic.edges):
        (ax_, ay), (bx, by) = pos(pic.nodes[e.src]), pos(pic.nodes[e.dst])
        back = bx <= ax_
        cx, cy = (ax_ + bx) / 2, (ay + by) / 2 - (60 if back else 0)
        stroke = "#d62728" if back else "#666"
        parts.append(
            f'<g class="e" data-s="{html.escape(e.src)}" data-d="{html.escape(e.dst)}" data-i="{i}">'
            f'<path d="M{ax_:.1f},{ay:.1f} Q{cx:.1f},{cy:.1f} {bx:.1f},{by:.1f}" fill="none" stroke="{stroke}" '
            f'stroke-width="{1 + 4 * e.usd / top:.1f}" marker-end="url(#a)" opacity="0.7"/>'
            f'<text x="{(ax_ + 2 * cx + bx) / 4:.1f}" y="{(ay + 2 * cy + by) / 4 - 3:.1f}" class="el">'
            + "".join(f'<tspan x="{(ax_ + 2 * cx + bx) / 4:.1f}" dy="{0 if k == 0 else 10}">{html.escape(t)}</tspan>'
                      for k, t in enumerate(e.text.split("\n"))) + "</text></g>")
    shapes = {"account": '<circle r="{r}"', "address": '<rect x="-{r}" y="-{r}" width="{d}" height="{d}"',
              "bank": '<rect x="-{r}" y="-{r}" width="{d}" height="{d}" transform="rotate(45)"',
              "group": '<rect x="-{r}" y="-{r}" width="{d}" height="{d}" rx="4"'}
    for n in pic.nodes.values():
        x, y = pos(n)
        r = 13 if n.root else 10
        shape = shapes[n.kind].format(r=r, d=2 * r)
        parts.append(
            f'<g class="n" data-id="{html.escape(n.id)}" transform="translate({x:.1f},{y:.1f})">{shape} '
            f'fill="{n.colour}" stroke="{"#000" if n.root else "#fff"}" stroke-width="{3 if n.root else 1.5}"/>'
            + "".join(f'<text y="{r + 12 + 11 * k}" class="nl">{html.escape(t)}</text>'
                      for k, t in enumerate(n.text.split("\n"))) + "</g>")
    parts.append("</g></svg>")
    tips = {"n": {n.id: n.tip for n in pic.nodes.values()}, "e": [e.tip for e in pic.edges]}
    doc = _PAGE.format(title=html.escape(pic.title), note=html.escape(pic.note), svg="\n".join(parts),
                       tips=json.dumps(tips).replace("</", "<\\/"))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(doc, encoding="utf-8")
    return out


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:0;background:#fafafa;color:#222}}
header{{padding:8px 14px;border-bottom:1px solid #ddd;background:#fff}}
h1{{font-size:16px;margin:0 0 4px}} .note{{color:#a00;font-size:12px}} .help{{color:#666;font-size:12px}}
#wrap{{height:calc(100vh - 70px);overflow:hidden;cursor:grab}} svg{{width:100%;height:100%}}
.el{{font-size:9px;fill:#333;text-anchor:middle;paint-order:stroke;stroke:#fafafa;stroke-width:3px}}
.nl{{font-size:10px;text-anchor:middle;fill:#111}} .n{{cursor:pointer}}
.dim{{opacity:0.12}} #tip{{position:fixed;pointer-events:none;background:#222;color:#fff;font-size:12px;
padding:6px 8px;border-radius:4px;white-space:pre;display:none;max-width:520px}}
.legend span{{display:inline-block;margin-right:12px;font-size:12px}}
.sw{{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}}
</style></head><body>
<header><h1>{title}</h1>
<div class="legend"><span><i class="sw" style="background:#1f77b4;border-radius:5px"></i>exchange account</span>
<span><i class="sw" style="background:#8c8c8c"></i>external address</span>
<span><i class="sw" style="background:#2ca02c;transform:rotate(45deg)"></i>bank</span>
<span><i class="sw" style="background:#d62728"></i>risky label</span>
<span><i class="sw" style="background:#ff7f0e"></i>other label</span>
<span class="help">hover for details, click a node to highlight its flows, wheel to zoom, drag to pan</span></div>
<div class="note">{note}</div></header>
<div id="wrap">{svg}</div><div id="tip"></div>
<script>
const T={tips};
const svg=document.getElementById('g'),v=document.getElementById('v'),tip=document.getElementById('tip');
let k=1,tx=0,ty=0,drag=null,sel=null;
function apply(){{v.setAttribute('transform',`translate(${{tx}},${{ty}}) scale(${{k}})`);}}
svg.addEventListener('wheel',ev=>{{ev.preventDefault();const f=ev.deltaY<0?1.15:1/1.15;k*=f;apply();}},{{passive:false}});
svg.addEventListener('mousedown',ev=>{{drag=[ev.clientX-tx,ev.clientY-ty];}});
window.addEventListener('mouseup',()=>{{drag=null;}});
window.addEventListener('mousemove',ev=>{{if(drag){{tx=ev.clientX-drag[0];ty=ev.clientY-drag[1];apply();}}
 tip.style.left=(ev.clientX+14)+'px';tip.style.top=(ev.clientY+10)+'px';}});
function show(t){{tip.textContent=t;tip.style.display=t?'block':'none';}}
document.querySelectorAll('.n').forEach(n=>{{
 n.addEventListener('mouseenter',()=>show(T.n[n.dataset.id]));n.addEventListener('mouseleave',()=>show(''));
 n.addEventListener('click',ev=>{{ev.stopPropagation();sel=sel===n.dataset.id?null:n.dataset.id;highlight();}});}});
document.querySelectorAll('.e').forEach(e=>{{
 e.addEventListener('mouseenter',()=>show(T.e[+e.dataset.i]));e.addEventListener('mouseleave',()=>show(''));}});
svg.addEventListener('click',()=>{{sel=null;highlight();}});
function highlight(){{const near=new Set([sel]);
 document.querySelectorAll('.e').forEach(e=>{{const on=!sel||e.dataset.s===sel||e.dataset.d===sel;
  e.classList.toggle('dim',!on);if(on&&sel){{near.add(e.dataset.s);near.add(e.dataset.d);}}}});
 document.querySelectorAll('.n').forEach(n=>n.classList.toggle('dim',!!sel&&!near.has(n.dataset.id)));}}
</script></body></html>
"""
