"""The editor (`/`), the embed page and the ops review page."""
from django.templatetags.static import static
from django.urls import path
from django.views.generic.base import RedirectView

from editor import views

urlpatterns = [
    path("", views.editor_page, name="editor"),
    path("embed/", views.embed_page, name="embed"),
    path("ops/", views.ops_jobs, name="ops"),
    # Browsers ask for /favicon.ico whatever the page links: send them to the SVG icon.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
]
