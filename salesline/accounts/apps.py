from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "salesline.accounts"
    label = "accounts"

    def ready(self) -> None:
        from salesline.core.actors import set_role_loader

        from .selectors import roles_of

        set_role_loader(roles_of)
