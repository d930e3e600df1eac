"""The v3 request bodies and query strings: the one validation, and what the OpenAPI schema shows.

Views call `request_validate(SomeSerializer, data)`; the validated value is what the service takes
(a path, a frozen dataclass). Unknown fields are refused, and both dialects (`file_path` / `key`...)
are read in `validate()`. Every refusal is worded to follow the field's name, so engine.errors can
flatten DRF's nested errors into one sentence: "output_variants[2].format must be one of ...".
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.validators import MaxLengthValidator, MinLengthValidator
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers as s

from engine import clock
from engine.access_tokens import DEFAULT_EXPIRES_IN, MAX_EXPIRES_IN, MAX_PATHS, TokenRequest
from engine.paths import (
    MAX_PATH_LENGTH, PATH_REGEX, PathRefused, extension_of, folder_check, path_check, pattern_check,
)
from engine.tools import (
    MAX_POINTS, MAX_VARIANTS, AICutInput, AICutPreviewRequest, AICutRequest, RemoveBgRequest, VariantRequest,
)
from vision import render
from vision.aicut_io import OUTPUT_TYPES
from vision.aicut_types import Point
from vision.segmenter import Box
from vision.salient import QUALITIES

_REQUIRED = {"required": "is required.", "null": "is required and may not be null."}
FORMAT_OF_EXTENSION = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "webp": "webp", "avif": "avif"}
JPEG_EXTENSIONS = ("jpg", "jpeg")


def request_validate(serializer_class: type[s.Serializer], data: object):
    """The validated value of `data`; a ValidationError (a 400 naming the field) otherwise."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def worded(field_class: type[s.Field], must: str, **kwargs) -> s.Field:
    """A `field_class` field that tells every refusal of a value as `must` (words after the field's name).

    Literal braces in `must` are doubled: DRF formats error messages with str.format.
    """
    keys = {key for cls in field_class.__mro__ for key in getattr(cls, "default_error_messages", {})}
    messages = {key: must for key in keys} | _REQUIRED
    return field_class(error_messages=messages | kwargs.pop("error_messages", {}), **kwargs)


# ---- Fields ----------------------------------------------------------------------------------


class StrictIntegerField(s.IntegerField):
    """A JSON integer: "60", 60.5 and true are refused (DRF's IntegerField would take "60")."""

    def to_internal_value(self, data):
        if type(data) is not int:
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(s.BooleanField):
    """A JSON boolean: "yes", 1 and "true" are refused."""

    def to_internal_value(self, data):
        if type(data) is not bool:
            self.fail("invalid")
        return data


class StrictCharField(s.CharField):
    """A JSON string, kept as sent: numbers are refused, spaces are not trimmed."""

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "minLength": 1, "maxLength": MAX_PATH_LENGTH, "pattern": PATH_REGEX})
class PathField(s.Field):
    """A path in the caller's file space (engine.paths). Optional ones (one of a dialect pair) read
    null and "" as absent."""

    check = staticmethod(path_check)
    default_error_messages = _REQUIRED

    def to_internal_value(self, data):
        if data == "" and self.allow_null:
            return None
        try:
            return self.check(data)
        except PathRefused as refused:
            raise s.ValidationError(str(refused)) from None

    def to_representation(self, value):
        return value


@extend_schema_field({"type": "string", "minLength": 1, "maxLength": MAX_PATH_LENGTH + 1,
                      "pattern": PATH_REGEX[:-1] + "/?$"})
class FolderField(PathField):
    """A folder: a path, with a trailing slash forgiven."""

    check = staticmethod(folder_check)


@extend_schema_field({"type": "string", "minLength": 1, "maxLength": MAX_PATH_LENGTH,
                      "pattern": r"^[A-Za-z0-9._\-/*?\[\]!]+$"})
class PatternField(PathField):
    """A listing glob: path characters plus * ? [ ] !."""

    check = staticmethod(pattern_check)


