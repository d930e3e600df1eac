"""The API docs page: drf-spectacular's Redoc, served whole by this site."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView

# Redoc and the schema come from this site (drf-spectacular-sidecar, REDOC_DIST "SIDECAR"), and the page's
# template leaves out web fonts. Redoc's sidebar still asks cdn.redoc.ly for its logo, whatever its options
# say: this policy stops that request, so no third party learns who reads the docs, and the page is the
# same on a host without internet access.
DOCS_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline'",  # the template's inline Redoc.init call
    "style-src 'self' 'unsafe-inline'",  # Redoc's styled-components
    "img-src 'self' data:",
    "worker-src 'self' blob:",  # Redoc's search index
    "frame-ancestors 'none'",
))


class ApiDocsView(SpectacularRedocView):
    @extend_schema(exclude=True)  # the page itself is not part of the API (as in the class it extends)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_POLICY
        return response
