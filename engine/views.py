"""Thin views for auth and the file space: parse, call a service, serialise."""
from __future__ import annotations

import re
from pathlib import PurePosixPath

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from engine import access_tokens, blobs, clock, files, public_urls, schemas
from engine import serializers as bodies
from engine.auth import ApiKeyOnly
from engine.errors import ApiError
from engine.paths import extension_of, path_validate
from engine.serializers import request_validate
from engine.sweeper import sweeper_ensure_running
from vision.image_io import ImageError, image_probe


class V3View(APIView):
    """Every v3 endpoint: starts the sweeper once and reports the caller's rate limit."""

    def initial(self, request, *args, **kwargs):
        sweeper_ensure_running()
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        rate = getattr(request, "rate_limit", None)
        if rate is not None:
            limit, remaining, reset = rate
            response["X-RateLimit-Limit"] = str(limit)
            response["X-RateLimit-Remaining"] = str(remaining)
            response["X-RateLimit-Reset"] = str(reset)
        return response


def file_info(stored) -> dict:
    return {
        "file_path": stored.path,
        "size": stored.size,
        "content_type": stored.content_type,
        "width": stored.width,
        "height": stored.height,
        "created_at": stored.created_at.isoformat(),
        "expires_at": stored.expires_at.isoformat(),
    }


def file_response(stored) -> FileResponse:
    try:
        handle = blobs.blob_open(stored.blob)
    except FileNotFoundError:  # replaced or swept between the lookup and the open
        raise ApiError(404, f"{stored.path!r} no longer exists: it was replaced, deleted or expired.")
    response = FileResponse(handle, content_type=stored.content_type)
    response["Content-Length"] = str(stored.size)
    response["Content-Disposition"] = f'inline; filename="{PurePosixPath(stored.path).name}"'
    response["Cache-Control"] = "private, no-store"
    return response


class AccessTokenView(V3View):
    permission_classes = [ApiKeyOnly]

    @extend_schema(request=bodies.AccessTokenSerializer, responses=schemas.AccessTokenResponse)
    def post(self, request):
        asked = request_validate(bodies.AccessTokenSerializer, request.data)
        token, _ = access_tokens.token_mint(api_key=request.auth.api_key, paths=asked.paths,
                                            expires_in=asked.expires_in)
        return Response({"access_token": token, "expires_in": asked.expires_in})


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _stem_of(filename: str) -> str:
    """A safe stem from a client's file name ('My photo (1).JPG' -> 'My-photo-1')."""
    name = re.split(r"[\\/]", filename or "")[-1]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return _UNSAFE_NAME.sub("-", stem).strip(".-")[:100] or "image"


_EXTENSIONS = {"image/jpeg": ("jpg", "jpeg"), "image/png": ("png",), "image/webp": ("webp",), "image/avif": ("avif",)}


