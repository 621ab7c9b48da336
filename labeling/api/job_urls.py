"""Routes that start jobs (mounted under /api/ by labeling/api/urls.py)."""

from django.urls import path

from . import job_views

urlpatterns = [
    path("videos/<int:video_pk>/jobs/track/", job_views.TrackJobView.as_view(), name="video-job-track"),
    path("videos/<int:video_pk>/jobs/track-frame/", job_views.TrackFrameJobView.as_view(), name="video-job-track-frame"),
    path("videos/<int:video_pk>/jobs/render/", job_views.RenderJobView.as_view(), name="video-job-render"),
    path("tracks/<int:track_pk>/auto-track/", job_views.AutoTrackJobView.as_view(), name="track-auto-track"),
]
