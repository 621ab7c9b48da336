"""REST API routes (mounted at /api/). Video upload / frames routes live in video_urls.py (kept
separate on purpose).

Project-scoped collections are nested paths (/api/projects/{project_pk}/members/, …/labels/);
video-scoped collections are filters (/api/tracks/?video=, /api/figures/?video=&track=), except
the two figure endpoints built for the labeling tool under /api/videos/{video_pk}/figures/.
"""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("projects", views.ProjectViewSet, basename="project")
router.register("tracks", views.TrackViewSet, basename="track")
router.register("figures", views.FigureViewSet, basename="figure")
router.register("jobs", views.JobViewSet, basename="job")

project_router = SimpleRouter()
project_router.register("members", views.MembershipViewSet, basename="project-member")
project_router.register("labels", views.LabelClassViewSet, basename="project-label")

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("videos/<int:video_pk>/figures/", views.FigureRangeView.as_view(), name="video-figures"),
    path("videos/<int:video_pk>/figures/bulk/", views.FigureBulkView.as_view(), name="video-figures-bulk"),
    path("projects/<int:project_pk>/", include(project_router.urls)),
    path("", include(router.urls)),
    path("", include("labeling.api.video_urls")),
    path("", include("labeling.api.job_urls")),
    path("", include("labeling.api.model_urls")),
    path("", include("labeling.api.reid_urls")),
    path("", include("labeling.api.exchange_urls")),
    path("", include("labeling.api.timeline_urls")),
]
