"""The editor (`/`), the embed page and the ops review page."""
from django.urls import path

from editor import views

urlpatterns = [
    path("", views.editor_page, name="editor"),
    path("embed/", views.embed_page, name="embed"),
    path("ops/", views.ops_jobs, name="ops"),
]
