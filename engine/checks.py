"""Start-up checks: a missing or corrupt model is a clear error, never a silent fallback."""
from django.core.checks import Error, register

from vision.models import ModelMissing


@register("models", deploy=False)
def models_present(app_configs, **kwargs):
    from engine.inference import models_check

    try:
        models_check()
    except ModelMissing as error:
        return [Error(str(error), hint="Run `make models` (or `python -m vision.model_fetch`).", id="engine.E001")]
    return []
