"""The browser editor, the embed page and the ops review page (HTTP to v3 only, never the engine)."""
from django.apps import AppConfig


class EditorConfig(AppConfig):
    name = "editor"
    verbose_name = "Editor"

    def ready(self):
        from django.contrib.auth.signals import user_login_failed

        from editor.signin import on_login_failed

        # Every failed sign-in counts, from the site's form and the admin's alike.
        user_login_failed.connect(on_login_failed, dispatch_uid="bgcut-signin-failures")
