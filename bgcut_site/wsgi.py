"""WSGI entry point (gunicorn bgcut_site.wsgi). Refuses to start with a missing or corrupt model."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bgcut_site.settings")
django_application = get_wsgi_application()

from engine.inference import models_check  # noqa: E402  (needs the settings loaded above)

models_check()


def application(environ, start_response):
    """The site is always mounted at /: a SCRIPT_NAME never decides which view runs.

    gunicorn takes SCRIPT_NAME from a request header (from forwarded_allow_ips clients) or from the
    environment and strips it off PATH_INFO, so `SCRIPT_NAME: /v3/files` on `/v3/files/v3/file-ops/list/`
    would route to the listing. Putting the prefix back routes the URL that was actually requested.
    gunicorn.conf.py also drops the header; this holds under any WSGI server.
    """
    script_name = environ.get("SCRIPT_NAME", "")
    if script_name:
        environ["PATH_INFO"] = script_name + environ.get("PATH_INFO", "")
        environ["SCRIPT_NAME"] = ""
    return django_application(environ, start_response)
