"""REST API routes. Video upload / frames routes live in video_urls.py (kept separate on purpose)."""

from django.urls import include, path

urlpatterns = [
    path("", include("labeling.api.video_urls")),
]
