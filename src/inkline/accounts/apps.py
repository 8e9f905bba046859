from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "inkline.accounts"
    label = "accounts"
