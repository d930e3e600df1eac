"""The path rules of the file space: what a user-chosen path may look like."""
from __future__ import annotations

import re

from engine.errors import ApiError

MAX_PATH_LENGTH = 512
MAX_SEGMENT_LENGTH = 128
_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
_PATTERN = re.compile(r"[A-Za-z0-9._\-/*?\[\]!]+")
# For the OpenAPI schema: the characters and shape (the segment rules below are stricter still).
PATH_REGEX = r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$"


class PathRefused(ValueError):
    """Why a value is not an acceptable path, as words that follow the field's name."""


def path_check(value: object) -> str:
    """Return `value` if it is a safe relative path, else raise PathRefused.

    Segments are letters, digits, `.`, `_`, `-`; no empty, `.` or `..` segment. Nothing is
    decoded or normalised here, so `%2e%2e`, `\\`, NUL and absolute paths are simply refused.
    """
    if not isinstance(value, str) or not value:
        raise PathRefused("is required and must be a non-empty string.")
    if len(value) > MAX_PATH_LENGTH:
        raise PathRefused(f"is too long: at most {MAX_PATH_LENGTH} characters.")
    for segment in value.split("/"):
        if segment in ("", ".", "..") or len(segment) > MAX_SEGMENT_LENGTH or not _SEGMENT.fullmatch(segment):
            raise PathRefused(
                f"{value!r} is not a valid path: use relative, '/'-separated segments of "
                "letters, digits, '.', '_' and '-' (no empty, '.' or '..' segments)."
            )
    return value


def folder_check(value: object) -> str:
    """A folder is a path; a trailing slash is forgiven."""
    if isinstance(value, str) and value.endswith("/") and len(value) > 1:
        value = value[:-1]
    return path_check(value)


def pattern_check(value: object) -> str:
    """A listing glob: path characters plus `*`, `?` and `[]`, never climbing out."""
    if not isinstance(value, str) or not value or len(value) > MAX_PATH_LENGTH:
        raise PathRefused(f"must be a glob of at most {MAX_PATH_LENGTH} characters.")
    if not _PATTERN.fullmatch(value) or ".." in value.split("/"):
        raise PathRefused(f"{value!r} is not a valid glob: use path characters and * ? [ ].")
    return value


def path_validate(value: object, *, field: str) -> str:
    """path_check for values outside a request body (URL parts, composed names): a 400 naming `field`."""
    try:
        return path_check(value)
    except PathRefused as refused:
        raise ApiError(400, f"{field} {refused}") from None


def extension_of(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""
