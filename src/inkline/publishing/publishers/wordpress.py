"""The WordPress publisher: the REST API (`/wp-json/wp/v2/`) with an application password.

Idempotent against timeouts: every attempt first looks the post up by its slug (any status),
and each image by its media slug, so an attempt after one whose answer was lost (the server
accepted it, the reply timed out) finds what the first created instead of creating it again.
A post carries an invisible marker (`<!-- inkline:<content id> -->`), so a post of the same
slug that Inkline did not write is never taken for its own.

Internal links ("Related reading") are a block between two HTML comments Inkline owns. When
they change, `refresh_related` reads the post's raw content, replaces only that block (edits
made in WordPress outside it are kept) and updates the post, unless it already reads so.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import requests

from inkline.publishing import outbound
from inkline.publishing.linkset import related_block, with_related
from inkline.publishing.publishers import (
    Article,
    ArticleImage,
    Published,
    PublishError,
    RemotePost,
    place_images,
)

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
# Statuses of a post that is online (to everyone or to its site's members): never withdrawn.
LIVE_STATUSES = frozenset({"publish", "private"})
ANY_STATUS = "publish,future,draft,pending,private,trash"


class WordPressPublisher:
    def __init__(
        self,
        *,
        base_url: str,
        username: str,
        password: str,
        categories: tuple[str, ...] = (),
        timeout: float = 20.0,
    ) -> None:
        self.api = base_url.rstrip("/") + "/wp-json/wp/v2"
        self.categories = categories
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

    def _media(self, image: ArticleImage) -> dict[str, Any]:
        slug = image.name.rsplit(".", 1)[0].lower()
        existing = self._find("media", slug)
        if existing is not None:
            return existing
        try:
            data = image.path.read_bytes()
        except OSError as exc:
            raise PublishError(f"Image file missing: {image.path.name}", retryable=False) from exc
        media = self._call(
            "POST",
            "media",
            data=data,
            headers={
                "Content-Type": image.content_type,
                "Content-Disposition": f'attachment; filename="{image.name}"',
            },
        )
        if image.alt and media.get("id"):
            self._call("POST", f"media/{media['id']}", json={"alt_text": image.alt})
        return dict(media)

    def _terms(self, taxonomy: str, names: tuple[str, ...]) -> list[int]:
        ids = []
        for name in dict.fromkeys(n.strip() for n in names if n.strip()):
            found = self._call("GET", taxonomy, params={"search": name, "per_page": 100})
            match = next((t for t in found if str(t.get("name", "")).lower() == name.lower()), None)
            if match is None:
                match = self._call("POST", taxonomy, json={"name": name})
            ids.append(int(match["id"]))
        return ids

    @staticmethod
    def _marker(article: Article) -> str:
        return f"<!-- inkline:{article.content_id} -->"

    @staticmethod
    def _raw(post: dict[str, Any]) -> str:
        raw = post.get("content", {})
        return str(raw.get("raw", "") if isinstance(raw, dict) else raw)

    @staticmethod
    def _related(article: Article) -> str:
        return related_block([(link.anchor, link.url) for link in article.related])

    def publish(self, article: Article, *, status: str = "publish") -> Published:
        marker = self._marker(article)
        existing = self._find("posts", article.slug)
        if existing is not None:
            if marker not in self._raw(existing):
                raise PublishError(
                    f"WordPress already has a post with the slug '{article.slug}' that Inkline "
                    "did not create; rename or remove it, then retry.",
                    retryable=False,
                )
            return Published(url=str(existing.get("link", "")), remote_id=str(existing["id"]))
        featured = self._media(article.featured_image) if article.featured_image else None
        inline = [(str(self._media(i).get("source_url", "")), i.alt) for i in article.images]
        body: dict[str, Any] = {
            "title": article.title,
            "content": marker + place_images(article.html, inline) + self._related(article),
            "excerpt": article.description,
            "slug": article.slug,
            "status": status,
            "date_gmt": article.date.strftime("%Y-%m-%dT%H:%M:%S"),
            "categories": self._terms("categories", self.categories + article.categories),
            "tags": self._terms("tags", article.tags),
        }
        if featured is not None:
            body["featured_media"] = int(featured["id"])
        post = self._call("POST", "posts", json=body)
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
        raw = self._raw(post)
        if self._marker(article) not in raw:
            raise PublishError(
                f"The WordPress post {post.get('id')} was not written by Inkline for this "
                "article; its links are left alone.",
                retryable=False,
            )
        updated = with_related(raw, self._related(article))
        if updated != raw:
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
