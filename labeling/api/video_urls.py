"""Video routes (included from labeling/api/urls.py under /api/)."""

from django.urls import path

from . import video_views as views

video_list = views.VideoViewSet.as_view({"get": "list"})
video_detail = views.VideoViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"})

urlpatterns = [
    path("projects/<int:project_pk>/videos/", views.ProjectVideosView.as_view(), name="project-videos"),
    path("videos/", video_list, name="video-list"),
    path("videos/<int:pk>/", video_detail, name="video-detail"),
    path("videos/<int:pk>/file/", views.VideoFileView.as_view(), name="video-file"),
    path("videos/<int:pk>/frames/<int:n>/", views.VideoFrameView.as_view(), name="video-frame"),
    path("videos/<int:pk>/chunks/", views.VideoChunkView.as_view(), name="video-chunks"),
]
