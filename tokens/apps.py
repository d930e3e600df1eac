"""Token minting: the browser's only way to obtain a v3 access token."""
from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "tokens"
    verbose_name = "Token minting"
