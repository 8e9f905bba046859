"""A real local HTTP server speaking the WordPress REST endpoints the publisher uses.

Posts (created, then read and updated by id), media (uploaded with their fields in the query
string, updated, deleted), categories and tags live in memory; HTTP Basic auth is checked like
an application password; `faults` scripts failures per route ("500", "503", "400_file_type" (an
upload type refused), or "timeout_after_accept": the post is stored, then the answer is held
past the client's timeout); `redirect_to` answers every request with a 302 there;
`make_sizes` False makes media without sub-sizes, like a WordPress whose image library cannot
read the upload's format.

Scheduling as WordPress does it, on the process's clock (time-machine moves it): a post
saved `future` dated less than a minute ahead is published at once, one saved `publish`
dated a minute or more ahead becomes `future`; `run_cron()` publishes the `future` posts
whose date has come (WP-Cron); DELETE moves a post to the trash (`<slug>__trashed`).
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from PIL import Image

API = "/wp-json/wp/v2/"


class WordPress:
    def __init__(self, *, username: str = "editor", password: str = "abcd EFGH 1234 ijkl") -> None:
        self.username = username
        self.password = password
        self.posts: list[dict[str, Any]] = []
        self.media: list[dict[str, Any]] = []
        self.terms: dict[str, list[dict[str, Any]]] = {"categories": [], "tags": []}
        self.faults: dict[str, list[str]] = {}
        self.requests: list[str] = []
        self.updates: list[dict[str, Any]] = []  # bodies of POST posts/<id>, in order
        self.redirect_to = ""
        self.make_sizes = True
        self.deleted: list[int] = []  # media ids deleted, in order
        self.hold_seconds = 3.0
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._next_id = 100
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> WordPress:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._released.set()
        self.server.shutdown()
        self.server.server_close()

    def new_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        wp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting

            def _authorized(self) -> bool:
                expected = base64.b64encode(f"{wp.username}:{wp.password}".encode()).decode()
                return self.headers.get("Authorization") == f"Basic {expected}"

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _route(self, method: str) -> None:
                parts = urlsplit(self.path)
                wp.requests.append(f"{method} {parts.path}")
                if wp.redirect_to:
                    self._send(302, {}, {"Location": wp.redirect_to})
                    return
                if not parts.path.startswith(API):
                    self._send(404, {"code": "rest_no_route"})
                    return
                if not self._authorized():
                    self._send(401, {"code": "rest_not_logged_in", "message": "Not logged in."})
                    return
                route = parts.path[len(API) :].strip("/")
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                fault = wp.faults.get(f"{method} {route}", [])
                kind = fault.pop(0) if fault else ""
                if kind in ("500", "503"):
                    self._send(int(kind), {"code": "internal_server_error", "message": "Oops."})
                    return
                body = self._body() if method == "POST" else b""
                if kind == "400_file_type":
                    message = "Sorry, you are not allowed to upload this file type."
                    self._send(400, {"code": "rest_upload_sideload_error", "message": message})
                    return
                status, answer = wp.handle(method, route, query, body, dict(self.headers))
                if kind == "timeout_after_accept":
                    wp._released.wait(wp.hold_seconds)
                self._send(status, answer)

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def do_DELETE(self) -> None:
                self._route("DELETE")

        return Handler

    @staticmethod
    def _scheduled_status(status: str, date_gmt: str | None) -> str:
        """WordPress's rule (wp_insert_post): `future` needs a date a minute ahead or more."""
        if status not in ("publish", "future") or not date_gmt:
            return status
        date = dt.datetime.fromisoformat(date_gmt).replace(tzinfo=dt.UTC)
        ahead = date - dt.datetime.now(dt.UTC) >= dt.timedelta(minutes=1)
        return "future" if ahead else "publish"

    def run_cron(self) -> list[int]:
        """WP-Cron on a visit: publish the `future` posts whose date has come."""
        done = []
        for post in self.posts:
            if post["status"] == "future":
                post["status"] = self._scheduled_status("future", post["date_gmt"])
                if post["status"] == "publish":
                    done.append(post["id"])
        return done

    def post(self, post_id: int | str) -> dict[str, Any]:
        return next(p for p in self.posts if p["id"] == int(post_id))

    def handle(
        self, method: str, route: str, query: dict[str, str], body: bytes, headers: dict[str, str]
    ) -> tuple[int, Any]:
        if route == "posts" and method == "GET":
            statuses = query.get("status", "publish").split(",")
            rows = [p for p in self.posts if p.get("status", "publish") in statuses]
            if "include" in query:
                wanted = {int(i) for i in query["include"].split(",")}
                return 200, [p for p in rows if p["id"] in wanted]
            return 200, [p for p in rows if p["slug"] == query.get("slug")]
        if route == "media" and method == "GET":
            return 200, [r for r in self.media if r["slug"] == query.get("slug")]
        if route == "posts" and method == "POST":
            data = json.loads(body)
            post = {
                "id": self.new_id(),
                "slug": data["slug"],
                "link": f"{self.url}/{data['slug']}/",
                "status": self._scheduled_status(data.get("status", "draft"), data.get("date_gmt")),
                "title": {"raw": data["title"]},
                "content": {"raw": data["content"]},
                "excerpt": {"raw": data.get("excerpt", "")},
                "date_gmt": data.get("date_gmt"),
                "featured_media": data.get("featured_media", 0),
                "categories": data.get("categories", []),
                "tags": data.get("tags", []),
            }
            self.posts.append(post)
            return 201, post
        single = re.fullmatch(r"posts/(\d+)", route)
        if single:
            post = next((p for p in self.posts if p["id"] == int(single.group(1))), None)
            if post is None:
                return 404, {"code": "rest_post_invalid_id", "message": "Invalid post ID."}
            if method == "DELETE":
                if post["status"] == "trash":
                    return 410, {"code": "rest_already_trashed", "message": "Already trashed."}
                post["status"], post["slug"] = "trash", post["slug"] + "__trashed"
                return 200, post
            if method == "POST":
                data = json.loads(body)
                if "content" in data:
                    post["content"] = {"raw": data["content"]}
                if "date_gmt" in data:
                    post["date_gmt"] = data["date_gmt"]
                if "status" in data or "date_gmt" in data:
                    status = data.get("status", post["status"])
                    post["status"] = self._scheduled_status(status, post["date_gmt"])
                self.updates.append({"id": post["id"], **data})
            return 200, post
        if route == "media" and method == "POST":
            match = re.search(r'filename="([^"]+)"', headers.get("Content-Disposition", ""))
            if not match or not body:
                return 400, {"code": "rest_upload_no_data", "message": "No data supplied."}
            name = match.group(1)
            with Image.open(io.BytesIO(body)) as image:
                width, height = image.size
                kind = image.format
            sizes = {}
            stem, ext = name.rsplit(".", 1)
            uploads = f"{self.url}/wp-content/uploads"
            for size, limit in (("medium", 300), ("large", 1024)):
                if self.make_sizes and width > limit:  # WordPress's default sizes
                    scaled = round(height * limit / width)
                    sizes[size] = {
                        "width": limit,
                        "height": scaled,
                        "source_url": f"{uploads}/{stem}-{limit}x{scaled}.{ext}",
                    }
            item = {
                "id": self.new_id(),
                "slug": query.get("slug") or name.rsplit(".", 1)[0].lower(),
                "title": {"raw": query.get("title", name.rsplit(".", 1)[0])},
                "alt_text": query.get("alt_text", ""),
                "caption": {"raw": query.get("caption", "")},
                "description": {"raw": query.get("description", "")},
                "post": int(query.get("post") or 0) or None,
                "source_url": f"{uploads}/{name}",
                "mime_type": headers.get("Content-Type", ""),
                "format": kind,
                "size": len(body),
                "media_details": {"width": width, "height": height, "sizes": sizes},
            }
            self.media.append(item)
            return 201, item
        one = re.fullmatch(r"media/(\d+)", route)
        if one:
            item = next((m for m in self.media if m["id"] == int(one.group(1))), None)
            if item is None:
                return 404, {"code": "rest_post_invalid_id", "message": "Invalid post ID."}
            if method == "DELETE":
                if query.get("force") != "true":
                    return 501, {"code": "rest_trash_not_supported", "message": "No trash."}
                self.media.remove(item)
                self.deleted.append(item["id"])
                return 200, {"deleted": True, "previous": item}
            if method == "POST":
                data = json.loads(body)
                for key in ("alt_text", "post"):
                    if key in data:
                        item[key] = data[key]
            return 200, item
        if route in self.terms:
            terms = self.terms[route]
            if method == "GET":
                search = query.get("search", "").lower()
                return 200, [t for t in terms if search in t["name"].lower()]
            term = {"id": self.new_id(), "name": json.loads(body)["name"]}
            terms.append(term)
            return 201, term
        return 404, {"code": "rest_no_route"}
