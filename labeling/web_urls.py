from django.urls import path

from . import web_views

urlpatterns = [
    path("", web_views.home, name="home"),
    path("projects/<int:project_id>/", web_views.project_page, name="project-page"),
    path("videos/<int:video_id>/label/", web_views.labeling_tool, name="labeling-tool"),
    path("bench/canvas/", web_views.canvas_benchmark, name="canvas-benchmark"),
]
