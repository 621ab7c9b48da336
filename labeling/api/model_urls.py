"""Routes of a project's model list (mounted under /api/ by labeling/api/urls.py)."""

from django.urls import path

from . import model_views

urlpatterns = [
    path("projects/<int:project_pk>/models/", model_views.ProjectModelsView.as_view(), name="project-models"),
    path("projects/<int:project_pk>/models/<str:model_id>/", model_views.ProjectModelView.as_view(),
         name="project-model"),  # fmt: skip
]
