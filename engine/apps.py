from django.apps import AppConfig


class EngineConfig(AppConfig):
    name = "engine"
    verbose_name = "v3 engine"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from engine import checks, metrics, schema_auth  # noqa: F401  (registers the model check, metrics, schema auth)