@extend_schema_field({"type": "number", "minimum": 0, "exclusiveMinimum": True})
class HoursField(s.FloatField):
    """A positive, finite number of hours (a form field, so "1.5" is read as 1.5)."""

    def to_internal_value(self, data):
        hours = super().to_internal_value(data)
        if not (math.isfinite(hours) and hours > 0):
            self.fail("invalid")
        return hours


class FormatField(s.ChoiceField):
    """An output format, in any case ("PNG" is png)."""

    def to_internal_value(self, data):
        return super().to_internal_value(data.lower() if isinstance(data, str) else data)


def _items(low: int, high: int) -> list:
    """Validators that only put minItems/maxItems into the schema: a ListSerializer's own min_length and
    max_length refuse first, with our words, but drf-spectacular does not show them."""
    return [MinLengthValidator(low), MaxLengthValidator(high)]


class StrictSerializer(s.Serializer):
    """A body with exactly these fields: an unknown one is refused, naming it and the allowed ones."""

    default_error_messages = {"invalid": "The request body must be a JSON object."}

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = [name for name in data if name not in self.fields]
            if unknown:
                allowed = ", ".join(sorted(self.fields))
                raise s.ValidationError({str(unknown[0])[:40]: [f"is an unknown field; allowed: {allowed}."]})
        return super().to_internal_value(data)


class StrictSerializerSchema(OpenApiSerializerExtension):
    """In the schema, a StrictSerializer's object has additionalProperties: false, as it runs."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False}


def _one_of(attrs: dict, first: str, second: str, *, required: bool = True) -> tuple[str | None, str | None]:
    """(name, value) of whichever field of a dialect pair was sent; (None, None) for neither, if allowed."""
    given = [(name, attrs[name]) for name in (first, second) if attrs.get(name) is not None]
    if len(given) == 2:
        raise s.ValidationError({second: f"cannot be sent with {first}: they are the same field in two dialects."})
    if given:
        return given[0]
    if required:
        raise s.ValidationError({first: f"(or {second}) is required."})
    return None, None


def _twin(of: str) -> str:
    return f"Key-dialect twin of {of}: send one of the two."


# ---- Access tokens -------------------------------------------------------------------------


class AccessTokenSerializer(StrictSerializer):
    """Mint an access token: which paths it may call, for how long."""

    paths = worded(
        s.ListField, f'must be a list of 1 to {MAX_PATHS} glob strings, e.g. ["/v3/files/*"].',
        child=worded(StrictCharField, "must be a glob string of 1 to 256 characters.", max_length=256),
        min_length=1, max_length=MAX_PATHS, required=False, default=["*"],
        help_text="Globs matched against the request path (e.g. /v3/files/*); * matches across /.",
    )
    expires_in = worded(
        StrictIntegerField, f"must be an integer number of seconds from 1 to {MAX_EXPIRES_IN}.",
        min_value=1, max_value=MAX_EXPIRES_IN, required=False, default=DEFAULT_EXPIRES_IN,
    )

    def validate(self, attrs) -> TokenRequest:
        return TokenRequest(paths=tuple(attrs["paths"]), expires_in=attrs["expires_in"])


# ---- The file space ------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """One upload request: several files into a folder, or one file at a key."""

    files: tuple
    folder: str | None
    key: str | None
    expires_in_hours: float | None


_FILE = "must be an image file."


class UploadSerializer(StrictSerializer):
    """Upload: `files` + `upload_path`, or `file` + `key` (multipart/form-data)."""

    files = worded(s.ListField, "must be one or more image files.", child=worded(s.FileField, _FILE),
                   required=False, help_text="One or more images, stored as {upload_path}/{stem}.{ext}.")
    upload_path = FolderField(required=False, allow_null=True, help_text="The folder for `files`.")
    file = worded(s.FileField, _FILE, required=False, help_text="Key dialect: one image, stored at `key`.")
    key = PathField(required=False, allow_null=True, help_text="Key dialect: where `file` is stored.")
    expires_in_hours = worded(HoursField, "must be a positive number of hours (at most 2 are kept).",
                              required=False, allow_null=True, help_text="Shortens the 2-hour lifetime.")

    def validate(self, attrs) -> Upload:
        files, single = attrs.get("files") or [], attrs.get("file")
        hours = attrs.get("expires_in_hours")
        if files and single is not None:
            raise s.ValidationError({"file": "cannot be sent with files: send files + upload_path, or file + key."})
        if files:
            if attrs.get("upload_path") is None:
                raise s.ValidationError({"upload_path": "is required with files."})
            return Upload(files=tuple(files), folder=attrs["upload_path"], key=None, expires_in_hours=hours)
        if single is not None:
            if attrs.get("key") is None:
                raise s.ValidationError({"key": "is required with file."})
            return Upload(files=(single,), folder=None, key=attrs["key"], expires_in_hours=hours)
        raise s.ValidationError(
            "No file received: send multipart/form-data with 'files' and 'upload_path', or 'file' and 'key'."
        )


class FileListQuerySerializer(StrictSerializer):
    """List files, optionally those matching a glob."""

    pattern = PatternField(required=False, allow_null=True, help_text="A glob, e.g. my-project/*.jpg.")


class FileInfoQuerySerializer(StrictSerializer):
    """One file's metadata."""

    file_path = PathField()


