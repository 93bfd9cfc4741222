"""Turn database errors into 503 responses that name the MySQL error, for the load client."""

from __future__ import annotations

from collections.abc import Callable

from django.db import Error
from django.http import HttpRequest, HttpResponse, JsonResponse

ERROR_HEADER = "X-DB-Error"


def error_cause(exc: BaseException) -> str:
    """The MySQL error code (``"1040"``) of a database error, else the driver's class name."""
    # Django re-raises driver errors as its own classes with the same args and the driver's
    # exception as __cause__; the code is args[0] when the server or the client library set one.
    for candidate in (exc, exc.__cause__):
        args = getattr(candidate, "args", ())
        if args and isinstance(args[0], int) and args[0]:
            return str(args[0])
    # Errors without a code, such as this ENGINE's PoolTimeout.
    return type(exc.__cause__ or exc).__name__


class DatabaseErrorMiddleware:
    """Answer 503 with ``X-DB-Error: <code>`` instead of a bare 500 page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A 503 naming the cause for database errors; anything else is left to Django."""
        if not isinstance(exception, Error):
            return None
        cause = error_cause(exception)
        response = JsonResponse(
            {"error": str(exception)[:300], "cause": cause, "class": type(exception).__name__},
            status=503,
        )
        response[ERROR_HEADER] = cause
        return response
