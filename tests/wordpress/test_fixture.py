"""The real WordPress the tests in this folder use: both accounts authenticate with their
application passwords, the REST API answers under both permalink structures, and the
Authorization header can be dropped on the way."""

from __future__ import annotations

import requests

from tests.wordpress.server import PLAIN, RealWordPress


def me(wp: RealWordPress, url: str, auth: tuple[str, str]) -> requests.Response:
    return requests.get(url, params={"context": "edit"}, auth=auth, timeout=30)


def test_both_accounts_authenticate_with_their_application_passwords(
    wordpress: RealWordPress,
) -> None:
    for account, role in ((wordpress.admin, "administrator"), (wordpress.author, "author")):
        answer = me(
            wordpress,
            f"{wordpress.url}/wp-json/wp/v2/users/me",
            (account.username, account.password),
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["roles"] == [role]
    wrong = me(wordpress, f"{wordpress.url}/wp-json/wp/v2/users/me", ("admin", "wrong password"))
    assert wrong.status_code == 401


def test_plain_permalinks_move_the_rest_api_to_rest_route(wordpress: RealWordPress) -> None:
    wordpress.set_permalinks(PLAIN)
    pretty = requests.get(f"{wordpress.url}/wp-json/wp/v2/posts", timeout=30)
    assert pretty.history[0].status_code == 301
    assert pretty.headers["Content-Type"].startswith("text/html")  # the home page
    root = requests.get(wordpress.url + "/", timeout=30)
    assert '?rest_route=/>; rel="https://api.w.org/"' in root.headers["Link"]
    posts = requests.get(f"{wordpress.url}/index.php?rest_route=/wp/v2/posts", timeout=30)
    assert posts.status_code == 200 and posts.json() == []


def test_a_stripped_authorization_header_reaches_wordpress_as_anonymous(
    wordpress: RealWordPress,
) -> None:
    auth = (wordpress.admin.username, wordpress.admin.password)
    with wordpress.authorization_stripped():
        answer = me(wordpress, f"{wordpress.url}/wp-json/wp/v2/users/me", auth)
    assert answer.status_code == 401
    assert answer.json()["code"] == "rest_not_logged_in"
    assert me(wordpress, f"{wordpress.url}/wp-json/wp/v2/users/me", auth).status_code == 200


def test_uploads_are_stored_and_served(wordpress: RealWordPress) -> None:
    auth = (wordpress.admin.username, wordpress.admin.password)
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
    )
    media = requests.post(
        f"{wordpress.url}/wp-json/wp/v2/media",
        data=png,
        headers={
            "Content-Type": "image/png",
            "Content-Disposition": 'attachment; filename="a.png"',
        },
        auth=auth,
        timeout=30,
    )
    assert media.status_code == 201, media.text
    served = requests.get(media.json()["source_url"], timeout=30)
    assert served.status_code == 200 and served.content == png
