"""The AI tool endpoints: thin views over engine.tools."""
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from engine import schemas, tools
from engine import serializers as bodies
from engine.serializers import request_validate
from engine.views import V3View


class RemoveBgView(V3View):
    @extend_schema(request=bodies.RemoveBgSerializer, responses=schemas.RemoveBgResponse)
    def post(self, request):
        parsed = request_validate(bodies.RemoveBgSerializer, request.data)
        stored = tools.removebg_process(account=request.user, request=parsed)
        field = "output_keys" if parsed.output_field == "output_key" else "output_file_paths"
        return Response({field: [f.path for f in stored]})


class AICutView(V3View):
    @extend_schema(request=bodies.AICutSerializer, responses=schemas.AICutResponse)
    def post(self, request):
        parsed = request_validate(bodies.AICutSerializer, request.data)
        stored = tools.aicut_segment(account=request.user, request=parsed)
        field = "output_key" if parsed.output_field == "output_key" else "output_file_path"
        return Response({field: stored.path})
