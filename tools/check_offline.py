"""Fail if any page of the built book loads a resource from the network.

    python tools/check_offline.py _build/html

Scripts, stylesheets, images, iframes, fonts and widget/MathJax loaders must all come from the
book itself; ordinary links (<a href>) to papers and the repository are fine.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

# src= on any tag, and href= on <link> (stylesheets, preloads, icons)
SRC = re.compile(r"<(script|img|iframe|source|video|audio|embed)\b[^>]*\bsrc=[\"'](?P<url>[^\"']+)", re.I)
LINK = re.compile(r"<link\b[^>]*\bhref=[\"'](?P<url>[^\"']+)", re.I)
CSS_URL = re.compile(r"@import\s+url\([\"']?(?P<url>https?:[^\"')]+)|url\([\"']?(?P<url2>https?://[^\"')]+)", re.I)
CDN_HINT = re.compile(r"data-jupyter-widgets-cdn(?!-only=\"false\")", re.I)


def external(url: str) -> bool:
    return url.startswith(("http://", "https://", "//"))


def problems(root: Path) -> list[str]:
    out = []
    for page in sorted(root.rglob("*.html")):
        html = page.read_text(encoding="utf-8", errors="replace")
        for m in list(SRC.finditer(html)) + list(LINK.finditer(html)):
            if external(m.group("url")) and "rel=\"canonical\"" not in m.group(0):
                out.append(f"{page.relative_to(root)}: loads {m.group('url')}")
        if CDN_HINT.search(html):
            out.append(f"{page.relative_to(root)}: widgets are set to load from a CDN")
    for css in sorted(root.rglob("*.css")):
        for m in CSS_URL.finditer(css.read_text(encoding="utf-8", errors="replace")):
            out.append(f"{css.relative_to(root)}: loads {m.group('url') or m.group('url2')}")
    return out


def main(argv):
    root = Path(argv[0] if argv else "_build/html")
    if not root.exists():
        raise SystemExit(f"{root} does not exist: build the book first (make book)")
    found = problems(root)
    for p in found:
        print(p)
    pages = len(list(root.rglob("*.html")))
    print(f"checked {pages} pages: {'no network resources' if not found else f'{len(found)} network resources'}")
    raise SystemExit(1 if found else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