class UploadView(V3View):
    @extend_schema(request={"multipart/form-data": bodies.UploadSerializer}, responses=schemas.UploadResponse)
    def post(self, request):
        data = request.data
        oversized = getattr(request._request, "oversized_uploads", None)
        if oversized:  # dropped while streaming, so the serializer would not see them
            limit_mb = settings.BGCUT_MAX_UPLOAD_BYTES / 2**20
            raise ApiError(413, f"{oversized[0]!r} is larger than {limit_mb:g} MB, the limit per file.")
        upload = request_validate(bodies.UploadSerializer, data)
        if upload.folder is not None:
            return self._upload_to_folder(request, upload.files, upload.folder, upload.expires_in_hours)
        return self._upload_to_key(request, upload.files[0], upload.key, upload.expires_in_hours)

    def _upload_to_folder(self, request, uploads, folder, expires_in_hours):
        new_files, taken = [], set()
        for upload in uploads:
            info = self._probe(upload)
            stem, path, n = _stem_of(upload.name), None, 1
            while path is None or path in taken:  # two 'photo.jpg' in one request: photo.jpg, photo-2.jpg
                path = f"{folder}/{stem}{'' if n == 1 else f'-{n}'}.{info.format.extension}"
                n += 1
            taken.add(path)
            path_validate(path, field="upload_path")
            new_files.append(self._new_file(upload, path, info))
        stored = self._publish(request, new_files, expires_in_hours)
        return Response({"file_paths": [f.path for f in stored]})

    def _upload_to_key(self, request, upload, key, expires_in_hours):
        info = self._probe(upload)
        allowed = _EXTENSIONS[info.format.content_type]
        if extension_of(key) not in allowed:
            raise ApiError(
                400, f"key {key!r} must end in .{allowed[0]}: the uploaded file is a {info.format.name} image."
            )
        self._publish(request, [self._new_file(upload, key, info)], expires_in_hours)
        return Response({"success": True, "key": key})

    @staticmethod
    def _probe(upload):
        try:
            return image_probe(upload.temporary_file_path(), max_pixels=settings.BGCUT_MAX_INPUT_PIXELS)
        except ImageError as error:
            status = 413 if error.too_large else 415
            raise ApiError(status, f"{upload.name!r}: {error.reason}")

    @staticmethod
    def _new_file(upload, path, info):
        return files.NewFile(
            path=path, source=upload.temporary_file_path(), content_type=info.format.content_type,
            width=info.width, height=info.height,
        )

    @staticmethod
    def _publish(request, new_files, expires_in_hours):
        expires_at = files.expiry_for(expires_in_hours=expires_in_hours, now=clock.now())
        return files.files_publish(account=request.user, new_files=new_files, expires_at=expires_at)


class FileDownloadView(V3View):
    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, path):
        path = path_validate(path, field="path")
        return file_response(files.file_get(account=request.user, path=path, field="path"))


class PublicFileView(V3View):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, token):
        return file_response(public_urls.public_url_resolve(token=token))


class FileListView(V3View):
    @extend_schema(parameters=[bodies.FileListQuerySerializer], responses=schemas.FileListResponse)
    def get(self, request):
        pattern = request_validate(bodies.FileListQuerySerializer, request.query_params).get("pattern")
        return Response({"file_paths": [f.path for f in files.files_list(account=request.user, pattern=pattern)]})


class FileInfoView(V3View):
    @extend_schema(parameters=[bodies.FileInfoQuerySerializer], responses=schemas.FileInfo)
    def get(self, request):
        path = request_validate(bodies.FileInfoQuerySerializer, request.query_params)["file_path"]
        return Response(file_info(files.file_get(account=request.user, path=path)))


class UsageView(V3View):
    @extend_schema(responses=schemas.UsageResponse)
    def get(self, request):
        usage = files.usage_get(account=request.user)
        return Response({
            "used_bytes": usage.used_bytes,
            "file_count": usage.file_count,
            "quota_bytes": usage.quota_bytes,
            "quota_used_pct": usage.quota_used_pct,
        })


class CopyView(V3View):
    @extend_schema(request=bodies.CopySerializer, responses=schemas.FileInfo)
    def post(self, request):
        body = request_validate(bodies.CopySerializer, request.data)
        stored = files.file_copy(account=request.user, source_path=body["source_path"],
                                 destination_path=body["destination_path"])
        return Response(file_info(stored))


class DeleteView(V3View):
    @extend_schema(request=bodies.DeleteSerializer, responses=schemas.SuccessResponse)
    def post(self, request):
        target = request_validate(bodies.DeleteSerializer, request.data)
        files.file_delete(account=request.user, path=target.path)
        return Response({"success": True})


class DeleteFolderView(V3View):
    @extend_schema(request=bodies.DeleteFolderSerializer, responses=schemas.DeleteFolderResponse)
    def post(self, request):
        folder = request_validate(bodies.DeleteFolderSerializer, request.data)["folder_path"]
        return Response({"deleted_count": files.folder_delete(account=request.user, folder=folder)})


class PublicUrlView(V3View):
    @extend_schema(request=bodies.PublicUrlSerializer, responses=schemas.PublicUrlResponse)
    def post(self, request):
        target = request_validate(bodies.PublicUrlSerializer, request.data)
        stored = files.file_get(account=request.user, path=target.path, field=target.field)
        url, expires_at = public_urls.public_url_sign(stored=stored)
        return Response({"url": request.build_absolute_uri(url), "expires_at": expires_at.isoformat()})
