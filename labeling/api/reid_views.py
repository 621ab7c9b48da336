"""ReID models of a project (train, list, read, download, loss curve, delete) and job output files.

Roles (labeling/permissions.py): any member reads (viewer+), annotators start training (like any job),
managers delete. A model or job of a project the caller is not in is a 404.

Job output files (a render's WebM) are served here with their Content-Type and byte ranges: Chromium's
<video> asks for ranges to learn the duration and to seek, and plays nothing seekable without them.
"""

from __future__ import annotations

import mimetypes
import re
import tempfile
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling import selectors
from labeling.models import JobKind, JobStatus, Project, ReidModel
from labeling.permissions import ANNOTATE, MANAGE, READ, require_role
from labeling.services import reid as reid_services

from .errors import PlainErrorsMixin
from .serializers import ErrorSerializer, JobSerializer

NOT_FOUND = OpenApiResponse(ErrorSerializer, description="Not found, or in a project you are not a member of")
FORBIDDEN = OpenApiResponse(ErrorSerializer, description="Your role in the project is too weak")
BAD_REQUEST = OpenApiResponse(ErrorSerializer, description="Invalid parameters; nothing was queued or changed")
NOT_READY = OpenApiResponse(ErrorSerializer, description="The model (or job) has no file yet, or no longer")
RANGE_CHUNK = 256 * 1024


# ------------------------------------------------------------------------------------ serializers


class ReidModelSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField(help_text="training, ready or failed")
    videos = serializers.SerializerMethodField(help_text="Ids of the training videos")
    download_url = serializers.SerializerMethodField(help_text="The weights file (null until ready)")
    loss_png_url = serializers.SerializerMethodField(help_text="The loss curve as a PNG (null before any loss)")
    size = serializers.SerializerMethodField(help_text="File size in bytes (null until ready)")

    class Meta:
        model = ReidModel
        fields = [
            "id", "project", "name", "status", "created_at", "created_by", "params", "metrics", "losses",
            "videos", "job", "download_url", "loss_png_url", "seconds", "size",
        ]  # fmt: skip
        read_only_fields = fields

    def get_status(self, obj) -> str:
        return reid_services.effective_status(obj)

    def get_videos(self, obj) -> list[int]:
        return sorted(v.pk for v in obj.videos.all())

    def get_download_url(self, obj) -> str | None:
        return f"/api/reid-models/{obj.pk}/download/" if obj.file and self.get_status(obj) == "ready" else None

    def get_loss_png_url(self, obj) -> str | None:
        return f"/api/reid-models/{obj.pk}/loss.png" if obj.losses else None

    def get_size(self, obj) -> int | None:
        path = reid_services.reid_model_path(obj) if obj.file else None
        return path.stat().st_size if path is not None else None


class ReidTrainInput(serializers.Serializer):
    videos = serializers.JSONField(help_text="Ids of the project's videos to train on")
    detections = serializers.JSONField(
        required=False, default=reid_services.TRACK_JOB,
        help_text='"track-job" (the detector boxes of an earlier Track job), "detections:<id>" (an imported '
        'detection set of that video), or {"<video id>": one of those}',
    )  # fmt: skip
    steps = serializers.JSONField(required=False, help_text=f"Training steps (default {reid_services.DEFAULT_STEPS})")
    name = serializers.CharField(required=False, allow_blank=True, max_length=255)
    batch = serializers.JSONField(required=False, help_text="Pairs of frames per step (engine default)")
    lr = serializers.JSONField(required=False, help_text="Learning rate (engine default)")

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(f"Unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}.")
        return attrs


# ---------------------------------------------------------------------------------------- helpers


class _JsonErrors:
    """Errors are JSON whatever the Accept header says (a <video> or <img> asks for video/* or image/*)."""

    def perform_content_negotiation(self, request, force=False):
        return JSONRenderer(), JSONRenderer.media_type


