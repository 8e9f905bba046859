"""Images: stage 5 stores an article's image prompts, stage 6 each image's file."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import transaction

from inkline.core.errors import ItemGone
from inkline.core.files import written
from inkline.core.text import sanitize_text
from inkline.writer.models import Content, Image
from inkline.writer.quality import content_seo_refresh
from inkline.writer.selectors import CONTENT_WITHOUT_PROMPTS, IMAGES_OPEN

_NOT_EXTENSION = re.compile(r"[^a-z0-9]")


@dataclass(frozen=True)
class ImagePromptDraft:
    """An image the AI wants for an article (unsanitized): `kind` is featured or in_article,
    `position` 0 for the featured image, else the H2 section it follows."""

    kind: str
    position: int
    prompt: str
    alt_text: str


@dataclass(frozen=True)
class ImageFile:
    """A generated image: the encoded file and its pixel size."""

    data: bytes
    extension: str  # "png", "webp", "jpg"
    width: int = 0
    height: int = 0


def image_prompts_store(
    *,
    site_id: int,
    content_id: int,
    prompts: Sequence[ImagePromptDraft],
    provenance: Mapping[str, object],
) -> int:
    """Store an article's image rows (prompt and alt text sanitized; an unknown kind is
    dropped, and of two prompts for one place the last wins), mark its prompts extracted and
    refresh its SEO score (the alt texts count). Returns the images stored. Raises `ItemGone`
    when the article is no longer in review waiting for its prompts."""
    with transaction.atomic(savepoint=False):
        if not Content.objects.filter(
            CONTENT_WITHOUT_PROMPTS, pk=content_id, site_id=site_id
        ).update(prompts_extracted=True, last_error=""):
            raise ItemGone
        images = {
            (p.kind, p.position): Image(
                content_id=content_id,
                site_id=site_id,
                kind=p.kind,
                position=p.position,
                prompt=sanitize_text(p.prompt),
                alt_text=sanitize_text(p.alt_text)[:255],
                provenance=dict(provenance),
            )
            for p in prompts
            if p.kind in Image.Kind.values
        }
        Image.objects.bulk_create(images.values())
        content_seo_refresh(content_id=content_id)
    return len(images)


def image_file_store(
    *, site_id: int, image_id: int, file: ImageFile, provenance: Mapping[str, object]
) -> str:
    """Store an image's file and mark the image done; returns the file's name in storage.

    The file is written before the row that names it commits: it is recorded with
    `inkline.core.files.written`, so it goes if the item's transaction rolls back. Raises
    `ItemGone` when the image no longer waits for its file (the file is removed then too)."""
    image = Image.objects.filter(IMAGES_OPEN, pk=image_id, site_id=site_id).first()
    if image is None:
        raise ItemGone
    extension = _NOT_EXTENSION.sub("", file.extension.lower())[:8] or "png"
    image.file.save(f"{site_id}-{image_id}.{extension}", ContentFile(file.data), save=False)
    written(image.file.storage, image.file.name)
    updated = Image.objects.filter(IMAGES_OPEN, pk=image_id).update(
        status=Image.Status.DONE,
        file=image.file.name,
        width=file.width,
        height=file.height,
        provenance=dict(provenance),
        last_error="",
    )
    if not updated:
        image.file.delete(save=False)
        raise ItemGone
    return str(image.file.name)
