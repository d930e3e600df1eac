"""An upload handler that streams every file to disk and drops any file over the size limit."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.files.uploadhandler import SkipFile, TemporaryFileUploadHandler


class BoundedUploadHandler(TemporaryFileUploadHandler):
    """Files go to temporary files beside the blob store (never whole in memory).

    A file past BGCUT_MAX_UPLOAD_BYTES is dropped as it streams, and its name is recorded on
    the request so the view can answer 413 instead of silently ignoring it.
    """

    def new_file(self, *args, **kwargs):
        Path(settings.FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.BGCUT_MAX_UPLOAD_BYTES:
            oversized = getattr(self.request, "oversized_uploads", [])
            oversized.append(self.file_name)
            self.request.oversized_uploads = oversized
            raise SkipFile()
        return super().receive_data_chunk(raw_data, start)
