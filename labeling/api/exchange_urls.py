"""Routes for the exchange API (mounted at /api/)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
