"""The browser editor, the embed page and the ops review page (HTTP to v3 only, never the engine)."""
from django.apps import AppConfig


class EditorConfig(AppConfig):
    name = "editor"
    verbose_name = "Editor"
