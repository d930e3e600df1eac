"""The editor (`/`), the embed page and its tickets, and the ops review page."""
from django.urls import path

from editor import views

urlpatterns = [
    path("", views.editor_page, name="editor"),
    path("embed/", views.embed_page, name="embed"),
    path("embed/ticket/", views.embed_ticket, name="embed-ticket"),
    path("ops/", views.ops_jobs, name="ops"),
]
