"""Translate the domain's errors into API answers: 400 with field messages, 403, 404."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def validation_payload(error: ValidationError) -> dict:
    """``{"field": ["message", ...]}``; errors without a field go under ``non_field_errors``."""
    if hasattr(error, "error_dict"):
        return {field: [str(m) for m in messages] for field, messages in error.message_dict.items()}
    return {"non_field_errors": [str(m) for m in error.messages]}


def exception_handler(exc, context):
    """DRF's handler, plus the domain's ValidationError subclasses (DomainError) as 400."""
    if isinstance(exc, ValidationError):
        return Response(validation_payload(exc), status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
