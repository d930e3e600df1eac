"""Request body parsers for /v3/: DRF's, with JSON nesting bounded."""
from __future__ import annotations

from rest_framework.parsers import JSONParser

from engine.errors import BodyRefused

# The deepest v3 body is three levels (a remove-bg request's variants); 32 leaves room and stays cheap.
MAX_JSON_DEPTH = 32


def json_depth_exceeds(value: object, limit: int) -> bool:
    """Whether `value` nests containers deeper than `limit`, found without recursion."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return False


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
            if not json_depth_exceeds(data, MAX_JSON_DEPTH):
                return data
        except RecursionError:  # deeper than the interpreter's own limit
            pass
        raise BodyRefused(f"The JSON body is nested too deeply: at most {MAX_JSON_DEPTH} levels of objects and lists.")
