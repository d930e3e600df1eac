"""The path rules of the file space: what a user-chosen path may look like."""
from __future__ import annotations

import re

from engine.errors import ApiError

MAX_PATH_LENGTH = 512
MAX_SEGMENT_LENGTH = 128
_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")


def path_validate(value: object, *, field: str) -> str:
    """Return `value` if it is a safe relative path, else raise a 400 that names `field`.

    Segments are letters, digits, `.`, `_`, `-`; no empty, `.` or `..` segment. Nothing is
    decoded or normalised here, so `%2e%2e`, `\\`, NUL and absolute paths are simply refused.
    """
    if not isinstance(value, str) or not value:
        raise ApiError(400, f"{field} is required and must be a non-empty string.")
    if len(value) > MAX_PATH_LENGTH:
        raise ApiError(400, f"{field} is too long: at most {MAX_PATH_LENGTH} characters.")
    for segment in value.split("/"):
        if segment in ("", ".", "..") or len(segment) > MAX_SEGMENT_LENGTH or not _SEGMENT.fullmatch(segment):
            raise ApiError(
                400,
                f"{field} {value!r} is not a valid path: use relative, '/'-separated segments of "
                "letters, digits, '.', '_' and '-' (no empty, '.' or '..' segments).",
            )
    return value


def folder_validate(value: object, *, field: str) -> str:
    """A folder is a path; a trailing slash is forgiven."""
    if isinstance(value, str) and value.endswith("/") and len(value) > 1:
        value = value[:-1]
    return path_validate(value, field=field)


def pattern_validate(value: object, *, field: str) -> str:
    """A listing glob: path characters plus `*`, `?` and `[]`, never climbing out."""
    if not isinstance(value, str) or not value or len(value) > MAX_PATH_LENGTH:
        raise ApiError(400, f"{field} must be a glob of at most {MAX_PATH_LENGTH} characters.")
    if not re.fullmatch(r"[A-Za-z0-9._\-/*?\[\]!]+", value) or ".." in value.split("/"):
        raise ApiError(400, f"{field} {value!r} is not a valid glob: use path characters and * ? [ ].")
    return value


def extension_of(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""
