"""Request and response shapes for the OpenAPI schema (validation lives in the services)."""
from rest_framework import serializers as s


class AccessTokenRequest(s.Serializer):
    paths = s.ListField(child=s.CharField(max_length=256), required=False, default=["*"], min_length=1, max_length=32)
    expires_in = s.IntegerField(required=False, default=60, min_value=1, max_value=600)


class AccessTokenResponse(s.Serializer):
    access_token = s.CharField()
    expires_in = s.IntegerField()


class UploadRequest(s.Serializer):
    files = s.ListField(child=s.FileField(), required=False)
    upload_path = s.CharField(required=False)
    file = s.FileField(required=False)
    key = s.CharField(required=False)
    expires_in_hours = s.FloatField(required=False, min_value=0.001)


class UploadResponse(s.Serializer):
    file_paths = s.ListField(child=s.CharField(), required=False)
    success = s.BooleanField(required=False)
    key = s.CharField(required=False)


class FileListResponse(s.Serializer):
    file_paths = s.ListField(child=s.CharField())


class FileInfo(s.Serializer):
    file_path = s.CharField()
    size = s.IntegerField()
    content_type = s.CharField()
    width = s.IntegerField(allow_null=True)
    height = s.IntegerField(allow_null=True)
    created_at = s.DateTimeField()
    expires_at = s.DateTimeField()


class UsageResponse(s.Serializer):
    used_bytes = s.IntegerField()
    file_count = s.IntegerField()
    quota_bytes = s.IntegerField()
    quota_used_pct = s.FloatField()


class CopyRequest(s.Serializer):
    source_path = s.CharField()
    destination_path = s.CharField()


class DeleteRequest(s.Serializer):
    file_path = s.CharField(required=False)
    key = s.CharField(required=False)


class SuccessResponse(s.Serializer):
    success = s.BooleanField()


class DeleteFolderRequest(s.Serializer):
    folder_path = s.CharField()


class DeleteFolderResponse(s.Serializer):
    deleted_count = s.IntegerField()


class PublicUrlRequest(s.Serializer):
    key = s.CharField(required=False)
    file_path = s.CharField(required=False)


class PublicUrlResponse(s.Serializer):
    url = s.URLField()
    expires_at = s.DateTimeField()


class OutputVariant(s.Serializer):
    output_file_path = s.CharField(required=False)
    output_key = s.CharField(required=False)
    format = s.ChoiceField(["png", "jpeg", "jpg", "webp", "avif"], required=False, default="png")
    max_resolution = s.IntegerField(required=False, min_value=4096, max_value=25_000_000, default=12_000_000)
    background_color = s.CharField(required=False, allow_null=True, default=None)
    quality = s.ChoiceField(["high", "medium", "low"], required=False, default="high")
    output_compression = s.IntegerField(required=False, min_value=1, max_value=100, default=85)
    autocrop = s.BooleanField(required=False, default=False)


class RemoveBgRequest(s.Serializer):
    input_file_path = s.CharField(required=False)
    input_key = s.CharField(required=False)
    mask_file_path = s.CharField(required=False, help_text="Extension: render from this stored mask (white = keep).")
    output_variants = OutputVariant(many=True)


class RemoveBgResponse(s.Serializer):
    output_file_paths = s.ListField(child=s.CharField(), required=False)
    output_keys = s.ListField(child=s.CharField(), required=False)


class PointSerializer(s.Serializer):
    x = s.IntegerField()
    y = s.IntegerField()


class BoxSerializer(s.Serializer):
    x1 = s.IntegerField()
    y1 = s.IntegerField()
    x2 = s.IntegerField()
    y2 = s.IntegerField()


class AICutRequest(s.Serializer):
    input_file_path = s.CharField(required=False)
    input_key = s.CharField(required=False)
    output_file_path = s.CharField(required=False)
    output_key = s.CharField(required=False)
    foreground_points = PointSerializer(many=True, required=False)
    background_points = PointSerializer(many=True, required=False)
    output_type = s.ChoiceField(["cutout", "mask"], required=False, default="cutout",
                                help_text="Extension: 'mask' writes the selection (white = selected).")
    box = BoxSerializer(required=False, allow_null=True,
                        help_text="Extension: a box prompt around the object, in image pixels (x2, y2 exclusive).")


class AICutResponse(s.Serializer):
    output_file_path = s.CharField(required=False)
    output_key = s.CharField(required=False)
    empty = s.BooleanField(help_text="Extension: true when the clicks select nothing (the call is not charged).")
    box = BoxSerializer(allow_null=True, help_text="Extension: the selected area's bounding box (also the "
                        "X-Selection-Box header, x1,y1,x2,y2); null when empty.")
    confidence = s.FloatField(allow_null=True, help_text="Extension: the model's estimate of the selection's IoU, "
                              "0-1 (also the X-Selection-Confidence header); null when the segmenter has none.")
    message = s.CharField(required=False, help_text="Extension: present when empty: what to do instead.")


class JobOutput(s.Serializer):
    path = s.CharField()
    url = s.URLField(allow_null=True)


class JobEntry(s.Serializer):
    id = s.IntegerField()
    account = s.CharField()
    tool = s.CharField()
    parameters = s.DictField()
    status = s.ChoiceField(["running", "ok", "failed"])
    error = s.CharField()
    http_status = s.IntegerField(allow_null=True)
    started_at = s.DateTimeField()
    duration_ms = s.IntegerField(allow_null=True)
    timings = s.DictField()
    input_path = s.CharField()
    outputs = JobOutput(many=True)


class JobPage(s.Serializer):
    count = s.IntegerField()
    page = s.IntegerField()
    pages = s.IntegerField()
    results = JobEntry(many=True)


class AccountName(s.Serializer):
    name = s.CharField()


class AccountList(s.Serializer):
    results = AccountName(many=True)
