"""The static publisher (embedded default): Markdown with YAML front matter, plus images, in a
folder per site, ready for Hugo or Jekyll.

Layouts (`publisher_config["layout"]`):
- `hugo` (default): `content/posts/<slug>.md`, images in `static/images/<slug>/`;
- `jekyll`: `_posts/<YYYY-MM-DD>-<slug>.md`, images in `assets/images/<slug>/`.
Both get `/posts/<slug>/` as the page's address (Hugo from the section and slug, Jekyll from
`permalink`). Files are written atomically at a path fixed by the article, so publishing again
replaces the same file: never a second copy. Internal links ("Related reading") point to the
other posts' addresses as paths of the site (under the path of the site's URL, if it has one),
and a change of them rewrites the whole file. A refreshed article (`update`) replaces its file
in place, with `lastmod` (Hugo) or `last_modified_at` (Jekyll) in its front matter.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from markdownify import markdownify

from inkline.publishing.linkset import related_block
from inkline.publishing.publishers import (
    Article,
    CheckProblem,
    Published,
    PublisherCheck,
    PublishError,
    place_images,
)

LAYOUTS = ("hugo", "jekyll")


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _copy_atomic(source: Path, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def to_markdown(html: str) -> str:
    # escape_misc: text that reads like markup (an escaped "<script>") stays text.
    return markdownify(html, heading_style="ATX", bullets="-", escape_misc=True).strip() + "\n"


class StaticPublisher:
    def __init__(self, *, root: Path, base_url: str = "", layout: str = "hugo") -> None:
        if layout not in LAYOUTS:
            raise PublishError(
                f"Unknown static layout '{layout}' (use one of {', '.join(LAYOUTS)}).",
                retryable=False,
            )
        self.root = root
        self.base_url = base_url.rstrip("/")
        self.base_path = urlsplit(self.base_url).path.rstrip("/")
        self.layout = layout

    def post_path(self, article: Article) -> Path:
        if self.layout == "jekyll":
            return self.root / "_posts" / f"{article.date:%Y-%m-%d}-{article.slug}.md"
        return self.root / "content" / "posts" / f"{article.slug}.md"

    def _image_dir(self, article: Article) -> tuple[Path, str]:
        if self.layout == "jekyll":
            return self.root / "assets" / "images" / article.slug, f"/assets/images/{article.slug}"
        return self.root / "static" / "images" / article.slug, f"/images/{article.slug}"

    def publish(self, article: Article) -> Published:
        image_dir, image_url = self._image_dir(article)
        try:
            featured = ""
            if article.featured_image is not None:
                _copy_atomic(article.featured_image.path, image_dir / article.featured_image.name)
                featured = f"{image_url}/{article.featured_image.name}"
            inline = []
            for image in article.images:
                _copy_atomic(image.path, image_dir / image.name)
                inline.append((f"{image_url}/{image.name}", image.alt))
            address = f"/posts/{article.slug}/"
            front: dict[str, object] = {
                "title": article.title,
                "date": article.date.isoformat(),
                "description": article.description,
                "slug": article.slug,
                "tags": list(article.tags),
                "categories": list(article.categories),
            }
            if featured:
                front["image"] = featured
            if article.modified is not None:  # refreshed: Hugo's and Jekyll's modified date
                key = "last_modified_at" if self.layout == "jekyll" else "lastmod"
                front[key] = article.modified.isoformat()
            if self.layout == "jekyll":
                front["layout"] = "post"
                front["permalink"] = address
            related = related_block(
                [(link.anchor, f"{self.base_path}/posts/{link.slug}/") for link in article.related]
            )
            body = to_markdown(place_images(article.html, inline) + related)
            text = (
                "---\n"
                + yaml.safe_dump(front, sort_keys=False, allow_unicode=True)
                + "---\n\n"
                + body
            )
            path = self.post_path(article)
            _write_atomic(path, text.encode())
        except OSError as exc:
            raise PublishError(f"Could not write the static site: {exc}") from exc
        return Published(
            url=f"{self.base_url}{address}", remote_id=str(path.relative_to(self.root))
        )

    def refresh_related(self, article: Article, *, remote_id: str) -> None:
        self.publish(article)  # the whole file again, atomically, at the same path

    def update(self, article: Article, *, remote_id: str) -> Published:
        """A refresh: the file replaced atomically at the same path (same date, same slug),
        its front matter saying when (`lastmod`, or `last_modified_at` for Jekyll)."""
        return self.publish(article)

    def check(self) -> PublisherCheck:
        """Can articles be written here: the output directory exists (or can be made) and
        takes a file."""
        result = PublisherCheck(publisher="static", target=str(self.root))
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".check-")
            os.close(fd)
            Path(tmp).unlink()
        except OSError as exc:
            result.problems.append(
                CheckProblem(
                    "output_not_writable",
                    f"Inkline cannot write to {self.root}: {exc.strerror or exc}.",
                    "Let the user Inkline runs as write to that directory (it lives under "
                    "INKLINE_DATA_DIR), or point INKLINE_DATA_DIR at a writable place.",
                )
            )
        return result
