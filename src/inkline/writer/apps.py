from django.apps import AppConfig


class WriterConfig(AppConfig):
    name = "inkline.writer"
    label = "writer"
