"""Routes for the timeline API (mounted at /api/)."""

from django.urls import path

from . import timeline_views

urlpatterns = [
    path("videos/<int:video_pk>/timeline/", timeline_views.TimelineView.as_view(), name="video-timeline"),
]
