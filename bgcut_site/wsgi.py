"""WSGI entry point (gunicorn bgcut_site.wsgi). Refuses to start with a missing or corrupt model."""
import os

from django.core.wsgi import get_wsgi_application

from vision.memory import memory_arenas_limit

memory_arenas_limit(2)  # before the server's threads start allocating: see vision/memory.py

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bgcut_site.settings")
application = get_wsgi_application()

from engine.inference import models_check  # noqa: E402  (needs the settings loaded above)

models_check()