class CopySerializer(StrictSerializer):
    """Copy a file; the copy keeps the source's expiry."""

    source_path = PathField()
    destination_path = PathField()


@dataclass(frozen=True)
class PathIn:
    """A path, and the field (dialect) it came in, for messages that name it."""

    field: str
    path: str


class DeleteSerializer(StrictSerializer):
    """Delete one file (`file_path` or `key`); a missing file is no error."""

    file_path = PathField(required=False, allow_null=True)
    key = PathField(required=False, allow_null=True, help_text=_twin("file_path"))

    def validate(self, attrs) -> PathIn:
        return PathIn(*_one_of(attrs, "file_path", "key"))


class DeleteFolderSerializer(StrictSerializer):
    """Delete every file under a folder."""

    folder_path = FolderField()


class PublicUrlSerializer(StrictSerializer):
    """A signed, short-lived URL for one file (`key` or `file_path`)."""

    key = PathField(required=False, allow_null=True)
    file_path = PathField(required=False, allow_null=True, help_text="File-path-dialect twin of key.")

    def validate(self, attrs) -> PathIn:
        return PathIn(*_one_of(attrs, "file_path", "key"))


# ---- remove-bg -----------------------------------------------------------------------------


class OutputVariantSerializer(StrictSerializer):
    """One output of remove-bg: where, in what format, how large, on what background."""

    default_error_messages = {"invalid": "must be an object with at least output_file_path."}

    output_file_path = PathField(required=False, allow_null=True, help_text="Required (or output_key).")
    output_key = PathField(required=False, allow_null=True, help_text=_twin("output_file_path"))
    format = worded(
        FormatField, "must be one of png, jpeg, jpg, webp, avif.", choices=["png", "jpeg", "jpg", "webp", "avif"],
        required=False,
        help_text="Default: the output path's extension (.png, .jpg/.jpeg, .webp, .avif), else png. "
                  "When both are given they must agree.",
    )
    max_resolution = worded(
        StrictIntegerField, f"must be an integer from {render.MIN_RESOLUTION:,} to {render.MAX_RESOLUTION:,} (pixels).",
        min_value=render.MIN_RESOLUTION, max_value=render.MAX_RESOLUTION, required=False, default=12_000_000,
    )
    background_color = worded(
        StrictCharField, "must be null or a colour like #fff, #ffffff or #ffffff80.", required=False,
        allow_null=True, default=None, help_text="null: transparent (white for JPEG, which must be opaque).",
    )
    quality = worded(s.ChoiceField, f"must be one of {', '.join(QUALITIES)}.", choices=list(QUALITIES),
                     required=False, default="high",
                     help_text="One AI pass serves every variant: it runs at the best quality asked for.")
    output_compression = worded(StrictIntegerField, "must be an integer from 1 to 100.", min_value=1,
                                max_value=100, required=False, default=85)
    autocrop = worded(StrictBooleanField, "must be true or false.", required=False, default=False)
    background_blur = worded(
        StrictIntegerField, f"must be an integer from 0 to {render.MAX_BLUR}.", min_value=0,
        max_value=render.MAX_BLUR, required=False, default=0,
        help_text="Extension: a blurred copy of the photo as the background (0: none). Gaussian sigma = "
                  "background_blur / 1000 × the output's longer side; 20 is a soft portrait blur.",
    )
    background_image_path = PathField(
        required=False, allow_null=True, default=None,
        help_text="Extension: a stored image as the background, scaled to cover the output and centred.",
    )

    def validate_background_color(self, value):
        if value is None:
            return None
        try:
            return render.color_parse(value)
        except ValueError:
            raise s.ValidationError(self.fields["background_color"].error_messages["invalid"]) from None

    def validate(self, attrs) -> VariantRequest:
        field, output_path = _one_of(attrs, "output_file_path", "output_key")
        implied = FORMAT_OF_EXTENSION.get(extension_of(output_path))
        fmt = attrs.get("format")
        if fmt is None:
            fmt = implied or "png"  # the path's extension says what the caller expects to download
        elif implied and FORMAT_OF_EXTENSION[fmt] != implied:
            raise s.ValidationError({"format": f"{fmt!r} does not match the extension of {output_path!r}."})
        colour = attrs["background_color"]
        if FORMAT_OF_EXTENSION[fmt] == "jpeg" and colour is not None and colour[3] != 255:
            raise s.ValidationError({"background_color": (
                "must be opaque for JPEG, which has no transparency; use png, webp or avif for a translucent "
                "background.")})
        backgrounds = [name for name in ("background_color", "background_blur", "background_image_path")
                       if attrs.get(name)]
        if len(backgrounds) > 1:
            raise s.ValidationError({backgrounds[1]: f"cannot be combined with {backgrounds[0]}: choose one background."})
        variant = render.Variant(format=fmt, max_resolution=attrs["max_resolution"], background_color=colour,
                                 output_compression=attrs["output_compression"], autocrop=attrs["autocrop"],
                                 background_blur=attrs["background_blur"])
        return VariantRequest(output_path=output_path, variant=variant, quality=attrs["quality"],
                              background_image_path=attrs.get("background_image_path"))


