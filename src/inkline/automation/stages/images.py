"""Stage 6, Image Prompts → Images: each prompt's image generated and stored."""

from __future__ import annotations

from django.db.models import QuerySet

from inkline.ai.types import AIProvider, ImageRequest, ImageResult, Usage
from inkline.automation.stages.base import Committed, Stage, WorkItem
from inkline.writer.models import Image
from inkline.writer.selectors import IMAGES_OPEN, images_pending
from inkline.writer.services import ImageFile, image_file_store


class ImageStage(Stage[Image, ImageRequest, ImageResult]):
    number = 6
    name = "Image Prompts → Images"
    noun = "images"
    typical_seconds = 5.0
    yields = 0.25
    description = "Image prompts without an image file. Stage 6 generates the images."
    limit_field = "max_images_per_run"
    operation = "image_generation"
    typical_usage = Usage(calls=1, items=1, images=1)
    model = Image
    unfinished = IMAGES_OPEN

    def pending(self, site_id: int) -> QuerySet[Image]:
        return images_pending(site_id=site_id)

    def build(self, obj: Image) -> WorkItem[ImageRequest]:
        if obj.kind == Image.Kind.FEATURED:
            request = ImageRequest(prompt=obj.prompt, kind="featured", size=(1200, 630))
        else:
            request = ImageRequest(prompt=obj.prompt, kind="in_article", size=(1024, 576))
        return WorkItem(ids=(obj.pk,), payload=request, label=f"image {obj.pk}")

    def call(self, provider: AIProvider, item: WorkItem[ImageRequest]) -> ImageResult:
        return provider.generate_image(item.payload)

    def commit(self, site_id: int, item: WorkItem[ImageRequest], result: ImageResult) -> Committed:
        (image_id,) = item.ids
        image_file_store(
            site_id=site_id,
            image_id=image_id,
            file=ImageFile(
                data=result.data,
                extension=result.extension,
                width=result.width,
                height=result.height,
            ),
            provenance=result.provenance.as_dict(result.usage),
        )
        return Committed(created=1)
