"""Django's CommonMiddleware, with JSON answers under /v3/."""
from __future__ import annotations

from django.http import JsonResponse
from django.middleware.common import CommonMiddleware
from django.utils.http import escape_leading_slashes


class V3CommonMiddleware(CommonMiddleware):
    """Under /v3/ a URL missing its trailing slash gets a 308 (method and body kept) with a JSON body.

    Django's own answer is an HTML-less 301, which turns a POST into a GET (and in DEBUG, an error).
    """

    def process_response(self, request, response):
        if (response.status_code == 404 and request.path_info.startswith("/v3/")
                and self.should_redirect_with_slash(request)):
            location = escape_leading_slashes(request.get_full_path(force_append_slash=True))
            response = JsonResponse({"detail": f"This URL needs a trailing slash: call {location} instead."},
                                    status=308, headers={"Location": location})
        return super().process_response(request, response)
