"""Article HTML as WordPress block markup (Gutenberg), as pure functions.

WordPress stores block-editor content as HTML with comment delimiters
(`<!-- wp:paragraph -->…<!-- /wp:paragraph -->`); without them the block editor shows the
whole article as one "Classic" block. `html_to_blocks` turns the article's sanitized HTML
(`inkline.writer.html.sanitize_html`: a short allowlist of tags, no attributes but `href`,
`title`, `src`, `alt`, `width`, `height`) into the markup the block editor itself saves
(WordPress 6.1 and later), so every block opens as valid, not as "unexpected content":

- `h2`…`h6` → heading (`{"level":3}` unless 2), `p` → paragraph, `ul`/`ol` → list of
  list-item blocks (`{"ordered":true}`), nested lists as inner list blocks, `blockquote` →
  quote of paragraphs, `hr` → separator, `pre` → code (a single `code` inside) or
  preformatted, a plain `table` → table;
- a `figure` holding an `img` (with an optional `figcaption`) → image; when its `src` is a
  known upload (`images`: src → attachment id and size) the block names it (`{"id":N,
  "sizeSlug":"large"}`, the `wp-image-N` class) so WordPress adds width, height, `srcset` and
  `sizes` when it renders the post (as for an image inserted in the editor: the stored `img`
  carries no width/height, which the image block would read as a resize);
- inline content between blocks → a paragraph; anything else (a figure without an image, a
  table with cell attributes …) → a Custom HTML block holding it unchanged.

Text and attributes are re-emitted as they came (entities kept), so nothing is re-encoded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html import escape
from html.parser import HTMLParser
from typing import Any

from inkline.publishing.linkset import RELATED_END, RELATED_START

_VOID = frozenset({"br", "hr", "img", "wbr"})
_INLINE = frozenset(
    {"a", "strong", "em", "b", "i", "code", "br", "span", "sub", "sup", "s", "u", "mark", "wbr"}
)
_HEADINGS = {f"h{n}": n for n in range(1, 7)}


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    start: str  # the start tag as written
    children: list[_Node | str] = field(default_factory=list)


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.root = _Node("", {}, "")
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = _Node(tag, {k: v or "" for k, v in attrs}, self.get_starttag_text() or f"<{tag}>")
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(
            _Node(tag, {k: v or "" for k, v in attrs}, self.get_starttag_text() or f"<{tag}>")
        )

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)

    def handle_entityref(self, name: str) -> None:
        self.stack[-1].children.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.stack[-1].children.append(f"&#{name};")

    def handle_comment(self, data: str) -> None:
        self.stack[-1].children.append(f"<!--{data}-->")


def _parse(html: str) -> list[_Node | str]:
    tree = _Tree()
    tree.feed(html)
    tree.close()
    return tree.root.children


def _html(item: _Node | str) -> str:
    if isinstance(item, str):
        return item
    if item.tag in _VOID:
        return item.start
    return f"{item.start}{_inner(item)}</{item.tag}>"


def _inner(node: _Node) -> str:
    return "".join(_html(child) for child in node.children)


def serialize_attributes(attrs: Mapping[str, Any]) -> str:
    """Block attributes as WordPress writes them in a delimiter (`serialize_block_attributes`
    in wp-includes/blocks.php): JSON with `--`, `<`, `>`, `&` and escaped quotes as unicode
    escapes, so no value can end the comment."""
    text = json.dumps(attrs, ensure_ascii=False, separators=(",", ":"))
    for raw, safe in (("--", "\\u002d\\u002d"), ("<", "\\u003c"), (">", "\\u003e")):
        text = text.replace(raw, safe)
    return text.replace("&", "\\u0026").replace('\\"', "\\u0022")


def block(name: str, inner: str, attrs: Mapping[str, Any] | None = None) -> str:
    """One block: `<!-- wp:name {attrs} -->`, a newline, its HTML, a newline, the closer."""
    opener = f"wp:{name} {serialize_attributes(attrs)}" if attrs else f"wp:{name}"
    return f"<!-- {opener} -->\n{inner}\n<!-- /wp:{name} -->"


def html_block(html: str) -> str:
    """`html` unchanged in a Custom HTML block (what the editor neither parses nor rewrites)."""
    return block("html", html)


def join(blocks: Iterable[str]) -> str:
    return "\n\n".join(b for b in blocks if b)


def _is_blank(items: list[_Node | str]) -> bool:
    return all(isinstance(i, str) and not i.strip() for i in items)


def _paragraph(inner: str) -> str:
    return block("paragraph", f"<p>{inner.strip()}</p>")


def _list(node: _Node) -> str:
    items = []
    for child in node.children:
        if isinstance(child, str):
            continue  # whitespace between items; text outside an li is not valid HTML
        if child.tag != "li":
            return html_block(_html(node))
        text: list[str] = []
        nested: list[str] = []
        for part in child.children:
            if isinstance(part, _Node) and part.tag in ("ul", "ol"):
                nested.append(_list(part))
            elif isinstance(part, _Node) and part.tag == "p":
                text.append(("<br>" if text else "") + _inner(part))
            else:
                text.append(_html(part))
        items.append(block("list-item", f"<li>{''.join(text).strip()}{''.join(nested)}</li>"))
    ordered = node.tag == "ol"
    tag = "ol" if ordered else "ul"
    return block("list", f"<{tag}>{join(items)}</{tag}>", {"ordered": True} if ordered else None)


def _image(node: _Node, images: Mapping[str, tuple[int, str]]) -> str | None:
    """An image block for a figure (or a bare img); None when it holds anything else."""
    parts = [c for c in ([node] if node.tag == "img" else node.children) if not _is_blank([c])]
    img = parts[0] if parts else None
    if not isinstance(img, _Node) or img.tag != "img" or "src" not in img.attrs:
        return None
    caption = parts[1] if len(parts) == 2 else None
    if len(parts) > 2 or (caption is not None and getattr(caption, "tag", "") != "figcaption"):
        return None
    media_id, size = images.get(img.attrs["src"], (None, ""))
    src = escape(img.attrs["src"])
    alt = escape(img.attrs.get("alt", ""))
    figcaption = ""
    if isinstance(caption, _Node) and _inner(caption).strip():
        figcaption = (
            f'<figcaption class="wp-element-caption">{_inner(caption).strip()}</figcaption>'
        )
    if media_id is None:
        inner = (
            f'<figure class="wp-block-image"><img src="{src}" alt="{alt}"/>{figcaption}</figure>'
        )
        return block("image", inner)
    attrs = {"id": media_id, "sizeSlug": size, "linkDestination": "none"}
    inner = (
        f'<figure class="wp-block-image size-{size}"><img src="{src}" alt="{alt}" '
        f'class="wp-image-{media_id}"/>{figcaption}</figure>'
    )
    return block("image", inner, attrs)


def _table(node: _Node) -> str | None:
    """A table block when the table is plain sections of rows of th/td without attributes."""
    sections = [c for c in node.children if not _is_blank([c])]
    out = []
    for section in sections:
        if not isinstance(section, _Node) or section.tag not in ("thead", "tbody", "tfoot"):
            return None
        rows = []
        for row in section.children:
            if isinstance(row, str):
                if row.strip():
                    return None
                continue
            if row.tag != "tr" or row.attrs:
                return None
            cells = []
            for cell in row.children:
                if isinstance(cell, str):
                    if cell.strip():
                        return None
                    continue
                if cell.tag not in ("td", "th") or cell.attrs:
                    return None
                cells.append(f"<{cell.tag}>{_inner(cell).strip()}</{cell.tag}>")
            rows.append(f"<tr>{''.join(cells)}</tr>")
        out.append(f"<{section.tag}>{''.join(rows)}</{section.tag}>")
    if not out:
        return None
    return block("table", f'<figure class="wp-block-table"><table>{"".join(out)}</table></figure>')


def _pre(node: _Node) -> str:
    parts = [c for c in node.children if not _is_blank([c])]
    if len(parts) == 1 and isinstance(parts[0], _Node) and parts[0].tag == "code":
        return block("code", f'<pre class="wp-block-code"><code>{_inner(parts[0])}</code></pre>')
    return block("preformatted", f'<pre class="wp-block-preformatted">{_inner(node)}</pre>')


def _blocks(items: list[_Node | str], images: Mapping[str, tuple[int, str]]) -> list[str]:
    out: list[str] = []
    run: list[_Node | str] = []  # inline content waiting for its paragraph

    def flush() -> None:
        if not _is_blank(run):
            out.append(_paragraph("".join(_html(i) for i in run)))
        run.clear()

    for item in items:
        if isinstance(item, str) and item.startswith("<!--"):
            continue  # a comment between blocks (sanitized HTML has none)
        if isinstance(item, str) or item.tag in _INLINE:
            run.append(item)
            continue
        flush()
        if item.tag in _HEADINGS:
            level = _HEADINGS[item.tag]
            inner = f"<{item.tag}>{_inner(item).strip()}</{item.tag}>"
            out.append(block("heading", inner, {"level": level} if level != 2 else None))
        elif item.tag == "p":
            if not _is_blank(item.children):
                out.append(_paragraph(_inner(item)))
        elif item.tag in ("ul", "ol"):
            out.append(_list(item))
        elif item.tag == "blockquote":
            inner = join(_blocks(item.children, images))
            out.append(block("quote", f'<blockquote class="wp-block-quote">{inner}</blockquote>'))
        elif item.tag == "hr":
            out.append(
                block("separator", '<hr class="wp-block-separator has-alpha-channel-opacity"/>')
            )
        elif item.tag == "pre":
            out.append(_pre(item))
        else:
            converted = None
            if item.tag in ("figure", "img"):
                converted = _image(item, images)
            elif item.tag == "table":
                converted = _table(item)
            out.append(converted or html_block(_html(item)))
    flush()
    return out


def html_to_blocks(html: str, *, images: Mapping[str, tuple[int, str]] | None = None) -> str:
    """`html` (sanitized article HTML) as block markup; `images` maps an `img` src to the id of
    the WordPress attachment it shows and the size that src is ("large", "full" …)."""
    return join(_blocks(_parse(html), images or {}))


_RELATED = re.compile(
    r"(?:<!-- wp:html -->\s*)?"
    + re.escape(RELATED_START)
    + ".*?"
    + re.escape(RELATED_END)
    + r"(?:\s*<!-- /wp:html -->)?",
    re.DOTALL,
)


def with_related_block(content: str, related: str) -> str:
    """Block content with its "Related reading" block (`linkset.related_block`) replaced by
    `related` in a Custom HTML block: appended as the last block when it had none, removed
    (with its wrapper) when `related` is "". Every earlier copy goes, wrapped or bare (posts
    written before the content was block markup), and everything else is kept."""
    wrapped = html_block(related) if related else ""
    found = _RELATED.search(content)
    if found is None:
        return join([content.rstrip(), wrapped]) if wrapped else content
    rest = _RELATED.sub("", content)
    return rest[: found.start()] + wrapped + rest[found.start() :]
