from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "inkline.core"
    label = "core"

    def ready(self) -> None:
        from inkline.core import openapi  # noqa: F401  (registers the schema extensions)
