from django.apps import AppConfig


class AutomationConfigApp(AppConfig):
    name = "inkline.automation"
    label = "automation"
