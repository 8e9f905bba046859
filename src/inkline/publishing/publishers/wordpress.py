"""The WordPress publisher: the REST API (`/wp-json/wp/v2/`) with an application password.

Idempotent against timeouts: every attempt first looks the post up by its slug (any status),
and each image by its media slug, so an attempt after one whose answer was lost (the server
accepted it, the reply timed out) finds what the first created instead of creating it again.
A post carries an invisible marker (`<!-- inkline:<install id>:<content id> -->`, the install
id from `inkline.core.installation`), and so does each image it uploads (in the media's
description), so a post or image of the same slug that this installation did not write (a
user's, another Inkline's) is never taken, reused or deleted as its own.

Posts written before the marker carried the install id hold `<!-- inkline:<content id> -->`,
which any installation could have written. That marker is accepted only where the post is
ours by provenance: updating "Related reading" of the post whose id WordPress gave us when we
published it (the id stored on the content; WordPress never reuses ids). It is replaced by
the new marker on that update. A post found by its slug needs the new marker, so an old post
of another installation with the same slug is refused, never adopted.

The content is block markup (`inkline.publishing.blocks`): the marker and "Related reading"
are Custom HTML blocks, the article headings, paragraphs, lists and images are the editor's
own blocks. Images are converted for the web (`inkline.publishing.webimage`: WebP, or JPEG
with `image_format: "jpeg"` or when this WordPress cannot take or resize WebP), titled, with
alt text and caption from the image's alt text, and attached to the post once it exists.
When an attempt fails before its post exists, the images it uploaded are deleted.

Internal links ("Related reading") are a block between two HTML comments Inkline owns. When
they change, `refresh_related` reads the post's raw content, replaces only that block (edits
made in WordPress outside it are kept) and updates the post, unless it already reads so.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from typing import Any

import requests

from inkline.publishing import outbound
from inkline.publishing.blocks import html_block, html_to_blocks, join, with_related_block
from inkline.publishing.linkset import related_block
from inkline.publishing.publishers import (
    Article,
    ArticleImage,
    Published,
    PublishError,
    RemotePost,
    place_images,
)
from inkline.publishing.webimage import FORMATS, NotAnImage, web_image

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
# Statuses of a post that is online (to everyone or to its site's members): never withdrawn.
LIVE_STATUSES = frozenset({"publish", "private"})
ANY_STATUS = "publish,future,draft,pending,private,trash"
# WordPress refusing an upload's type ("Sorry, you are not allowed to upload this file type.",
# "rest_upload_file_type_…"); a WebP upload refused so is sent again as JPEG.
_FILE_TYPE_REFUSED = re.compile(r"file type|upload_file_type|mime", re.IGNORECASE)


class WordPressPublisher:
    def __init__(
        self,
        *,
        base_url: str,
        username: str,
        password: str,
        install_id: str,
        categories: tuple[str, ...] = (),
        timeout: float = 20.0,
        image_format: str = "webp",
    ) -> None:
        self.api = base_url.rstrip("/") + "/wp-json/wp/v2"
        self.install_id = install_id
        self.categories = categories
        self.image_format = image_format if image_format in FORMATS else "webp"
        self.timeout = timeout
        self.session = requests.Session()
        self.session.auth = (username, password)
        self.session.headers["User-Agent"] = "Inkline publisher"

    # --- HTTP ---------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.api}/{path.lstrip('/')}"
        try:
            response = outbound.request(
                self.session, method, url, timeout=(min(5.0, self.timeout), self.timeout), **kwargs
            )
        except outbound.UnsafeTarget as exc:
            raise PublishError(str(exc), retryable=False) from exc
        except requests.Timeout as exc:
            raise PublishError(f"WordPress did not answer {method} {path} in time.") from exc
        except (requests.RequestException, OSError) as exc:
            raise PublishError(f"Could not reach WordPress ({method} {path}): {exc}") from exc
        if response.status_code >= 400:
            detail = response.text[:300]
            retryable = response.status_code in RETRYABLE_STATUS
            hint = ""
            if response.status_code in (401, 403):
                hint = " Check the username and the application password."
            raise PublishError(
                f"WordPress answered {response.status_code} to {method} {path}: {detail}{hint}",
                retryable=retryable,
            )
        try:
            return response.json()
        except ValueError as exc:
            raise PublishError(f"WordPress sent a reply that is not JSON to {path}.") from exc

    # --- steps --------------------------------------------------------------------------
    def _find(self, kind: str, slug: str) -> dict[str, Any] | None:
        params = {"slug": slug, "context": "edit"}
        if kind == "posts":
            params["status"] = "publish,future,draft,pending,private"
        found = self._call("GET", kind, params=params)
        if isinstance(found, list) and found:
            return dict(found[0])
        return None

    def _terms(self, taxonomy: str, names: tuple[str, ...]) -> list[int]:
        ids = []
        for name in dict.fromkeys(n.strip() for n in names if n.strip()):
            found = self._call("GET", taxonomy, params={"search": name, "per_page": 100})
            match = next((t for t in found if str(t.get("name", "")).lower() == name.lower()), None)
            if match is None:
                match = self._call("POST", taxonomy, json={"name": name})
            ids.append(int(match["id"]))
        return ids

    def _marker(self, article: Article) -> str:
        return f"<!-- inkline:{self.install_id}:{article.content_id} -->"

    @staticmethod
    def _raw(post: dict[str, Any], key: str = "content") -> str:
        raw = post.get(key, {})
        return str(raw.get("raw", "") if isinstance(raw, dict) else raw)

    @staticmethod
    def _related(article: Article) -> str:
        return related_block([(link.anchor, link.url) for link in article.related])

    # --- media ----------------------------------------------------------------------------
    @staticmethod
    def _media_slug(image: ArticleImage) -> str:
        return image.name.rsplit(".", 1)[0].lower()

    def _own_media(self, image: ArticleImage, article: Article) -> dict[str, Any] | None:
        """The media of `image` this installation uploaded for `article`, if WordPress has it."""
        found = self._find("media", self._media_slug(image))
        if found is not None and self._marker(article) in self._raw(found, "description"):
            return found
        return None

    def _media(self, image: ArticleImage, article: Article) -> dict[str, Any]:
        existing = self._own_media(image, article)
        if existing is not None:
            return existing
        media = self._upload(image, article, self.image_format)
        details = media.get("media_details") or {}
        if (
            self.image_format == "webp"
            and not details.get("sizes")
            and details.get("width", 0) > 300
        ):
            # WordPress took the WebP but made none of its smaller sizes (its image library
            # cannot read WebP), so it would serve no responsive images: JPEG from here on.
            self.image_format = "jpeg"
            self._delete_media([media])
            media = self._upload(image, article, "jpeg")
        return media

    def _upload(self, image: ArticleImage, article: Article, fmt: str) -> dict[str, Any]:
        try:
            converted = web_image(image.path, fmt=fmt)
        except OSError as exc:
            raise PublishError(f"Image file missing: {image.path.name}", retryable=False) from exc
        except NotAnImage as exc:
            raise PublishError(str(exc), retryable=False) from exc
        slug = self._media_slug(image)
        name = image.name.rsplit(".", 1)[0] + converted.suffix
        try:
            media = self._call(
                "POST",
                "media",
                params={
                    "slug": slug,
                    "title": image.alt,
                    "alt_text": image.alt,
                    "caption": image.alt,
                    "description": self._marker(article),
                },
                data=converted.data,
                headers={
                    "Content-Type": converted.content_type,
                    "Content-Disposition": f'attachment; filename="{name}"',
                },
            )
        except PublishError as exc:
            if fmt == "webp" and _FILE_TYPE_REFUSED.search(exc.message):
                self.image_format = "jpeg"  # e.g. a multisite whose upload types lack webp
                return self._upload(image, article, "jpeg")
            raise
        return dict(media)

    def _delete_media(self, media: list[dict[str, Any]]) -> None:
        """Best effort: the error that made us clean up is the one to report."""
        for item in media:
            with contextlib.suppress(PublishError):
                self._call("DELETE", f"media/{item['id']}", params={"force": "true"})

    def _attach(self, post_id: int, media: list[dict[str, Any]]) -> None:
        for item in media:
            if int(item.get("post") or 0) != post_id:
                self._call("POST", f"media/{item['id']}", json={"post": post_id})

    @staticmethod
    def _src(media: dict[str, Any]) -> tuple[str, str]:
        """The URL an article shows of `media` and the size it is: "large" when WordPress
        made that size, else the original ("full")."""
        large = ((media.get("media_details") or {}).get("sizes") or {}).get("large") or {}
        if large.get("source_url"):
            return str(large["source_url"]), "large"
        return str(media.get("source_url", "")), "full"

    def _content(self, article: Article, inline: list[tuple[ArticleImage, dict[str, Any]]]) -> str:
        shown = [(self._src(media), image.alt, int(media["id"])) for image, media in inline]
        placed = place_images(article.html, [(src, alt) for (src, _), alt, _ in shown])
        ids = {src: (media_id, size) for (src, size), _, media_id in shown}
        body = join([html_block(self._marker(article)), html_to_blocks(placed, images=ids)])
        return with_related_block(body, self._related(article))

    # --- publishing -----------------------------------------------------------------------
    def _post_absent(self, slug: str) -> bool:
        """True only when WordPress answers that it has no post of `slug`."""
        try:
            return self._find("posts", slug) is None
        except PublishError:
            return False

    def publish(self, article: Article, *, status: str = "publish") -> Published:
        marker = self._marker(article)
        existing = self._find("posts", article.slug)
        if existing is not None:
            if marker not in self._raw(existing):
                raise PublishError(
                    f"WordPress already has a post with the slug '{article.slug}' that this "
                    "Inkline did not create; rename or remove it, then retry.",
                    retryable=False,
                )
            # A lost answer: the post exists; its images may not be attached yet.
            images = [i for i in (article.featured_image, *article.images) if i is not None]
            own = [m for m in (self._own_media(i, article) for i in images) if m is not None]
            self._attach(int(existing["id"]), own)
            return Published(url=str(existing.get("link", "")), remote_id=str(existing["id"]))
        media: list[dict[str, Any]] = []  # this article's, found or uploaded, featured first
        sent = False
        try:
            featured = None
            if article.featured_image is not None:
                featured = self._media(article.featured_image, article)
                media.append(featured)
            inline = []
            for image in article.images:
                inline.append((image, self._media(image, article)))
                media.append(inline[-1][1])
            body: dict[str, Any] = {
                "title": article.title,
                "content": self._content(article, inline),
                "excerpt": article.description,
                "slug": article.slug,
                "status": status,
                "date_gmt": article.date.strftime("%Y-%m-%dT%H:%M:%S"),
                "categories": self._terms("categories", self.categories + article.categories),
                "tags": self._terms("tags", article.tags),
            }
            if featured is not None:
                body["featured_media"] = int(featured["id"])
            sent = True
            post = self._call("POST", "posts", json=body)
        except PublishError:
            # Only once WordPress says the post is not there: a post created by an attempt
            # whose answer was lost shows these images, and the next attempt adopts it.
            if not sent or self._post_absent(article.slug):
                self._delete_media(media)
            raise
        self._attach(int(post["id"]), media)
        return Published(url=str(post.get("link", "")), remote_id=str(post["id"]))

    def refresh_related(self, article: Article, *, remote_id: str) -> None:
        if remote_id.isdigit():
            post = self._call("GET", f"posts/{remote_id}", params={"context": "edit"})
        else:
            post = self._find("posts", article.slug)
            if post is None:
                raise PublishError(
                    f"WordPress has no post with the slug '{article.slug}'.", retryable=False
                )
        stored = raw = self._raw(post)
        if self._marker(article) not in raw:
            legacy = re.compile(rf"<!-- inkline:{article.content_id} -->")
            # The old marker only on the post WordPress gave us the id of (see the top).
            if not (remote_id.isdigit() and legacy.search(raw)):
                raise PublishError(
                    f"The WordPress post {post.get('id')} was not written by this Inkline for "
                    "this article; its links are left alone.",
                    retryable=False,
                )
            raw = legacy.sub(self._marker(article), raw, count=1)
        updated = with_related_block(raw, self._related(article))
        if updated != stored:
            self._call("POST", f"posts/{post['id']}", json={"content": updated})

    # --- WordPress's own scheduling (`future` posts) ---------------------------------------
    # "Hand scheduled posts to WordPress": the post is created as `future` at its slot, its
    # date moved when it is rescheduled, and it is trashed when it is unscheduled (a trashed
    # post stays restorable in WordPress for 30 days, and its slug is freed). WordPress
    # publishes a `future` post itself at its date (WP-Cron, run on a visit to the site);
    # at the slot Inkline reads the post and publishes it only if WordPress has not.
    @staticmethod
    def _gmt(moment: dt.datetime) -> str:
        return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")

    @staticmethod
    def _remote(post: dict[str, Any]) -> RemotePost:
        try:
            date = dt.datetime.fromisoformat(str(post.get("date_gmt"))).replace(tzinfo=dt.UTC)
        except ValueError:
            date = None
        return RemotePost(
            remote_id=str(post["id"]),
            url=str(post.get("link", "")),
            status=str(post.get("status", "")),
            date=date,
        )

    def _own_post(self, article: Article, remote_id: str) -> dict[str, Any] | None:
        """The article's post: by id (any status but trash), else by its slug and marker."""
        if remote_id.isdigit():
            params = {"include": remote_id, "status": ANY_STATUS, "context": "edit"}
            found = self._call("GET", "posts", params=params)
            if isinstance(found, list) and found and found[0].get("status") != "trash":
                return dict(found[0])
        post = self._find("posts", article.slug)
        if post is not None and self._marker(article) not in self._raw(post):
            raise PublishError(
                f"WordPress already has a post with the slug '{article.slug}' that Inkline "
                "did not create; rename or remove it, then retry.",
                retryable=False,
            )
        return post

    def schedule(self, article: Article, *, remote_id: str = "") -> RemotePost:
        post = self._own_post(article, remote_id)
        if post is None:
            created = self.publish(article, status="future")
            post = self._own_post(article, created.remote_id)
            if post is None:
                raise PublishError(f"WordPress lost the post {created.remote_id} it created.")
            return self._remote(post)
        held = self._remote(post)
        if held.status in LIVE_STATUSES or (held.status == "future" and held.date == article.date):
            return held
        body = {"status": "future", "date_gmt": self._gmt(article.date)}
        return self._remote(self._call("POST", f"posts/{post['id']}", json=body))

    def unschedule(self, article: Article, *, remote_id: str = "") -> RemotePost | None:
        try:
            post = self._own_post(article, remote_id)
        except PublishError as exc:
            if exc.retryable:
                raise
            return None  # the slug's post is someone else's: nothing of Inkline's to withdraw
        if post is None:
            return None
        if str(post.get("status")) in LIVE_STATUSES:
            return self._remote(post)
        return self._remote(self._call("DELETE", f"posts/{post['id']}"))

    def publish_scheduled(self, article: Article, *, remote_id: str = "") -> Published:
        post = self._own_post(article, remote_id)
        if post is None:
            return self.publish(article)
        held = self._remote(post)
        if held.status in LIVE_STATUSES:
            return Published(url=held.url, remote_id=held.remote_id, at=held.date)
        # Still scheduled (its schedule was missed: nobody visited the site since its date, or
        # it holds another date), a draft or pending: publish it now, dated at its slot.
        body = {"status": "publish", "date_gmt": self._gmt(article.date)}
        now = self._remote(self._call("POST", f"posts/{post['id']}", json=body))
        if now.status not in LIVE_STATUSES:
            when = f"{now.date:%Y-%m-%d %H:%M} UTC" if now.date else "later"
            raise PublishError(
                f"WordPress keeps the post {now.remote_id} {now.status}, dated {when} (is its "
                "clock behind Inkline's?); Inkline checks again later."
            )
        return Published(url=now.url, remote_id=now.remote_id)