class RemoveBgSerializer(StrictSerializer):
    """Remove the background: 1-10 variants from one AI pass (or from a stored mask)."""

    input_file_path = PathField(required=False, allow_null=True, help_text="Required (or input_key).")
    input_key = PathField(required=False, allow_null=True, help_text=_twin("input_file_path"))
    mask_file_path = PathField(
        required=False, allow_null=True,
        help_text="Extension: render the variants from this stored mask (white = keep) instead of the AI's.",
    )
    mask_key = PathField(required=False, allow_null=True, help_text=_twin("mask_file_path"))
    output_variants = worded(
        s.ListSerializer, f"must be a list of 1 to {MAX_VARIANTS} variant objects.",
        child=OutputVariantSerializer(), min_length=1, max_length=MAX_VARIANTS, validators=_items(1, MAX_VARIANTS),
    )

    def validate(self, attrs) -> RemoveBgRequest:
        input_field, input_path = _one_of(attrs, "input_file_path", "input_key")
        _, mask_path = _one_of(attrs, "mask_file_path", "mask_key", required=False)
        variants = attrs["output_variants"]
        seen: dict[str, int] = {}
        for index, item in enumerate(variants):
            if item.output_path in seen:
                raise s.ValidationError(
                    f"output_variants[{index}] writes to the same path as output_variants[{seen[item.output_path]}].")
            if item.output_path in (input_path, mask_path):
                raise s.ValidationError(
                    f"output_variants[{index}] would overwrite the input: choose another output path.")
            seen[item.output_path] = index
        # The answer speaks the dialect of the first variant (output_keys or output_file_paths).
        first = self.initial_data["output_variants"][0]
        output_field = "output_file_path" if first.get("output_file_path") not in (None, "") else "output_key"
        return RemoveBgRequest(input_field=input_field, input_path=input_path, mask_path=mask_path,
                               variants=tuple(variants), output_field=output_field)


# ---- AI Cut --------------------------------------------------------------------------------


