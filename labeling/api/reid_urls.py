"""Routes of ReID models and job output files (mounted at /api/)."""

from django.urls import path

from . import reid_views

urlpatterns = [
    path("projects/<int:project_pk>/reid-models/", reid_views.ProjectReidModelsView.as_view(), name="project-reid-models"),
    path("projects/<int:project_pk>/reid-models/train/", reid_views.ReidTrainView.as_view(), name="project-reid-train"),
    path("reid-models/<int:pk>/", reid_views.ReidModelView.as_view(), name="reid-model"),
    path("reid-models/<int:pk>/download/", reid_views.ReidModelDownloadView.as_view(), name="reid-model-download"),
    path("reid-models/<int:pk>/loss.png", reid_views.ReidModelLossPlotView.as_view(), name="reid-model-loss-png"),
    path("jobs/<int:pk>/file/", reid_views.JobFileView.as_view(), name="job-file"),
]
