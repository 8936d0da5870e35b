"""API errors are JSON with a code, always (settings.REST_FRAMEWORK["EXCEPTION_HANDLER"] for the
API views; config.urls.handler500 for what fails before a view under /api/).

- What DRF knows (authentication, permissions, throttling, 404, bad method) keeps DRF's answer.
- A lost database connection (django.db OperationalError / InterfaceError): 503
  `{"error": "database_unavailable", …}` with Retry-After; nothing was written (the services'
  transactions roll back), and settling is idempotent by invoice, so the caller sends it again.
- Anything else: 500 `{"error": "server_error", …}`; the traceback goes to the log, never to the
  caller.
"""
from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

log = logging.getLogger("ncms.api")

DATABASE_UNAVAILABLE = "数据库暂时无法连接，本次请求未处理，请稍后重新发送（结算接口幂等）"
SERVER_ERROR = "服务器内部错误，本次请求未完成；请稍后重新发送（结算接口幂等），如仍失败请联系县合管办"
RETRY_AFTER_SECONDS = "5"


def error_body(exc: BaseException | None) -> tuple[dict, int, dict]:
    """The body, status and headers of an unhandled error (logged here, with its traceback)."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        log.warning("database unavailable: %s", type(exc).__name__, exc_info=exc)
        return ({"error": "database_unavailable", "message": DATABASE_UNAVAILABLE}, 503,
                {"Retry-After": RETRY_AFTER_SECONDS})
    log.error("unhandled API error: %s", type(exc).__name__ if exc else "-", exc_info=exc)
    return {"error": "server_error", "message": SERVER_ERROR}, 500, {}


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is not None:
        return response
    set_rollback()
    body, status, headers = error_body(exc)
    return Response(body, status=status, headers=headers)


def json_server_error(exc: BaseException | None) -> JsonResponse:
    """The same answer for an error Django caught outside DRF (config.urls.handler500)."""
    body, status, headers = error_body(exc)
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    for name, value in headers.items():
        response[name] = value
    return response
