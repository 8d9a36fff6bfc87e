"""Markdown to safe HTML: markdown-it-py (CommonMark, raw HTML off) then nh3 (ammonia) sanitising."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def render(text: str | None) -> Markup:
    """HTML that carries no script, event handler, style or javascript: URL, whatever the input."""
    html = _md.render(text or "")
    return Markup(
        nh3.clean(html, link_rel="noopener noreferrer nofollow", url_schemes={"http", "https", "mailto"})
    )
