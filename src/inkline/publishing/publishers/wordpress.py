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

What a real WordPress does (tests/wordpress runs Debian's 6.1): with "plain" permalinks
`/wp-json/` is an HTML page, so a reply that is not JSON makes the publisher ask the home page
for the REST root it announces (`Link: <…?rest_route=/>; rel="https://api.w.org/"`). Term
names come back HTML-escaped ("Guides &amp; Tips"). A wrong application password makes a
request anonymous rather than refused, so the first refusal asks `/users/me` (and XML-RPC)
what is wrong with the credentials. An account that may not create a term (an Author and
categories) publishes with the terms that exist and names the others in `Published.notes`.
`check()` is the connection check (`inkline.publishing.checking`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import re
from typing import Any

import requests

from inkline.core import outbound
from inkline.publishing.blocks import html_block, html_to_blocks, join, with_related_block
from inkline.publishing.linkset import related_block
from inkline.publishing.publishers import (
    Article,
    ArticleImage,
    CheckProblem,
    Published,
    PublisherCheck,
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
API_REL = "https://api.w.org/"  # the Link relation WordPress announces its REST root with
ROLE_HINT = (
    "Publishing needs the Author role or higher (Editor or Administrator to create categories)."
)
# What a refusal (403, or 401 once the credentials are known to be good) of a request means.
REFUSED = {
    ("POST", "media"): "may not upload files",
    ("POST", "posts"): "may not create or publish posts",
    ("POST", "categories"): "may not create categories",
    ("POST", "tags"): "may not create tags",
}
CREDENTIAL_CODES = frozenset(
    {"incorrect_password", "invalid_username", "invalid_email", "application_passwords_disabled"}
)
STRIPPED_AUTHORIZATION_FIX = (
    "Make the web server pass the Authorization header to PHP: on Apache add "
    '`SetEnvIf Authorization "(.*)" HTTP_AUTHORIZATION=$1` (or `CGIPassAuth On`) to '
    "WordPress's .htaccess; on nginx with PHP-FPM add `fastcgi_param HTTP_AUTHORIZATION "
    "$http_authorization;`; behind a proxy or CDN, let it forward the header."
)


_TAG = re.compile(r"<[^>]+>")


def _strip_tags(text: str) -> str:
    return _TAG.sub("", text)


class WordPressError(PublishError):
    """WordPress refused a request: its HTTP status and its REST error (`code`, `data`)."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str = "",
        data: dict[str, Any] | None = None,
        retryable: bool = True,
    ) -> None:
        super().__init__(message, retryable=retryable)
        self.status = status
        self.code = code
        self.data = data or {}


def _error_of(response: requests.Response) -> tuple[str, str, dict[str, Any]]:
    """A REST error answer's code, message and data ("" and {} when it is not one)."""
    try:
        body = response.json()
    except ValueError:
        return "", "", {}
    if not isinstance(body, dict):
        return "", "", {}
    data = body.get("data")
    return (
        str(body.get("code", "")),
        str(body.get("message", "")),
        (data if isinstance(data, dict) else {}),
    )


def _is_json(response: requests.Response) -> bool:
    try:
        response.json()
    except ValueError:
        return False
    return True


def _term_key(name: str) -> str:
    """A term name as WordPress compares them: its stored name is HTML-escaped ("&amp;")."""
    return " ".join(html.unescape(name).split()).casefold()


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
        self.base_url = base_url.rstrip("/")
        # The REST root: `<site>/wp-json/` with pretty permalinks, `<site>/index.php?rest_route=/`
        # with plain ones (found in the Link header WordPress sends when /wp-json/ is not JSON).
        self.root = self.base_url + "/wp-json/"
        self.root_checked = False
        self.credentials_checked = False
        self.username = username
        self.install_id = install_id
        self.categories = categories
        self.image_format = image_format if image_format in FORMATS else "webp"
        self.timeout = timeout
        self.notes: list[str] = []
        self.session = requests.Session()
        self.session.auth = (username, password)
        self.session.headers["User-Agent"] = "Inkline publisher"

    # --- HTTP ---------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return f"{self.root}wp/v2/{path.lstrip('/')}"

    def _send(self, method: str, url: str, what: str, **kwargs: Any) -> requests.Response:
        try:
            return outbound.request(
                self.session, method, url, timeout=(min(5.0, self.timeout), self.timeout), **kwargs
            )
        except outbound.UnsafeTarget as exc:
            raise PublishError(str(exc), retryable=False) from exc
        except requests.Timeout as exc:
            raise PublishError(f"WordPress did not answer {method} {what} in time.") from exc
        except (requests.RequestException, OSError) as exc:
            raise PublishError(f"Could not reach WordPress ({method} {what}): {exc}") from exc

    def discover_root(self) -> str | None:
        """The REST root WordPress announces (`Link: <…>; rel="https://api.w.org/"`) on its
        home page, or None."""
        response = self._send("GET", self.base_url + "/", "/")
        link = response.links.get(API_REL)
        return str(link["url"]) if link and link.get("url") else None

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, self._url(path), path, **kwargs)
        transient = response.status_code in RETRYABLE_STATUS
        if not _is_json(response) and not transient and not self.root_checked:
            # Not the REST API there (plain permalinks: an HTML page): ask WordPress where.
            self.root_checked = True
            root = self.discover_root()
            if root and root != self.root:
                self.root = root
                response = self._send(method, self._url(path), path, **kwargs)
                transient = response.status_code in RETRYABLE_STATUS
        if not _is_json(response):
            if transient:  # a proxy's or PHP's error page: worth another attempt
                raise PublishError(
                    f"WordPress answered {response.status_code} to {method} {path}: "
                    f"{response.text[:300]}"
                )
            raise PublishError(
                f"WordPress's REST API does not answer at {self.base_url} ({method} {path} "
                f"got HTTP {response.status_code}, not JSON, and the site announces no REST "
                "API). Check the WordPress address, and that no plugin or server rule blocks "
                "the REST API.",
                retryable=False,
            )
        if response.status_code >= 400:
            raise self._refusal(method, path, response)
        return response.json()

    def _refusal(self, method: str, path: str, response: requests.Response) -> WordPressError:
        status = response.status_code
        code, message, data = _error_of(response)
        retryable = status in RETRYABLE_STATUS
        if status in (400, 401, 403) and not self.credentials_checked:
            # A wrong password or a dropped Authorization header makes the request an
            # anonymous one, refused for another reason (400 on `status=…`, 401 on writes).
            self.credentials_checked = True
            problem = self.credentials_problem()
            if problem:
                return WordPressError(
                    f"{problem.message} {problem.fix}",
                    status=401,
                    code=problem.code,
                    retryable=False,
                )
        what = REFUSED.get((method, path.split("/")[0]))
        if status in (401, 403) and code.startswith("rest_"):
            refused = what or f"may not {method} {path}"
            return WordPressError(
                f"The WordPress user '{self.username}' {refused} ({code}: {message}). " + ROLE_HINT,
                status=status,
                code=code,
                data=data,
                retryable=False,
            )
        return WordPressError(
            f"WordPress answered {status} to {method} {path}: {response.text[:300]}",
            status=status,
            code=code,
            data=data,
            retryable=retryable,
        )

    def credentials_problem(self) -> CheckProblem | None:
        """What is wrong with the credentials (None when WordPress accepts them), asked of
        `/wp/v2/users/me`, the one route that tells.

        WordPress 6.1 answers a wrong application password there as it answers none at all
        (401 `rest_not_logged_in`: it checks the password only after reporting errors), so
        XML-RPC, which takes the credentials in its body, tells the two apart: accepted
        there, they never reached the REST API (the Authorization header was dropped)."""
        response = self._send("GET", self._url("users/me"), "users/me")
        if response.status_code < 400 or not _is_json(response):
            return None
        code, message, _ = _error_of(response)
        user = f"the username '{self.username}'"
        new_password = (
            "Create an application password under Users → Profile → Application Passwords "
            "in WordPress and enter it with that user's name (not the user's login password)."
        )
        if code == "rest_not_logged_in":
            verdict = self._xmlrpc_login()
            if verdict == "refused":
                return CheckProblem(
                    "credentials",
                    f"WordPress refused {user} or its application password.",
                    new_password,
                )
            if verdict == "accepted":
                return CheckProblem(
                    "authorization_header",
                    "WordPress received no credentials over its REST API, although "
                    f"{user} and its application password are right: the web server or a "
                    "proxy in front of WordPress drops the Authorization header.",
                    STRIPPED_AUTHORIZATION_FIX,
                )
            return CheckProblem(
                "credentials",
                f"WordPress did not accept {user} and its application password: either "
                "they are wrong or the web server drops the Authorization header.",
                f"{new_password} If they are right: {STRIPPED_AUTHORIZATION_FIX}",
            )
        if code in CREDENTIAL_CODES or response.status_code == 401:
            detail = html.unescape(_strip_tags(message)).strip()
            return CheckProblem(
                "credentials",
                f"WordPress refused {user} or its application password"
                + f" (HTTP {response.status_code} {code}{': ' + detail if detail else ''}).",
                new_password,
            )
        return None

    def _xmlrpc_login(self) -> str:
        """ "accepted" or "refused" when XML-RPC checked the credentials, else "unknown"
        (XML-RPC off or blocked)."""
        auth = self.session.auth
        if not isinstance(auth, tuple):
            return "unknown"
        user, password = (html.escape(str(v)) for v in auth)
        body = (
            '<?xml version="1.0"?><methodCall><methodName>wp.getProfile</methodName><params>'
            "<param><value><int>1</int></value></param>"
            f"<param><value><string>{user}</string></value></param>"
            f"<param><value><string>{password}</string></value></param>"
            "</params></methodCall>"
        )
        try:
            response = self._send(
                "POST",
                self.base_url + "/xmlrpc.php",
                "xmlrpc.php",
                data=body.encode(),
                headers={"Content-Type": "text/xml"},
            )
        except PublishError:
            return "unknown"
        text = response.text if response.status_code == 200 else ""
        if "<methodResponse>" not in text:
            return "unknown"
        if "<fault>" not in text:
            return "accepted"
        return "refused" if re.search(r"<int>\s*403\s*</int>", text) else "unknown"

    # --- steps --------------------------------------------------------------------------
    def _find(self, kind: str, slug: str) -> dict[str, Any] | None:
        params = {"slug": slug, "context": "edit"}
        if kind == "posts":
            params["status"] = "publish,future,draft,pending,private"
        found = self._call("GET", kind, params=params)
        if isinstance(found, list) and found:
            return dict(found[0])
        return None

    def _term(self, taxonomy: str, name: str) -> int | None:
        """The id of the existing term named `name` (its stored name is HTML-escaped)."""
        key = _term_key(name)
        for search in dict.fromkeys((name, html.escape(name, quote=False))):
            found = self._call("GET", taxonomy, params={"search": search, "per_page": 100})
            for term in found if isinstance(found, list) else []:
                if _term_key(str(term.get("name", ""))) == key:
                    return int(term["id"])
        return None

    def _terms(self, taxonomy: str, names: tuple[str, ...]) -> list[int]:
        """The ids of the terms named: existing ones reused, missing ones created; those
        the account may not create are left out and named in `notes`."""
        ids: list[int] = []
        denied: list[str] = []
        for name in dict.fromkeys(n.strip() for n in names if n.strip()):
            term_id = self._term(taxonomy, name)
            if term_id is None:
                try:
                    term_id = int(self._call("POST", taxonomy, json={"name": name})["id"])
                except WordPressError as exc:
                    if exc.code == "term_exists" and exc.data.get("term_id"):
                        term_id = int(exc.data["term_id"])
                    elif exc.status in (401, 403) and exc.code.startswith("rest_"):
                        denied.append(name)
                        continue
                    else:
                        raise
            if term_id not in ids:
                ids.append(term_id)
        if denied:
            kind = "categories" if taxonomy == "categories" else "tags"
            self.notes.append(
                f"Published without the {kind} {', '.join(repr(n) for n in denied)}: the "
                f"WordPress user '{self.username}' may not create {kind}. Create them in "
                "WordPress, or give the user the Editor role."
            )
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
        self.notes = []
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
        return Published(
            url=str(post.get("link", "")), remote_id=str(post["id"]), notes=tuple(self.notes)
        )

    def update(self, article: Article, *, remote_id: str) -> Published:
        """A refresh: the post this installation wrote for the article (by id, else by its
        slug and marker) gets the new title, body, excerpt and images in place; its slug,
        date and status stay, and WordPress sets its `modified` date. Edits made in WordPress
        to the post's body are replaced by the refreshed article."""
        self.notes = []
        post = self._own_post(article, remote_id)
        if post is None:
            raise PublishError(
                f"WordPress has no post for '{article.slug}' to update (was it deleted?).",
                retryable=False,
            )
        raw = self._raw(post)
        legacy = f"<!-- inkline:{article.content_id} -->"
        if self._marker(article) not in raw and not (remote_id.isdigit() and legacy in raw):
            raise PublishError(
                f"The WordPress post {post.get('id')} was not written by this Inkline for "
                "this article; it is left alone.",
                retryable=False,
            )
        media: list[dict[str, Any]] = []
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
        }
        if featured is not None:
            body["featured_media"] = int(featured["id"])
        updated = self._call("POST", f"posts/{post['id']}", json=body)
        self._attach(int(post["id"]), media)
        return Published(
            url=str(updated.get("link", "") or post.get("link", "")),
            remote_id=str(post["id"]),
            notes=tuple(self.notes),
        )

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

    # --- connection check ---------------------------------------------------------------
    def check(self) -> PublisherCheck:
        """Can this account publish here? The REST root (pretty or plain permalinks), the
        credentials (and the Authorization header reaching WordPress), and the account's
        capabilities against what publishing needs. Never raises PublishError."""
        result = PublisherCheck(publisher="wordpress", target=self.base_url)
        try:
            self._check(result)
        except PublishError as exc:
            result.problems.append(
                CheckProblem(
                    "unreachable",
                    exc.message,
                    "Check the WordPress address (with http:// or https://) and that the "
                    "site is up and reachable from the machine Inkline runs on.",
                )
            )
        return result

    def _check(self, result: PublisherCheck) -> None:
        index = self._send("GET", self.root, "/wp-json/")
        if not _is_json(index):
            root = self.discover_root()
            self.root_checked = True
            if root is None:
                result.problems.append(
                    CheckProblem(
                        "no_rest_api",
                        f"{self.base_url} does not answer as WordPress: /wp-json/ is not "
                        "WordPress's REST API and the home page announces none.",
                        "Enter the address of the WordPress site itself (its home page), and "
                        "make sure no security plugin or server rule disables the REST API.",
                    )
                )
                return
            self.root = root
            index = self._send("GET", self.root, "/")
        body = index.json() if _is_json(index) else None
        if not isinstance(body, dict) or "wp/v2" not in (body.get("namespaces") or []):
            result.problems.append(
                CheckProblem(
                    "no_rest_api",
                    f"The REST API at {self.root} does not offer WordPress's posts (wp/v2).",
                    "Enter the address of the WordPress site itself, and make sure no plugin "
                    "disables the REST API.",
                )
            )
            return
        result.facts["rest_root"] = self.root
        result.facts["permalinks"] = "plain" if "rest_route=" in self.root else "pretty"
        authentication = body.get("authentication")
        if isinstance(authentication, dict) and "application-passwords" not in authentication:
            result.problems.append(
                CheckProblem(
                    "application_passwords_off",
                    "This WordPress does not offer application passwords.",
                    "Serve WordPress over HTTPS (WordPress offers application passwords only "
                    "there, or with WP_ENVIRONMENT_TYPE set to local), and make sure no "
                    "plugin turns them off.",
                )
            )
        problem = self.credentials_problem()
        self.credentials_checked = True
        if problem is not None:
            result.problems.append(problem)
            return
        me = self._call("GET", "users/me", params={"context": "edit"})
        capabilities = me.get("capabilities") if isinstance(me, dict) else None
        can = capabilities if isinstance(capabilities, dict) else {}
        result.facts["user"] = str(me.get("slug") or self.username)
        result.facts["roles"] = [str(r) for r in me.get("roles") or []]
        needs = {
            "publish_posts": ("cannot_publish", "may not publish posts"),
            "upload_files": ("cannot_upload", "may not upload files (the articles' images)"),
        }
        result.facts["can"] = {
            "publish_posts": bool(can.get("publish_posts")),
            "upload_files": bool(can.get("upload_files")),
            "create_categories": bool(can.get("manage_categories")),
        }
        for capability, (code, what) in needs.items():
            if not can.get(capability):
                result.problems.append(
                    CheckProblem(
                        code,
                        f"The WordPress user '{self.username}' {what}.",
                        "In WordPress, give the user the Author role or higher "
                        "(Users → the user → Role).",
                    )
                )
        if not can.get("manage_categories"):
            result.problems.append(
                CheckProblem(
                    "cannot_create_categories",
                    f"The WordPress user '{self.username}' may not create categories: "
                    "articles are published with the categories that exist, and those "
                    "missing are named on the article.",
                    "Create the categories Inkline uses in WordPress first, or give the user "
                    "the Editor role.",
                    blocking=False,
                )
            )

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
