"""How the two credentials appear in the OpenAPI schema."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "engine.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Token YOUR_API_KEY`: server-to-server calls."}


class AccessTokenScheme(OpenApiAuthenticationExtension):
    target_class = "engine.auth.AccessTokenAuthentication"
    name = "AccessToken"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`AccessToken TOKEN`: browser calls, scoped and short-lived."}