class PointSerializer(StrictSerializer):
    """A click in image pixels from the top-left corner."""

    default_error_messages = {"invalid": 'must be {{"x": int, "y": int}} in image pixels.'}

    x = worded(StrictIntegerField, "must be an integer: pixels from the image's left edge.")
    y = worded(StrictIntegerField, "must be an integer: pixels from the image's top edge.")


def _points(help_text: str) -> s.ListSerializer:
    return worded(s.ListSerializer, 'must be a list of {{"x": int, "y": int}} objects.', child=PointSerializer(),
                  max_length=MAX_POINTS, validators=_items(0, MAX_POINTS), required=False, help_text=help_text)


class BoxSerializer(StrictSerializer):
    """A box prompt in image pixels: the top-left corner (x1, y1) and the bottom-right (x2, y2), exclusive."""

    default_error_messages = {"invalid": 'must be {{"x1": int, "y1": int, "x2": int, "y2": int}} in image pixels.'}

    x1 = worded(StrictIntegerField, "must be an integer: pixels from the image's left edge.")
    y1 = worded(StrictIntegerField, "must be an integer: pixels from the image's top edge.")
    x2 = worded(StrictIntegerField, "must be an integer: pixels from the image's left edge (exclusive).")
    y2 = worded(StrictIntegerField, "must be an integer: pixels from the image's top edge (exclusive).")

    def validate(self, attrs) -> Box:
        if not (attrs["x1"] < attrs["x2"] and attrs["y1"] < attrs["y2"]):
            raise s.ValidationError("must have x1 < x2 and y1 < y2.")
        return Box(**attrs)


def _jpeg_input(attrs: dict) -> tuple[str, str]:
    """(field, path) of the input of an AI Cut body, which must name a JPEG."""
    field, path = _one_of(attrs, "input_file_path", "input_key")
    if extension_of(path) not in JPEG_EXTENSIONS:
        raise s.ValidationError({field: "must be a JPEG file (.jpg / .jpeg)."})
    return field, path


def _prompt_points(attrs: dict) -> tuple[Point, ...]:
    points = ([Point(x=p["x"], y=p["y"], positive=True) for p in attrs.get("foreground_points", [])]
              + [Point(x=p["x"], y=p["y"], positive=False) for p in attrs.get("background_points", [])])
    if len(points) > MAX_POINTS:
        raise s.ValidationError(f"At most {MAX_POINTS} points in all; send the clicks that matter.")
    return tuple(points)


class AICutPrepareSerializer(StrictSerializer):
    """Extension: do AI Cut's per-image work now, so the first click (and every preview) is fast."""

    input_file_path = PathField(required=False, allow_null=True, help_text="Required (or input_key): a JPEG.")
    input_key = PathField(required=False, allow_null=True, help_text=_twin("input_file_path"))

    def validate(self, attrs) -> AICutInput:
        return AICutInput(*_jpeg_input(attrs))


class AICutPreviewSerializer(AICutPrepareSerializer):
    """Extension: what segment would select with these prompts (the clicks so far plus the hovered point),
    as a small mask inline; nothing is stored or charged."""

    foreground_points = _points("Clicks on what to select; add the hovered point here to preview an include-click.")
    background_points = _points("Clicks on what to leave out; add the hovered point here to preview an exclude-click.")
    box = BoxSerializer(required=False, allow_null=True, help_text="A box prompt, as for segment.")

    def validate(self, attrs) -> AICutPreviewRequest:
        input_field, input_path = _jpeg_input(attrs)
        return AICutPreviewRequest(input_field=input_field, input_path=input_path, points=_prompt_points(attrs),
                                   box=attrs.get("box"))


