from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "inkline.core"
    label = "core"
