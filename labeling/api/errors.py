"""One error shape for every API failure: ``{"detail": "<sentence for a person>", ...}``.

Engine errors (``tracking.errors.TrackroomError``) and Django ``ValidationError`` raised from
services become 400s with their message instead of 500s.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from tracking.errors import TrackroomError


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            {"detail": exc.messages[0] if len(exc.messages) == 1 else exc.messages}
            if not hasattr(exc, "error_dict")
            else exc.message_dict
        )
    elif isinstance(exc, TrackroomError):
        return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)


def flatten_errors(errors) -> str:
    """DRF's nested field errors as one sentence: 'fps: Ensure this value is greater than 0.'"""
    if isinstance(errors, dict):
        return "; ".join(
            flatten_errors(v) if k in ("non_field_errors", "detail") else f"{k}: {flatten_errors(v)}"
            for k, v in errors.items()
        )
    if isinstance(errors, list):
        return " ".join(flatten_errors(e) for e in errors)
    return str(errors)


class PlainErrorsMixin:
    """For upload views: validation errors as one {"detail": sentence}, and the service's
    too-large error (``too_large_error``) as 413."""

    too_large_error: type[Exception] | None = None

    def handle_exception(self, exc):
        if self.too_large_error is not None and isinstance(exc, self.too_large_error):
            return Response({"detail": exc.messages[0]}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        already_shaped = isinstance(getattr(exc, "detail", None), dict) and "detail" in exc.detail
        if isinstance(exc, exceptions.ValidationError) and not already_shaped:
            return Response({"detail": flatten_errors(exc.detail)}, status=status.HTTP_400_BAD_REQUEST)
        return super().handle_exception(exc)
