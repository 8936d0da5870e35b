"""Structured logs: a request id on every line, one access line per request, no personal data.

- `RequestLogMiddleware` takes the caller's `X-Request-ID` (or makes one), echoes it on the
  response and writes one access line per request on the `ncms.access` logger: method, path
  (never the query string, which can carry names and ID numbers), the URL pattern, status,
  duration in ms and the user's id (never the username).
- `ContextFilter` (on the console handler) puts `request_id` and `task_id` on every record, so a
  line written inside a view or a Celery task can be traced back to its request or task.
- `RedactFilter` masks ID numbers and mobile numbers and drops query strings from the lines that
  Django itself writes with a raw path (`django.request` "Not Found: /api/v1/members/<id>/",
  `django.server` request lines), so no log line carries them.
- `JsonFormatter` writes one JSON object per line (LOG_FORMAT=json, the default with DEBUG off);
  LOG_FORMAT=plain keeps the readable development format.
"""
from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from urllib.parse import unquote

from django.core.signals import request_finished
from django.dispatch import receiver
from django.utils.functional import SimpleLazyObject, empty
from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept only when it is short and plain (it ends up in every line of the request).
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

# 18-digit resident ID numbers (last character may be X), old 15-digit ones, 11-digit mobiles; the
# digits may be split by spaces ("110101 19900307 123X", or %20 in a URL, decoded first).
_GAP = r"[ \t]*"
_ID_NUMBER = re.compile(rf"(?<![0-9])(?:(?:[0-9]{_GAP}){{17}}[0-9Xx]|(?:[0-9]{_GAP}){{14}}[0-9])"
                        rf"(?![0-9A-Za-z])(?!{_GAP}[0-9])")
_MOBILE = re.compile(rf"(?<![0-9])1{_GAP}[3-9](?:{_GAP}[0-9]){{9}}(?![0-9])")
_QUERY_STRING = re.compile(r"(\s/[^\s?\"]*)\?[^\s\"]*")


def _mask(text: str) -> str:
    return _MOBILE.sub("[PHONE]", _ID_NUMBER.sub("[ID]", text))


def _mask_decoded(text: str) -> str:
    """Masked; a text with percent escapes (a raw URL: %31%31… or %20 between digits) is masked
    after decoding them, so an encoded ID number is no way round the mask."""
    masked = _mask(text)
    if "%" in text:
        decoded = unquote(text)
        if decoded != text:
            decoded_masked = _mask(decoded)
            if decoded_masked != decoded:
                return decoded_masked
    return masked


def redact(text: str) -> str:
    """The text with ID numbers and mobile numbers masked (also when percent-encoded) and any
    `?query` after a path dropped."""
    return _mask_decoded(_QUERY_STRING.sub(r"\1", text))


def safe_path(path: str) -> str:
    """A request path fit for a log line: no query string (never passed in), no ID or phone."""
    return _mask_decoded(path)


def current_task_id() -> str:
    from celery._state import get_current_task  # the running task itself, not a proxy

    task = get_current_task()
    task_id = getattr(getattr(task, "request", None), "id", None) if task is not None else None
    return task_id or "-"


class ContextFilter(logging.Filter):
    """Adds `request_id` and `task_id` to every record that passes the handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        if not hasattr(record, "task_id"):
            record.task_id = current_task_id()
            # the worker's "Task … received" line is written before the task runs: its id is in
            # the record's data
            data = getattr(record, "data", None)
            if record.task_id == "-" and isinstance(data, dict) and isinstance(data.get("id"), str):
                record.task_id = data["id"]
        return True


class RedactFilter(logging.Filter):
    """Masks ID numbers and phones in the formatted message (a safety net for lines written by
    Django and libraries with a raw path); attached to those loggers and to the console handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


# Extra attributes some libraries put on records that must never be serialised: Django's
# `request` (its repr carries the query string) and the server's `server_time`/socket.
_DROPPED_EXTRAS = ("request", "server_time")
_UNTOUCHED = frozenset({"time", "level", "logger", "request_id", "task_id"})


class JsonFormatter(_BaseJsonFormatter):
    """One JSON object per line: time, level, logger, message, request and task ids, then the
    record's extra fields (the access line's method, path, status, duration_ms, user_id).

    Python warnings are routed into logging as well (`logging.captureWarnings`), so that with
    LOG_FORMAT=json every line a process writes to the log stream is JSON."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("timestamp", "time")
        kwargs.setdefault("json_ensure_ascii", False)
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        super().__init__("%(levelname)s %(name)s %(message)s %(request_id)s %(task_id)s", *args, **kwargs)
        logging.captureWarnings(True)

    def process_log_record(self, log_data: dict) -> dict:
        for key in _DROPPED_EXTRAS:
            log_data.pop(key, None)
        for key, value in log_data.items():
            if isinstance(value, str) and key not in _UNTOUCHED:
                log_data[key] = redact(value)
        return super().process_log_record(log_data)


access_log = logging.getLogger("ncms.access")


def _user_id(request) -> int | None:
    """The user's id when the request already loaded its user; never a query of its own (a public
    page or a health check that never looked at the user is logged without one)."""
    user = getattr(request, "user", None)
    if user is None:
        return None
    if isinstance(user, SimpleLazyObject):
        if user._wrapped is empty:
            return None
        user = user._wrapped
    return user.pk if user.is_authenticated else None


@receiver(request_finished, dispatch_uid="core.logs.request_id_clear")
def _request_id_clear(**kwargs) -> None:
    request_id_var.set("-")


class RequestLogMiddleware:
    """First in MIDDLEWARE: sets the request id for the whole request and writes its access line."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        # Kept until the response is finished (request_finished below), so that the lines Django
        # writes after the middleware chain ("Not Found: …") carry the id too.
        request_id_var.set(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        self._log(request, response, started)
        return response

    @staticmethod
    def _log(request, response, started) -> None:
        status = response.status_code
        match = getattr(request, "resolver_match", None)
        fields = {
            "method": request.method,
            "path": safe_path(request.path),
            "route": "/" + match.route if match is not None and match.route else "",
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "user_id": _user_id(request),
        }
        # Load balancers probe /healthz every few seconds: a healthy answer is not worth a line.
        if status >= 500:
            level = logging.ERROR
        elif fields["route"] == "/healthz" and status == 200:
            level = logging.DEBUG
        else:
            level = logging.INFO
        access_log.log(level, "%s %s %s %.1fms", fields["method"], fields["path"], status,
                       fields["duration_ms"], extra=fields)
