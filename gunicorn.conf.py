"""gunicorn settings for every server we start: `make run` and the test servers (`--config gunicorn.conf.py`).

Where to bind, how many workers and threads, and the timeout come from the command line.
"""
import json

from gunicorn import util

# The site is mounted at /. By default gunicorn lets clients in forwarded_allow_ips (loopback) set
# SCRIPT_NAME and PATH_INFO with headers; with no forwarder headers, every header spelled with an
# underscore is dropped (header_map), so no header can move the mount point or pick another view.
forwarder_headers = ""
header_map = "drop"

# Bounded request heads (gunicorn's defaults, except header fields: a token minted with 32 paths of
# 256 characters is about 11 KB and must fit in its Authorization header).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 16384

_DETAILS = {
    400: "Malformed HTTP request: {mesg}.",
    403: "Request refused: {mesg}.",
    414: f"The request line is too long: at most {limit_request_line} bytes. Send long values in a JSON body.",
    417: "Unsupported Expect header: only 'Expect: 100-continue' is understood.",
    431: (f"The request headers are too large: at most {limit_request_fields} fields of "
          f"{limit_request_field_size} bytes each."),
    501: "Unsupported transfer coding: send a Content-Length or chunked body.",
}


def write_json_error(sock, status_int, reason, mesg):
    """gunicorn's answer to a request it cannot parse, as `{"detail"}` JSON instead of an HTML page."""
    template = _DETAILS.get(status_int, "Internal server error: retry with exponential backoff.")
    body = json.dumps({"detail": template.format(mesg=str(mesg)[:200] or reason)}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
    util.write_nonblock(sock, head + body)


# gunicorn has no setting for its error pages: its workers call util.write_error, so replace that.
util.write_error = write_json_error
