"""A self-contained HTML page: sections of paragraphs, tables, figures (PNG embedded as base64)
and preformatted text. No external resources, so the file can be mailed or archived.

A small inline script counts the sections on load and records any script error on
``<body data-loaded=... data-errors=...>``; the browser test reads these back.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field


@dataclass
class Paragraph:
    text: str


@dataclass
class Table:
    headers: list[str]
    rows: list[list]
    caption: str = ""


@dataclass
class Figure:
    png: bytes
    caption: str = ""


@dataclass
class Preformatted:
    text: str


@dataclass
class Section:
    id: str
    title: str
    blocks: list = field(default_factory=list)


CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{border-bottom:2px solid #345;padding-bottom:.3em} h2{margin-top:2em;color:#234}
nav a{margin-right:1em} table{border-collapse:collapse;margin:1em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right} th{background:#eef2f6}
td:first-child,th:first-child{text-align:left} caption{caption-side:bottom;font-size:.85em;color:#555;padding-top:.3em}
figure{margin:1em 0} figure img{max-width:100%;border:1px solid #ddd} figcaption{font-size:.85em;color:#555}
pre{background:#f6f8fa;padding:.8em;overflow-x:auto;font-size:.85em}
"""

SCRIPT = """
window.__errors = [];
window.addEventListener('error', function (e) { window.__errors.push(String(e.message)); });
window.addEventListener('load', function () {
  var secs = document.querySelectorAll('section.report-section');
  document.body.setAttribute('data-loaded', String(secs.length));
  var broken = 0;
  document.querySelectorAll('img').forEach(function (im) { if (!(im.complete && im.naturalWidth > 0)) broken++; });
  document.body.setAttribute('data-broken-images', String(broken));
  document.body.setAttribute('data-errors', String(window.__errors.length));
});
"""


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _block(b) -> str:
    if isinstance(b, Paragraph):
        return f"<p>{html.escape(b.text)}</p>"
    if isinstance(b, Preformatted):
        return f"<pre>{html.escape(b.text)}</pre>"
    if isinstance(b, Table):
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in b.headers)
        body = "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>" for row in b.rows)
        cap = f"<caption>{html.escape(b.caption)}</caption>" if b.caption else ""
        return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    if isinstance(b, Figure):
        data = base64.b64encode(b.png).decode("ascii")
        cap = f"<figcaption>{html.escape(b.caption)}</figcaption>" if b.caption else ""
        return f'<figure><img alt="{html.escape(b.caption)}" src="data:image/png;base64,{data}">{cap}</figure>'
    raise TypeError(f"unknown report block {type(b).__name__}")


def render_html(title: str, sections: list[Section], subtitle: str = "") -> str:
    """The whole page as one string."""
    nav = " ".join(f'<a href="#{html.escape(s.id)}">{html.escape(s.title)}</a>' for s in sections)
    body = "\n".join(
        f'<section class="report-section" id="{html.escape(s.id)}"><h2>{html.escape(s.title)}</h2>'
        + "\n".join(_block(b) for b in s.blocks)
        + "</section>"
        for s in sections
    )
    sub = f"<p>{html.escape(subtitle)}</p>" if subtitle else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{CSS}</style><script>{SCRIPT}</script></head>"
        f"<body><h1>{html.escape(title)}</h1>{sub}<nav>{nav}</nav>\n{body}\n</body></html>\n"
    )
