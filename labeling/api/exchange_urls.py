"""Routes for the exchange API (mounted at /api/): import/export, track edits, quality tools."""

from django.urls import path

from . import exchange_views as v

urlpatterns: list = [
    path("videos/<int:video_pk>/export/", v.VideoExportView.as_view(), name="video-export"),
    path("projects/<int:project_pk>/export/", v.ProjectExportView.as_view(), name="project-export"),
    path("videos/<int:video_pk>/import/", v.VideoImportView.as_view(), name="video-import"),
    path("videos/<int:video_pk>/detection-sets/", v.DetectionSetsView.as_view(), name="video-detection-sets"),
    path(
        "videos/<int:video_pk>/detection-sets/<int:set_pk>/", v.DetectionSetView.as_view(), name="video-detection-set"
    ),
    path("videos/<int:video_pk>/edits/", v.VideoEditsView.as_view(), name="video-edits"),
    path("edits/<int:edit_pk>/undo/", v.EditUndoView.as_view(), name="edit-undo"),
    path("edits/<int:edit_pk>/redo/", v.EditRedoView.as_view(), name="edit-redo"),
    path("videos/<int:video_pk>/merge-suggestions/", v.MergeSuggestionsView.as_view(), name="video-merge-suggestions"),
    path("videos/<int:video_pk>/score/", v.ScoreView.as_view(), name="video-score"),
    path("videos/<int:video_pk>/drift/", v.DriftView.as_view(), name="video-drift"),
]
