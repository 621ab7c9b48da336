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
