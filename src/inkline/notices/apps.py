from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "inkline.notices"
    label = "notices"
