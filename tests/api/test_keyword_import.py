"""Keyword import over the API: all or nothing; bad CSV input gets clear per-line errors."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inkline.planner.models import Cluster, Keyword
from tests.api.conftest import World, client

pytestmark = pytest.mark.django_db


def upload(world: World, data: bytes) -> Any:
    return client(world.owner).post(
        f"/api/v1/sites/{world.site.pk}/keywords/import/",
        {"file": SimpleUploadedFile("keywords.csv", data, content_type="text/csv")},
        format="multipart",
    )


def phrases(world: World) -> set[str]:
    return set(Keyword.objects.filter(site=world.site).values_list("phrase", flat=True))


MESSY = [
    "Keyword,Volume,Difficulty,Intent",  # 1: header, any case
    "espresso tamper,1200,35,commercial",  # 2
    "",  # 3: blank lines are neither keywords nor errors
    "  ESPRESSO   Tamper ,90,,",  # 4: duplicate of line 2 (case, spaces)
    '=HYPERLINK("http://evil"),10,,',  # 5: formula injection
    "+cmd|' /C calc'!A0,,,",  # 6
    "-2+3,,,",  # 7
    "@SUM(A1:A2),,,",  # 8
    "x" * 256 + ",,,",  # 9: overlong
    "milk frother,lots,,",  # 10: bad volume
    "latte art,,101,",  # 11: difficulty out of range
    "moka pot,,,curious",  # 12: unknown intent
    ",5,,",  # 13: empty keyword
    "cold brew ratio,,,",  # 14: duplicate of a keyword the site already has
    '"pour over, explained",300,20,informational',  # 15: quoted comma
    "café crème,40,,",  # 16: non-ASCII in UTF-8
    "bad\x00byte,,,",  # 17: a NUL character
    "  ",  # 18: whitespace-only line
    "turkish coffee,,,navigational",  # 19
]
BAD_LINES = [5, 6, 7, 8, 9, 10, 11, 12, 13, 17, 20]


def messy(lines: list[str]) -> bytes:
    # Line 20 is Latin-1, not UTF-8; line 21 is fine.
    return "\r\n".join(lines).encode() + b"\r\ngr\xfcner tee,,,\r\ndecaf beans,7,,\r\n"


def test_a_messy_file_imports_nothing_and_explains_every_bad_line(world: World) -> None:
    before = phrases(world)
    response = upload(world, messy(MESSY))
    assert response.status_code == 200, response.content
    report = response.json()
    assert (report["created"], report["duplicates"]) == (0, 0)
    errors = {e["line"]: e["error"] for e in report["errors"]}
    assert sorted(errors) == BAD_LINES
    for line in (5, 6, 7, 8):
        assert "formula" in errors[line]
    assert "longer than 255" in errors[9]
    assert "volume must be a whole number" in errors[10]
    assert "difficulty must be between 0 and 100" in errors[11]
    assert "intent must be one of" in errors[12]
    assert "keyword is empty" in errors[13]
    assert "control characters" in errors[17]
    assert "not UTF-8" in errors[20]
    assert phrases(world) == before  # all or nothing: not one good line was kept

    # The same file with its bad lines fixed (here: removed) imports every good line.
    fixed = [line for n, line in enumerate(MESSY, start=1) if n not in BAD_LINES]
    response = upload(world, b"\r\n".join(x.encode() for x in fixed) + b"\r\ndecaf beans,7,,")
    report = response.json()
    assert report == {"created": 5, "duplicates": 2, "errors": []}
    assert phrases(world) - before == {
        "espresso tamper",
        "pour over, explained",
        "café crème",
        "turkish coffee",
        "decaf beans",
    }
    tamper = Keyword.objects.get(site=world.site, phrase="espresso tamper")
    assert (tamper.volume, tamper.difficulty, tamper.intent) == (1200, 35, "commercial")


def test_line_counts_match_created_rows(world: World) -> None:
    before = Keyword.objects.filter(site=world.site).count()
    response = upload(world, b"keyword\nalpha one\nalpha two\n\n\nalpha three\n")
    assert response.json() == {"created": 3, "duplicates": 0, "errors": []}
    assert Keyword.objects.filter(site=world.site).count() == before + 3


def test_a_file_without_a_keyword_column_is_400(world: World) -> None:
    response = upload(world, b"phrase,volume\nespresso,10\n")
    assert response.status_code == 400
    assert "keyword" in response.json()["file"][0]
    assert upload(world, b"").status_code == 400
    assert upload(world, b"\x89PNG\r\n\x1a\n\x00\x00binary").status_code == 400


def test_utf16_with_a_bom_is_read(world: World) -> None:
    response = upload(world, "keyword\nthé vert\n".encode("utf-16"))
    assert response.json()["created"] == 1
    assert "thé vert" in phrases(world)


def test_a_file_over_the_limit_is_413_and_imports_nothing(world: World, settings: Any) -> None:
    before = Keyword.objects.count()
    row = b"a keyword that repeats with a number %d\n"
    big = b"keyword\n" + b"".join(row % i for i in range(200_000))  # ~8 MB
    assert len(big) > settings.INKLINE_IMPORT_MAX_BYTES
    response = upload(world, big)
    assert response.status_code == 413
    assert "MB" in response.json()["detail"]
    settings.INKLINE_IMPORT_MAX_BYTES = 100
    assert upload(world, b"keyword\n" + b"x" * 200 + b"\n").status_code == 413
    too_big_json = client(world.owner).post(
        f"/api/v1/sites/{world.site.pk}/keywords/import/",
        {"keywords": [{"keyword": "y" * 200}]},
        format="json",
    )
    assert too_big_json.status_code == 413
    assert Keyword.objects.count() == before


def test_json_rows_are_checked_one_by_one_and_imported_all_or_nothing(world: World) -> None:
    response = client(world.owner).post(
        f"/api/v1/sites/{world.site.pk}/keywords/import/",
        {
            "keywords": [
                {"keyword": "siphon brewer", "volume": 50, "intent": "commercial"},
                {"keyword": "Siphon  BREWER"},
                {"keyword": ""},
                "not an object",
                {"keyword": ["a", "list"]},
                {"keyword": "ibrik", "difficulty": 200},
                {"keyword": "chemex"},
            ]
        },
        format="json",
    )
    assert response.status_code == 200
    report = response.json()
    assert (report["created"], report["duplicates"]) == (0, 0)
    assert [e["line"] for e in report["errors"]] == [3, 4, 5, 6]
    assert not {"siphon brewer", "chemex"} & phrases(world)
    good = client(world.owner).post(
        f"/api/v1/sites/{world.site.pk}/keywords/import/",
        {
            "keywords": [
                {"keyword": "siphon brewer"},
                {"keyword": "Siphon  BREWER"},
                {"keyword": "chemex"},
            ]
        },
        format="json",
    )
    assert good.json() == {"created": 2, "duplicates": 1, "errors": []}
    assert {"siphon brewer", "chemex"} <= phrases(world)
    bad = client(world.owner).post(
        f"/api/v1/sites/{world.site.pk}/keywords/import/", {"keywords": "x"}, format="json"
    )
    assert bad.status_code == 400
    assert list(bad.json()) == ["keywords"]


def test_keyword_list_filters_by_status_and_cluster(world: World) -> None:
    api = client(world.owner)
    url = f"/api/v1/sites/{world.site.pk}/keywords/"
    upload(world, b"keyword\nunclustered one\n")
    everything = api.get(url).json()
    assert everything["count"] == Keyword.objects.filter(site=world.site).count()
    new = api.get(url, {"status": "new"}).json()["results"]
    assert [k["keyword"] for k in new] == ["unclustered one"]
    assert new[0]["cluster"] is None
    cluster = Cluster.objects.filter(site=world.site).first()
    assert cluster is not None
    in_cluster = api.get(url, {"cluster": cluster.pk}).json()["results"]
    assert in_cluster
    assert {k["cluster"] for k in in_cluster} == {cluster.pk}
    assert len(in_cluster) == cluster.keywords.count()
    bad = api.get(url, {"status": "sideways"})
    assert bad.status_code == 400
    assert list(bad.json()) == ["status"]
    assert api.get(url, {"page_size": 1}).json()["next"] is not None


def test_keywords_of_markup_alone_are_refused_line_by_line(world: World) -> None:
    """Issue 20, bug 5: `<img src=x onerror=…>` has no letters or digits once its markup is
    removed; it became an idea with an empty keyword and an article titled ": The Basics"."""
    data = (
        b"keyword\n"
        b"<img src=x onerror=alert(1)>\n"
        b"<b>bold coffee</b>\n"
        b"<script></script>&nbsp;\n"
        b"!!! ???\n"
        b"cold brew\n"
    )
    before = phrases(world)
    response = upload(world, data)
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 0
    errors = {e["line"]: e["error"] for e in response.json()["errors"]}
    assert set(errors) == {2, 4, 5}
    assert all("no letters or digits" in e for e in errors.values())
    assert phrases(world) == before
