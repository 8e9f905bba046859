"""Article HTML to WordPress block markup (pure): each element the writer's sanitizer lets
through becomes the block the editor saves for it, image figures name their attachment, and
the "Related reading" block is replaced in place, wrapped or not."""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from inkline.publishing.blocks import (
    html_block,
    html_to_blocks,
    serialize_attributes,
    with_related_block,
)
from inkline.publishing.linkset import RELATED_END, RELATED_START, related_block
from inkline.writer.html import sanitize_html

_DELIMITER = re.compile(r"<!-- (/?)wp:([a-z-]+)(?: (\{.*?\}))? -->")


def names(markup: str) -> list[str]:
    """Top-level block names, in order (a tiny stand-in for WordPress's parser)."""
    out, depth = [], 0
    for closer, name, _ in _DELIMITER.findall(markup):
        if closer:
            depth -= 1
        else:
            if depth == 0:
                out.append(name)
            depth += 1
    assert depth == 0, markup
    return out


def outside_blocks(markup: str) -> str:
    """What is left between top-level blocks: WordPress reads it as a Classic block."""
    depth, rest, pos = 0, [], 0
    for match in _DELIMITER.finditer(markup):
        if depth == 0:
            rest.append(markup[pos : match.start()])
        depth += -1 if match.group(1) else 1
        pos = match.end()
    rest.append(markup[pos:])
    return "".join(rest).strip()


def test_headings_paragraphs_and_lists_are_the_editors_blocks() -> None:
    html = sanitize_html(
        "<p>Intro &amp; <a href='https://x.org/'>more</a></p><h2>Part</h2><h3>Detail</h3>"
        "<h4>Small</h4><ul><li>a</li><li>b</li></ul><ol><li>one</li></ol>"
    )
    markup = html_to_blocks(html)
    assert names(markup) == ["paragraph", "heading", "heading", "heading", "list", "list"]
    assert outside_blocks(markup) == ""
    assert "<!-- wp:heading -->\n<h2>Part</h2>\n<!-- /wp:heading -->" in markup
    assert '<!-- wp:heading {"level":3} -->\n<h3>Detail</h3>\n<!-- /wp:heading -->' in markup
    assert '<!-- wp:heading {"level":4} -->' in markup
    assert (
        "<!-- wp:list -->\n<ul><!-- wp:list-item -->\n<li>a</li>\n<!-- /wp:list-item -->\n\n"
        "<!-- wp:list-item -->\n<li>b</li>\n<!-- /wp:list-item --></ul>\n<!-- /wp:list -->"
    ) in markup
    assert '<!-- wp:list {"ordered":true} -->\n<ol><!-- wp:list-item -->' in markup
    assert "<p>Intro &amp; <a href" in markup  # entities kept as they were


def test_nested_lists_quotes_code_tables_and_rules() -> None:
    html = sanitize_html(
        "<ul><li><p>top</p><ol><li>inner</li></ol></li></ul><blockquote>said <em>so</em>"
        "</blockquote><pre><code>x &lt; 1</code></pre><pre>plain</pre><hr>"
        "<table><tr><th>h</th></tr><tr><td>v</td></tr></table>"
    )
    markup = html_to_blocks(html)
    assert names(markup) == ["list", "quote", "code", "preformatted", "separator", "table"]
    assert '<li>top<!-- wp:list {"ordered":true} -->\n<ol><!-- wp:list-item -->' in markup
    assert (
        '<blockquote class="wp-block-quote"><!-- wp:paragraph -->\n<p>said <em>so</em></p>'
    ) in markup
    assert '<pre class="wp-block-code"><code>x &lt; 1</code></pre>' in markup
    assert '<pre class="wp-block-preformatted">plain</pre>' in markup
    assert '<hr class="wp-block-separator has-alpha-channel-opacity"/>' in markup
    assert (
        '<figure class="wp-block-table"><table><tbody><tr><th>h</th></tr><tr><td>v</td></tr>'
        "</tbody></table></figure>"
    ) in markup


