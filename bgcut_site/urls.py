"""Root URLs: the embedded v3 engine, token minting, the editor, admin and API docs."""
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from bgcut_site.api_docs import ApiDocsView
from editor.views import signin_throttled
from engine.errors import json_400, json_403, json_404, json_500
from engine.health import healthz, readyz
from lib.metrics import metrics_view

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("v3/", include("engine.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    # Both sign-in forms, throttled per username and per client address (editor/signin.py).
    path("admin/login/", signin_throttled(admin.site.login)),
    path("admin/", admin.site.urls),
    path("accounts/login/", signin_throttled(auth_views.LoginView.as_view())),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("tokens.urls")),
    path("", include("editor.urls")),
]

handler400 = json_400
handler403 = json_403
handler404 = json_404
handler500 = json_500