class AICutSerializer(StrictSerializer):
    """AI Cut: the clicks so far on a JPEG; the selection is written as a JPEG."""

    input_file_path = PathField(required=False, allow_null=True, help_text="Required (or input_key): a JPEG.")
    input_key = PathField(required=False, allow_null=True, help_text=_twin("input_file_path"))
    output_file_path = PathField(required=False, allow_null=True,
                                 help_text="Required (or output_key): ends in .jpg or .jpeg.")
    output_key = PathField(required=False, allow_null=True, help_text=_twin("output_file_path"))
    foreground_points = _points("Clicks on what to select.")
    background_points = _points("Clicks on what to leave out.")
    output_type = worded(
        s.ChoiceField, 'must be "cutout" (the subject on white) or "mask".', choices=list(OUTPUT_TYPES),
        required=False, default="cutout", help_text="Extension: 'mask' writes the selection (white = selected).",
    )
    box = BoxSerializer(required=False, allow_null=True,
                        help_text="Extension: a box around the object, as a prompt with or without clicks.")

    def validate(self, attrs) -> AICutRequest:
        input_field, input_path = _jpeg_input(attrs)
        output_field, output_path = _one_of(attrs, "output_file_path", "output_key")
        if extension_of(output_path) not in JPEG_EXTENSIONS:
            raise s.ValidationError({output_field: "must be a JPEG file (.jpg / .jpeg)."})
        return AICutRequest(input_field=input_field, input_path=input_path, output_field=output_field,
                            output_path=output_path, points=_prompt_points(attrs), output_type=attrs["output_type"],
                            box=attrs.get("box"))


# ---- The operators' job log ------------------------------------------------------------------

JOB_TOOLS = ("remove-bg", "ai-cut")
JOB_STATUSES = ("running", "ok", "failed")
JOB_WITHIN = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30)}
MAX_PAGE_SIZE = 100
_WHEN = "must be a date and time like 2026-11-30T13:00:00Z (UTC unless it carries an offset)."


@dataclass(frozen=True)
class JobQuery:
    """Which jobs an operator asked for, and which page of rows (an AI Cut session is one row)."""

    tool: str | None = None
    status: str | None = None
    account: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    path: str | None = None
    page: int = 1
    page_size: int = 25


class OpsJobQuerySerializer(StrictSerializer):
    """Filter the job log. An empty value is no filter, as an HTML form sends it."""

    tool = worded(s.ChoiceField, f"must be one of {', '.join(JOB_TOOLS)}.", choices=list(JOB_TOOLS), required=False)
    status = worded(s.ChoiceField, f"must be one of {', '.join(JOB_STATUSES)}.", choices=list(JOB_STATUSES),
                    required=False)
    account = worded(s.SlugField, "must be an account name (letters, digits, - and _, at most 64).", max_length=64,
                     required=False, help_text="Exactly this account's jobs.")
    since = worded(s.DateTimeField, _WHEN, required=False, help_text="Jobs started at or after this time.")
    until = worded(s.DateTimeField, _WHEN, required=False, help_text="Jobs started before this time.")
    within = worded(s.ChoiceField, f"must be one of {', '.join(JOB_WITHIN)}.", choices=list(JOB_WITHIN),
                    required=False, help_text="A preset instead of since/until: jobs of the last hour, day, ...")
    path = worded(s.RegexField, "must be 1 to 200 path characters (letters, digits, '.', '_', '-', '/').",
                  regex=r"^[A-Za-z0-9._/-]+$", max_length=200, required=False,
                  help_text="Jobs whose input path or an output path contains this text (any case).")
    page = worded(s.IntegerField, "must be a whole number from 1.", min_value=1, required=False, default=1)
    page_size = worded(s.IntegerField, f"must be a whole number from 1 to {MAX_PAGE_SIZE}.", min_value=1,
                       max_value=MAX_PAGE_SIZE, required=False, default=25, help_text="Rows per page.")

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            data = {name: data[name] for name in data if data[name] != ""}
        return super().to_internal_value(data)

    def validate(self, attrs) -> JobQuery:
        since, until, within = attrs.get("since"), attrs.get("until"), attrs.pop("within", None)
        if within and (since or until):
            raise s.ValidationError({"within": "cannot be sent with since or until: choose a preset or a range."})
        if since and until and since >= until:
            raise s.ValidationError({"until": "must be later than since."})
        if within:
            attrs["since"] = clock.now() - JOB_WITHIN[within]
        return JobQuery(**attrs)
