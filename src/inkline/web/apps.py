from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "inkline.web"
    label = "web"
