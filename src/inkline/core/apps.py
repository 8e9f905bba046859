from django.apps import AppConfig

from inkline.core import converters  # noqa: F401  (registers `<id:…>` before any URLconf)


class CoreConfig(AppConfig):
    name = "inkline.core"
    label = "core"

    def ready(self) -> None:
        from inkline.core import openapi  # noqa: F401  (registers the schema extensions)
