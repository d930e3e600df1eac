from django.apps import AppConfig


class EngineConfig(AppConfig):
    name = "engine"
    verbose_name = "v3 engine"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.core.signals import request_finished

        from engine import checks, inference, metrics, schema_auth  # noqa: F401  (registers the model check, metrics, schema auth)

        # After the response is sent (gunicorn closes the response once its bytes are written).
        request_finished.connect(inference.memory_trim_if_due, dispatch_uid="engine.memory_trim_if_due")
