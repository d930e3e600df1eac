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
        stored, selection = tools.aicut_segment(account=request.user, request=parsed)
        field = "output_key" if parsed.output_field == "output_key" else "output_file_path"
        box = selection.box
        body = {
            field: stored.path,
            "empty": selection.empty,
            "box": None if box is None else {"x1": box.x1, "y1": box.y1, "x2": box.x2, "y2": box.y2},
            "confidence": None if selection.confidence is None else round(selection.confidence, 3),
        }
        if selection.empty:
            body["message"] = tools.EMPTY_MESSAGE
        response = Response(body)
        response["X-Selection-Box"] = "" if box is None else f"{box.x1},{box.y1},{box.x2},{box.y2}"
        if selection.confidence is not None:
            response["X-Selection-Confidence"] = f"{selection.confidence:.3f}"
        return response
