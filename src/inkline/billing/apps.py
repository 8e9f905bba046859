from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "inkline.billing"
    label = "billing"
