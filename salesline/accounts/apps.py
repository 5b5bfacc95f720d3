from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "salesline.accounts"
    label = "accounts"
