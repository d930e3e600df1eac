"""Response shapes for the OpenAPI schema (requests: engine.serializers, which also validates them)."""
from rest_framework import serializers as s

from engine.tools import PREVIEW_STATUSES


class AccessTokenResponse(s.Serializer):
    access_token = s.CharField()
    expires_in = s.IntegerField()


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


class SuccessResponse(s.Serializer):
    success = s.BooleanField()


class DeleteFolderResponse(s.Serializer):
    deleted_count = s.IntegerField()


class PublicUrlResponse(s.Serializer):
    url = s.URLField()
    expires_at = s.DateTimeField()


class RemoveBgResponse(s.Serializer):
    output_file_paths = s.ListField(child=s.CharField(), required=False)
    output_keys = s.ListField(child=s.CharField(), required=False)


class BoxResponse(s.Serializer):
    x1 = s.IntegerField()
    y1 = s.IntegerField()
    x2 = s.IntegerField()
    y2 = s.IntegerField()


class AICutResponse(s.Serializer):
    output_file_path = s.CharField(required=False)
    output_key = s.CharField(required=False)
    empty = s.BooleanField(help_text="Extension: true when the clicks select nothing (the call is not charged).")
    box = BoxResponse(allow_null=True, help_text="Extension: the selected area's bounding box (also the "
                        "X-Selection-Box header, x1,y1,x2,y2); null when empty.")
    confidence = s.FloatField(allow_null=True, help_text="Extension: the model's estimate of the selection's IoU, "
                              "0-1 (also the X-Selection-Confidence header); null when the segmenter has none.")
    message = s.CharField(required=False, help_text="Extension: present when empty: what to do instead.")


class AICutPrepareResponse(s.Serializer):
    prepared = s.BooleanField(help_text="Always true: the image's per-image work is done (or was already).")
    preview = s.BooleanField(help_text="Whether /v3/tools/ai/ai-cut/preview/ gives previews on this server.")


class AICutPreviewResponse(s.Serializer):
    status = s.ChoiceField(list(PREVIEW_STATUSES),
                           help_text="ready: mask_png follows; not_prepared: call prepare first (a preview never "
                                     "does the per-image work); unavailable: this server's model has no cheap preview.")
    mask_png = s.CharField(allow_null=True, help_text="Base64 of a 1-bit PNG (white = would be selected), at most "
                           "512 px on its long side, the image's aspect ratio; null unless ready.")
    width = s.IntegerField(required=False, help_text="The mask's size in pixels (ready only).")
    height = s.IntegerField(required=False)
    empty = s.BooleanField(required=False, help_text="True when the prompts would select nothing (ready only).")
    message = s.CharField(required=False, help_text="Why there is no mask (not ready only).")


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
    input_url = s.URLField(allow_null=True, help_text="Signed, short-lived; null once the input is gone.")
    outputs = JobOutput(many=True)


class JobSession(s.Serializer):
    clicks = s.IntegerField(help_text="Matching clicks in the session (jobs lists the latest 100 at most).")
    failed = s.IntegerField()
    total_ms = s.IntegerField(help_text="The clicks' processing time, summed.")
    first_started_at = s.DateTimeField()
    jobs = JobEntry(many=True, help_text="The clicks, oldest first.")


class JobRow(JobEntry):
    session = JobSession(allow_null=True, help_text="An AI Cut session (its fields above are its last click's); "
                                                    "null for any other job.")


class JobPage(s.Serializer):
    count = s.IntegerField(help_text="Rows (an AI Cut session is one row).")
    page = s.IntegerField()
    pages = s.IntegerField()
    page_size = s.IntegerField()
    results = JobRow(many=True)


class AccountName(s.Serializer):
    name = s.CharField()


class AccountList(s.Serializer):
    results = AccountName(many=True)
