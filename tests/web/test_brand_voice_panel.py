"""The brand voice panel of the site settings page: editors change it (by the API's rules,
errors next to their fields), viewers read it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from inkline.accounts.models import Account, BrandVoice, Role, Site
from inkline.accounts.services import brand_voice_update
from inkline.writer.models import Content
from tests.factories import add_tasks, only_stages, run_now
from tests.web.builders import member

pytestmark = pytest.mark.django_db


def voice_form(**changes: Any) -> dict[str, Any]:
    data = {
        "voice": "Warm, practical.",
        "audience": "Home baristas",
        "words_to_use": "ratio\nbloom",
        "words_to_avoid": "synergy, game changer\n\nSynergy",
        "reading_ease": "60",
        "point_of_view": "we",
        "example": "We weigh the coffee first.",
    }
    return data | changes


@pytest.fixture
def owner(client: Client, account: Account) -> Client:
    client.login(username="owner", password="pw")
    return client


def test_an_editor_saves_the_voice_and_sees_it_again(owner: Client, site: Site) -> None:
    page = owner.get(f"/sites/{site.pk}/settings/").content.decode()
    assert 'id="brand-voice-form"' in page and "Save brand voice" in page

    response = owner.post(f"/sites/{site.pk}/settings/voice/", voice_form(), follow=True)

    assert response.redirect_chain[-1][0] == f"/sites/{site.pk}/settings/"
    assert "Brand voice saved." in response.content.decode()
    row = BrandVoice.objects.get(site=site)
    assert row.words_to_use == ["ratio", "bloom"]
    assert row.words_to_avoid == ["synergy", "game changer"]
    assert (row.reading_ease, row.point_of_view, row.voice) == (60, "we", "Warm, practical.")
    page = response.content.decode()
    assert re.search(r"<textarea[^>]*id=\"id_words_to_avoid\"[^>]*>\s*synergy\ngame changer<", page)
    assert re.search(r'<option value="we" selected>', page)

    owner.post(f"/sites/{site.pk}/settings/voice/", voice_form(reading_ease="", words_to_avoid=""))
    row.refresh_from_db()
    assert row.reading_ease is None and row.words_to_avoid == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reading_ease": "101"}, "reading_ease"),
        ({"point_of_view": "I"}, "point_of_view"),
        ({"words_to_avoid": "\n".join(f"w{i}" for i in range(51))}, "words_to_avoid"),
        ({"words_to_use": "x" * 61}, "words_to_use"),
        ({"voice": "x" * 1001}, "voice"),
    ],
)
def test_bad_input_is_shown_next_to_its_field_and_nothing_is_saved(
    owner: Client, site: Site, changes: dict[str, str], field: str
) -> None:
    response = owner.post(f"/sites/{site.pk}/settings/voice/", voice_form(**changes))
    assert response.status_code == 200
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not BrandVoice.objects.exists()


def test_a_viewer_reads_the_voice_and_cannot_post_it(
    client: Client, account: Account, site: Site
) -> None:
    brand_voice_update(site=site, words_to_avoid=["synergy", "hype"], reading_ease=65)
    member(account, "viewer", Role.VIEWER)
    client.login(username="viewer", password="pw")
    page = client.get(f"/sites/{site.pk}/settings/").content.decode()
    assert 'id="brand-voice-form"' not in page
    summary = page[page.index('id="brand-voice-summary"') :]
    assert "synergy, hype" in summary and "<td>65</td>" in summary
    response = client.post(f"/sites/{site.pk}/settings/voice/", voice_form())
    assert response.status_code == 403
    assert BrandVoice.objects.get(site=site).words_to_avoid == ["synergy", "hype"]


def test_the_article_page_shows_how_it_was_written_and_in_which_voice(
    owner: Client, site: Site
) -> None:
    """Stage 4 stores the provider, model, prompt and the voice sent; the article page shows
    them ("How it was written"), words escaped, and says when no voice was set."""
    add_tasks(site, 2)
    only_stages(site, 4, max_tasks_per_run=1)
    assert run_now(site).status == "completed"
    brand_voice_update(
        site=site, voice="Warm & plain", words_to_avoid=["synergy", "<b>leverage</b>"]
    )
    assert run_now(site).status == "completed"
    plain, voiced = Content.objects.filter(site=site).order_by("pk")
    assert "brand_voice" not in plain.provenance
    assert voiced.provenance["brand_voice"]["voice"] == "Warm & plain"

    page = owner.get(f"/content/{voiced.pk}/").content.decode()
    section = page[page.index('id="provenance"') :]
    assert "How it was written" in section
    assert voiced.provenance["prompt_version"] in section
    assert "Warm &amp; plain" in section
    assert "synergy, &lt;b&gt;leverage&lt;/b&gt;" in section
    plain_page = owner.get(f"/content/{plain.pk}/").content.decode()
    assert "none set when it was written" in plain_page
