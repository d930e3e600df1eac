"""The AI tool endpoints: thin views over engine.tools."""
import base64

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


class AICutPrepareView(V3View):
    @extend_schema(request=bodies.AICutPrepareSerializer, responses=schemas.AICutPrepareResponse)
    def post(self, request):
        parsed = request_validate(bodies.AICutPrepareSerializer, request.data)
        previews = tools.aicut_prepare(account=request.user, request=parsed)
        return Response({"prepared": True, "preview": previews})


class AICutPreviewView(V3View):
    @extend_schema(request=bodies.AICutPreviewSerializer, responses=schemas.AICutPreviewResponse)
    def post(self, request):
        parsed = request_validate(bodies.AICutPreviewSerializer, request.data)
        preview = tools.aicut_preview(account=request.user, request=parsed)
        if preview.png is None:
            body = {"status": preview.status, "mask_png": None, "message": tools.PREVIEW_MESSAGES[preview.status]}
        else:
            body = {"status": preview.status, "mask_png": base64.b64encode(preview.png).decode("ascii"),
                    "width": preview.width, "height": preview.height, "empty": preview.empty}
        response = Response(body)
        response["Cache-Control"] = "no-store"  # a hint for this hover, never worth keeping
        return response