def test_an_uploaded_image_names_its_attachment_and_size() -> None:
    html = (
        '<p>a</p><figure><img src="https://b.org/x.webp?v=1&amp;w=2" alt="A &quot;cup&quot;">'
        '</figure><figure><img src="https://elsewhere.org/y.png" alt=""></figure>'
    )
    markup = html_to_blocks(html, images={"https://b.org/x.webp?v=1&w=2": (42, "large")})
    assert names(markup) == ["paragraph", "image", "image"]
    assert (
        '<!-- wp:image {"id":42,"sizeSlug":"large","linkDestination":"none"} -->\n'
        '<figure class="wp-block-image size-large"><img src="https://b.org/x.webp?v=1&amp;w=2" '
        'alt="A &quot;cup&quot;" class="wp-image-42"/></figure>\n<!-- /wp:image -->'
    ) in markup
    assert (
        '<!-- wp:image -->\n<figure class="wp-block-image"><img src="https://elsewhere.org/y.png"'
        ' alt=""/></figure>\n<!-- /wp:image -->'
    ) in markup
    full = html_to_blocks(
        '<figure><img src="/z.jpg" alt="z"></figure>',
        images={"/z.jpg": (5, "full")},
    )
    assert '{"id":5,"sizeSlug":"full"' in full and "size-full" in full


def test_captions_loose_text_and_other_elements() -> None:
    markup = html_to_blocks(
        'loose <strong>text</strong><figure><img src="/a.png" alt="a"><figcaption>Cap</figcaption>'
        "</figure><figure><p>not an image</p></figure><p> </p>"
    )
    assert names(markup) == ["paragraph", "image", "html"]
    assert "<p>loose <strong>text</strong></p>" in markup
    assert '<figcaption class="wp-element-caption">Cap</figcaption>' in markup
    assert "<!-- wp:html -->\n<figure><p>not an image</p></figure>\n<!-- /wp:html -->" in markup
    assert html_to_blocks("") == ""


def test_attributes_are_escaped_as_wordpress_does() -> None:
    text = serialize_attributes({"a": 'x--> <b> & "q"', "n": 3, "t": True})
    assert "-->" not in text and "<" not in text and "&" not in text
    assert text == (
        '{"a":"x\\u002d\\u002d\\u003e \\u003cb\\u003e \\u0026 \\u0022q\\u0022","n":3,"t":true}'
    )
    assert json.loads(text) == {"a": 'x--> <b> & "q"', "n": 3, "t": True}


@given(st.text(alphabet="<>&ab \"'/-!pli", max_size=60))
def test_any_sanitized_html_gives_balanced_blocks_and_keeps_its_text(text: str) -> None:
    html = sanitize_html(text)
    markup = html_to_blocks(html)
    names(markup)  # balanced
    assert outside_blocks(markup) == ""
    plain = re.sub(r"<[^>]*>|\s", "", html)
    assert re.sub(r"<[^>]*>|\s", "", markup) == plain


def test_the_related_block_is_replaced_in_its_wrapper_appended_or_removed() -> None:
    one = related_block([("one", "/posts/one/")])
    two = related_block([("two", "/posts/two/")])
    body = html_to_blocks("<p>Intro</p>")
    with_one = with_related_block(body, one)
    assert with_one == body + "\n\n" + html_block(one)
    edited = with_one + "\n\n<!-- wp:paragraph -->\n<p>Edited.</p>\n<!-- /wp:paragraph -->"
    with_two = with_related_block(edited, two)
    assert with_two == body + "\n\n" + html_block(two) + edited[len(with_one) :]
    assert with_two.count(RELATED_START) == 1 and "one" not in with_two
    gone = with_related_block(with_two, "")
    assert "wp:html" not in gone and RELATED_END not in gone and "Edited." in gone
    assert with_related_block(body, "") == body
    # A post written before block markup: a bare block, replaced by a wrapped one.
    legacy = "<!-- inkline:5 --><p>Intro</p>" + one + "<p>After</p>"
    assert with_related_block(legacy, two) == (
        "<!-- inkline:5 --><p>Intro</p>" + html_block(two) + "<p>After</p>"
    )
