"""Stages 5 and 6's writes on the database without the engine: `image_prompts_store` (image
rows sanitized, the SEO score refreshed) and `image_file_store` (the file stored, and removed
again when the item's transaction rolls back)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.db import transaction

from inkline.accounts.models import Site
from inkline.core.errors import ItemGone
from inkline.core.files import removed_on_rollback
from inkline.writer.models import Content, Image
from inkline.writer.services import (
    ArticleDraft,
    ImageFile,
    ImagePromptDraft,
    content_create_from_draft,
    image_file_store,
    image_prompts_store,
)
from tests.factories import add_tasks

pytestmark = pytest.mark.django_db

PROVENANCE = {"provider": "test", "model": "m", "prompt_version": "1"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def article(site: Site) -> Content:
    (task,) = add_tasks(site, 1)
    draft = ArticleDraft(
        title="Coffee topic 0 guide",
        html="<h2>Coffee topic 0</h2><p>Plain words about coffee topic 0.</p>",
        meta_description="All about coffee topic 0.",
        slug="",
    )
    return content_create_from_draft(site_id=site.pk, task=task, draft=draft, provenance={})


def prompt(kind: str = "featured", position: int = 0, **fields: str) -> ImagePromptDraft:
    values = {"prompt": f"A {kind} image", "alt_text": f"{kind} {position}"}
    values.update(fields)
    return ImagePromptDraft(kind=kind, position=position, **values)


def pending_image(site: Site) -> Image:
    content = article(site)
    image_prompts_store(
        site_id=site.pk, content_id=content.pk, prompts=[prompt()], provenance=PROVENANCE
    )
    return Image.objects.get(content=content)


# --- image_prompts_store -------------------------------------------------------------------
def test_prompts_become_pending_images_and_the_article_is_marked(site: Site) -> None:
    content = article(site)
    Content.objects.filter(pk=content.pk).update(attempts=1, last_error="timeout")

    stored = image_prompts_store(
        site_id=site.pk,
        content_id=content.pk,
        prompts=[prompt(), prompt("in_article", 1), prompt("in_article", 2)],
        provenance=PROVENANCE,
    )

    assert stored == 3
    images = list(Image.objects.filter(content=content))
    assert [(i.kind, i.position) for i in images] == [
        ("featured", 0), ("in_article", 1), ("in_article", 2)
    ]  # fmt: skip
    assert all(i.status == Image.Status.PENDING and i.site_id == site.pk for i in images)
    assert images[0].provenance == PROVENANCE
    content.refresh_from_db()
    assert content.prompts_extracted and content.last_error == ""


def test_prompts_are_sanitized_unknown_kinds_dropped_and_one_image_per_place(
    site: Site,
) -> None:
    content = article(site)

    stored = image_prompts_store(
        site_id=site.pk,
        content_id=content.pk,
        prompts=[
            prompt(prompt="<script>x()</script>first", alt_text="first"),
            prompt(prompt="<b>Latte</b> art", alt_text="<img src=x onerror=y()>Latte " + "a" * 300),
            prompt("banner", 0),
        ],
        provenance=PROVENANCE,
    )

    assert stored == 1
    image = Image.objects.get(content=content)
    assert image.prompt == "Latte art"  # the last prompt for a place wins
    assert image.alt_text.startswith("Latte ") and len(image.alt_text) == 255


def test_the_seo_report_counts_the_new_images_alt_texts(site: Site) -> None:
    content = article(site)
    checks = {r["check"]: r for r in Content.objects.get(pk=content.pk).seo_report}
    assert checks["image_alt_text"]["message"] == "The article has no images."

    image_prompts_store(
        site_id=site.pk,
        content_id=content.pk,
        prompts=[prompt(), prompt("in_article", 1, alt_text="")],
        provenance=PROVENANCE,
    )

    checks = {r["check"]: r for r in Content.objects.get(pk=content.pk).seo_report}
    assert checks["image_alt_text"]["message"] == "1 of 2 images have no alt text."
    assert not checks["image_alt_text"]["passed"]


@pytest.mark.parametrize("change", ["extracted", "approved", "deleted"])
def test_an_article_no_longer_waiting_for_prompts_is_gone(site: Site, change: str) -> None:
    content = article(site)
    match change:
        case "extracted":
            Content.objects.filter(pk=content.pk).update(prompts_extracted=True)
        case "approved":
            Content.objects.filter(pk=content.pk).update(status=Content.Status.APPROVED)
        case _:
            Content.objects.filter(pk=content.pk).delete()

    with pytest.raises(ItemGone), transaction.atomic():
        image_prompts_store(
            site_id=site.pk, content_id=content.pk, prompts=[prompt()], provenance={}
        )

    assert not Image.objects.exists()


# --- image_file_store ----------------------------------------------------------------------
def test_the_file_is_stored_and_the_image_done(site: Site) -> None:
    image = pending_image(site)
    Image.objects.filter(pk=image.pk).update(attempts=2, last_error="timeout")

    name = image_file_store(
        site_id=site.pk,
        image_id=image.pk,
        file=ImageFile(data=PNG, extension="png", width=1200, height=630),
        provenance=PROVENANCE,
    )

    image.refresh_from_db()
    assert image.status == Image.Status.DONE and image.last_error == ""
    assert image.file.name == name
    assert stored_as(name, f"{site.pk}-{image.pk}", "png")
    assert (image.width, image.height, image.provenance) == (1200, 630, PROVENANCE)
    with default_storage.open(name) as stored:
        assert stored.read() == PNG


def test_an_extension_from_the_provider_cannot_leave_the_media_folder(site: Site) -> None:
    image = pending_image(site)

    name = image_file_store(
        site_id=site.pk,
        image_id=image.pk,
        file=ImageFile(data=PNG, extension="../../etc/PNG"),
        provenance={},
    )

    assert stored_as(name, f"{site.pk}-{image.pk}", "etcpng")
    assert default_storage.exists(name)


def test_the_file_goes_when_the_items_transaction_rolls_back(site: Site) -> None:
    image = pending_image(site)
    stored: list[str] = []

    with pytest.raises(RuntimeError), removed_on_rollback(), transaction.atomic():
        stored.append(
            image_file_store(
                site_id=site.pk, image_id=image.pk, file=ImageFile(PNG, "png"), provenance={}
            )
        )
        assert default_storage.exists(stored[0])
        raise RuntimeError("the credit capture failed")  # anything after the write

    assert not default_storage.exists(stored[0])
    image.refresh_from_db()
    assert image.status == Image.Status.PENDING and not image.file


def test_the_file_stays_when_the_items_transaction_commits(site: Site) -> None:
    image = pending_image(site)

    with removed_on_rollback(), transaction.atomic():
        name = image_file_store(
            site_id=site.pk, image_id=image.pk, file=ImageFile(PNG, "png"), provenance={}
        )

    assert default_storage.exists(name)
    assert Image.objects.get(pk=image.pk).status == Image.Status.DONE


@pytest.mark.parametrize("change", ["done", "deleted", "other site"])
def test_an_image_no_longer_pending_is_gone_and_no_file_is_left(site: Site, change: str) -> None:
    image = pending_image(site)
    site_id = site.pk
    match change:
        case "done":
            Image.objects.filter(pk=image.pk).update(status=Image.Status.DONE)
        case "deleted":
            Image.objects.filter(pk=image.pk).delete()
        case _:
            site_id = site.pk + 1000
    before = set(_media_files())

    with pytest.raises(ItemGone), removed_on_rollback(), transaction.atomic():
        image_file_store(
            site_id=site_id, image_id=image.pk, file=ImageFile(PNG, "png"), provenance={}
        )

    assert set(_media_files()) == before


def stored_as(name: str, stem: str, extension: str) -> bool:
    """The storage keeps `stem.extension`, or adds a suffix to the stem when a file of that
    name is left from an earlier test (ids are reused after a rollback)."""
    return re.fullmatch(rf"{stem}(_\w+)?\.{extension}", Path(name).name) is not None


def _media_files() -> list[Path]:
    root = Path(default_storage.location)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
