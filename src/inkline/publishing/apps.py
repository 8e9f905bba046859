from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "inkline.publishing"
    label = "publishing"
