"""Reading rendered pages without a browser: what the strict CSP forbids, and the
parts of the shell that tests look at (navigation, language, elder mode)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Page:
    html_lang: str = ""
    html_classes: list[str] = field(default_factory=list)
    inline_scripts: list[str] = field(default_factory=list)
    inline_styles: list[str] = field(default_factory=list)
    script_srcs: list[str] = field(default_factory=list)
    nav_labels: list[str] = field(default_factory=list)
    tile_labels: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._stack: list[str] = []
        self._in_script = False
        self._script_has_src = False
        self._script_type = ""
        self._script_body = ""
        self._navs: list[bool] = []
        self._anchor: list[str] | None = None
        self._anchor_is_tile = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for name in values:
            if name == "style":
                self.page.inline_styles.append(f"<{tag} style=…>")
            if name.startswith("on"):
                self.page.inline_scripts.append(f"<{tag} {name}=…>")
        if values.get("href", "").lower().startswith("javascript:"):
            self.page.inline_scripts.append(f"<{tag} href=javascript:…>")
        if tag == "html":
            self.page.html_lang = values.get("lang", "")
            self.page.html_classes = values.get("class", "").split()
        elif tag == "script":
            self._in_script = True
            self._script_has_src = "src" in values
            self._script_type = values.get("type", "")
            self._script_body = ""
            if "src" in values:
                self.page.script_srcs.append(values["src"])
        elif tag == "style":
            self.page.inline_styles.append("<style>")
        elif tag == "nav":
            self._navs.append("main-nav" in values.get("class", "").split())
        elif tag == "a":
            self.page.links.append(values.get("href", ""))
            self._anchor = []
            self._anchor_is_tile = "tile" in values.get("class", "").split()
        if tag not in ("meta", "link", "input", "br", "img", "hr"):
            self._stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            # JSON data blocks are never executed, so the CSP allows them.
            if not self._script_has_src and self._script_type != "application/json":
                self.page.inline_scripts.append(f"<script>{self._script_body[:60]}</script>")
            if self._script_has_src and self._script_body.strip():
                self.page.inline_scripts.append("<script src=…>body</script>")
            self._in_script = False
        elif tag == "nav" and self._navs:
            self._navs.pop()
        elif tag == "a" and self._anchor is not None:
            text = "".join(self._anchor).strip()
            if self._anchor_is_tile:
                self.page.tile_labels.append(text)
            elif any(self._navs):
                self.page.nav_labels.append(text)
            self._anchor = None
        while self._stack:
            if self._stack.pop() == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self._script_body += data
        if self._anchor is not None:
            self._anchor.append(data)


def read(html: str | bytes) -> Page:
    reader = _Reader()
    reader.feed(html.decode() if isinstance(html, bytes) else html)
    reader.close()
    return reader.page