def _file_chunks(path: Path, start: int, length: int):
    with open(path, "rb") as handle:
        handle.seek(start)
        left = length
        while left > 0:
            chunk = handle.read(min(RANGE_CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def ranged_file_response(request, path: Path, content_type: str, *, filename: str | None = None,
                         as_attachment: bool = False) -> HttpResponse:  # fmt: skip
    """The file, or the one byte range the request's ``Range`` header asks for (206 with Content-Range;
    416 when it lies outside the file). Several ranges in one request are answered with the whole file
    (allowed by RFC 9110, and browsers never ask for that on media)."""
    size = path.stat().st_size
    header = request.headers.get("Range", "").strip()
    match = _RANGE.match(header.replace(" ", "")) if header else None
    if match and (match.group(1) or match.group(2)):
        first, last = match.group(1), match.group(2)
        if first:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
        else:  # "bytes=-N": the last N bytes
            start, end = max(0, size - int(last)), size - 1
        if start >= size or end < start:
            response = HttpResponse(status=status.HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE)
            response["Content-Range"] = f"bytes */{size}"
            response["Accept-Ranges"] = "bytes"
            return response
        response = StreamingHttpResponse(_file_chunks(path, start, end - start + 1), status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    else:
        response = FileResponse(open(path, "rb"), content_type=content_type, as_attachment=as_attachment,
                                filename=filename or path.name)  # fmt: skip
    if filename and not response.has_header("Content-Disposition"):
        kind = "attachment" if as_attachment else "inline"
        response["Content-Disposition"] = f'{kind}; filename="{filename}"'
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, no-cache"
    return response


def _model_for(request, pk: int, needed: str) -> ReidModel:
    model = get_object_or_404(reid_services.reid_models_for_user(request.user), pk=pk)
    require_role(request.user, model.project_id, needed)
    return model


# ------------------------------------------------------------------------------------------ views


class ProjectReidModelsView(PlainErrorsMixin, APIView):
    @extend_schema(
        summary="A project's ReID models, newest first (viewer)",
        responses={200: ReidModelSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request, project_pk: int):
        require_role(request.user, project_pk, READ)
        return Response(ReidModelSerializer(reid_services.reid_models_of_project(project_pk), many=True).data)


class ReidTrainView(PlainErrorsMixin, APIView):
    @extend_schema(
        summary="Train a self-supervised ReID model on videos of the project (annotator)",
        description=(
            "Checks everything first (the videos belong to this project, each has detections to learn from), "
            "then creates the model (status training) and queues a `reid_train` job, answered here. The job's "
            "`result.losses` ([[step, loss], ...]) grows while it runs and is carried by every `job.progress` "
            "event on the first training video's WebSocket; `result.model` is the model's id. Cancel it like "
            "any job. A failed or cancelled training leaves the model failed, with no file."
        ),
        request=ReidTrainInput,
        responses={201: JobSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def post(self, request, project_pk: int):
        require_role(request.user, project_pk, ANNOTATE)
        data = ReidTrainInput(data=request.data)
        data.is_valid(raise_exception=True)
        project = Project.objects.get(pk=project_pk)
        job = reid_services.start_reid_train_job(project=project, user=request.user, **data.validated_data)
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)


class ReidModelView(PlainErrorsMixin, APIView):
    @extend_schema(summary="One ReID model (viewer)", responses={200: ReidModelSerializer, 404: NOT_FOUND})
    def get(self, request, pk: int):
        return Response(ReidModelSerializer(_model_for(request, pk, READ)).data)

    @extend_schema(
        summary="Delete a ReID model and its file (manager)",
        description="Refused with 400 while its training or a Track job using it is queued or running.",
        responses={204: None, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def delete(self, request, pk: int):
        reid_services.reid_model_delete(model=_model_for(request, pk, MANAGE))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReidModelDownloadView(_JsonErrors, PlainErrorsMixin, APIView):
    @extend_schema(
        summary="Download a trained ReID model (viewer)",
        description="The weights file (`trackroom track --tracker reid --reid model.pt` uses it). 409 while "
        "the model is training or when it failed.",
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 404: NOT_FOUND, 409: NOT_READY},
    )
    def get(self, request, pk: int):
        model = _model_for(request, pk, READ)
        path = reid_services.reid_model_path(model) if reid_services.effective_status(model) == "ready" else None
        if path is None:
            state = reid_services.effective_status(model)
            reason = {"training": "is still training", "failed": "failed; it has no file"}.get(state, "has no file")
            return Response({"detail": f"ReID model '{model.name}' {reason}."}, status=status.HTTP_409_CONFLICT)
        return ranged_file_response(request, path, "application/octet-stream",
                                    filename=reid_services.reid_model_download_name(model), as_attachment=True)  # fmt: skip


class ReidModelLossPlotView(_JsonErrors, PlainErrorsMixin, APIView):
    @extend_schema(
        summary="The training loss curve as a PNG (viewer)",
        responses={(200, "image/png"): OpenApiTypes.BINARY, 404: NOT_FOUND, 409: NOT_READY},
    )
    def get(self, request, pk: int):
        model = _model_for(request, pk, READ)
        if not model.losses:
            return Response({"detail": f"ReID model '{model.name}' has no loss recorded yet."},
                            status=status.HTTP_409_CONFLICT)  # fmt: skip
        from tracking.reid.plot import write_loss_png  # matplotlib: loaded on first use only

        with tempfile.TemporaryDirectory(prefix="trackroom-loss-") as folder:
            path = Path(folder) / "loss.png"
            write_loss_png([(int(s), float(v)) for s, v in model.losses], path)
            body = path.read_bytes()
        response = HttpResponse(body, content_type="image/png")
        response["Cache-Control"] = "private, no-cache"
        return response


class JobFileView(_JsonErrors, PlainErrorsMixin, APIView):
    @extend_schema(
        summary="A job's output file, e.g. a render's WebM (viewer); byte ranges supported",
        description="Plays in a <video> (Content-Type video/webm, `Range` requests answered with 206 so the "
        "browser can seek). `?download=1` asks the browser to save it instead. 409 while the job has no file.",
        responses={(200, "video/webm"): OpenApiTypes.BINARY, 206: OpenApiTypes.BINARY, 404: NOT_FOUND,
                   409: NOT_READY},  # fmt: skip
    )
    def get(self, request, pk: int):
        job = get_object_or_404(selectors.jobs_for_user(request.user), pk=pk)
        require_role(request.user, job.project_id, READ)
        path = _job_file(job)
        if path is None:
            return Response({"detail": f"Job {job.pk} has no output file ({job.status})."}, status=status.HTTP_409_CONFLICT)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.suffix == ".webm":
            content_type = "video/webm"
        download = request.query_params.get("download") in ("1", "true", "yes")
        return ranged_file_response(request, path, content_type, filename=path.name, as_attachment=download)


def _job_file(job) -> Path | None:
    """The output file a finished job wrote under MEDIA_ROOT (renders today), or None."""
    if job.kind != JobKind.RENDER or job.status != JobStatus.DONE:
        return None
    relative = (job.result or {}).get("file")
    if not relative:
        return None
    media = Path(settings.MEDIA_ROOT).resolve()
    path = (media / relative).resolve()
    if not path.is_relative_to(media) or not path.is_file():
        return None
    return path

