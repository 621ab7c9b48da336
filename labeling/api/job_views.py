"""Endpoints that START jobs (annotator or higher). Listing, reading and cancelling jobs is /api/jobs/.

Every endpoint validates all parameters before anything is stored or queued: bad input is a 400
with {"detail": "..."} and no Job row. The answer is the queued Job (201); follow it on the video's
WebSocket (/ws/videos/<id>/) or by polling /api/jobs/<id>/.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling import selectors
from labeling.permissions import ANNOTATE, require_role
from labeling.services import job_runs

from .serializers import ErrorSerializer, JobSerializer

BAD_REQUEST = OpenApiResponse(ErrorSerializer, description="Invalid parameters; nothing was queued")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="Not found, or in a project you are not a member of")
FORBIDDEN = OpenApiResponse(ErrorSerializer, description="Your role in the project is too weak")


class BadInput(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Invalid parameters."


class _Input(serializers.Serializer):
    """Accepts only the declared fields: an unknown field is a 400, not silently ignored."""

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(f"Unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}.")
        return attrs


class TrackJobInput(_Input):
    model = serializers.CharField(required=False, default="default",
                                  help_text='"default" (bundled person + pose model) or an uploaded .pt/.onnx model')
    classes = serializers.JSONField(required=False, help_text="class names or ids to keep (default: those with a label)")
    tracker = serializers.CharField(required=False, default="trackroom", help_text="multi-object tracker name")
    tracker_params = serializers.JSONField(required=False)
    reid_model = serializers.JSONField(
        required=False, help_text='for tracker "reid": a ready ReID model id of the project, or "imagenet"'
    )
    conf = serializers.FloatField(required=False)
    imgsz = serializers.JSONField(required=False, help_text='"auto" or pixels')
    start = serializers.JSONField(required=False, help_text="first frame (0-based, default 0)")
    stop = serializers.JSONField(required=False, help_text="frame after the last (default: the end)")
    labels = serializers.JSONField(required=False, help_text='{"class name": label id}')
    label = serializers.IntegerField(required=False, help_text="one label id for every class")


class AutoTrackInput(_Input):
    frame = serializers.JSONField(help_text="frame of the figure to follow")
    direction = serializers.CharField(required=False, default="forward", help_text="forward, backward or both")
    tracker = serializers.CharField(required=False, allow_null=True, default=None)
    stop_frame = serializers.JSONField(required=False)


class TrackFrameInput(_Input):
    frame = serializers.JSONField()
    direction = serializers.CharField(required=False, default="forward")
    tracker = serializers.CharField(required=False, allow_null=True, default=None)


class RenderInput(_Input):
    start = serializers.JSONField(required=False)
    stop = serializers.JSONField(required=False)
    trail = serializers.JSONField(required=False, default=15)


class _JobStartView(APIView):
    input_class: type[serializers.Serializer]

    def parse(self) -> dict:
        data = self.input_class(data=self.request.data)
        if not data.is_valid():
            errors = data.errors
            detail = "; ".join(
                (" ".join(str(m) for m in msgs) if name == "non_field_errors" else f"{name}: {' '.join(str(m) for m in msgs)}")
                for name, msgs in errors.items()
            )
            raise BadInput(detail)
        return dict(data.validated_data)

    def get_video(self, video_pk: int):
        video = get_object_or_404(selectors.videos_for_user(self.request.user), pk=video_pk)
        require_role(self.request.user, video.project_id, ANNOTATE)
        return video

    @staticmethod
    def created(job) -> Response:
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)


class TrackJobView(_JobStartView):
    input_class = TrackJobInput

    @extend_schema(
        summary="Track a video: detector + multi-object tracker over a frame range (annotator)",
        description="Creates one track per object found. Re-running on a range replaces that range's earlier "
        "detector output; manual figures and keyframes are never touched.",
        request=TrackJobInput,
        responses={201: JobSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def post(self, request, video_pk: int):
        video = self.get_video(video_pk)
        return self.created(job_runs.start_track_job(video=video, user=request.user, **self.parse()))


class TrackFrameJobView(_JobStartView):
    input_class = TrackFrameInput

    @extend_schema(
        summary="Auto-track every object that has a figure on a frame (annotator)",
        request=TrackFrameInput,
        responses={201: JobSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def post(self, request, video_pk: int):
        video = self.get_video(video_pk)
        return self.created(job_runs.start_track_frame_job(video=video, user=request.user, **self.parse()))


class RenderJobView(_JobStartView):
    input_class = RenderInput

    @extend_schema(
        summary="Render the video with its tracks drawn to a WebM (annotator); the job's result has its URL",
        request=RenderInput,
        responses={201: JobSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def post(self, request, video_pk: int):
        video = self.get_video(video_pk)
        return self.created(job_runs.start_render_job(video=video, user=request.user, **self.parse()))


class AutoTrackJobView(_JobStartView):
    input_class = AutoTrackInput

    @extend_schema(
        summary="Auto-track one object from its figure on a frame (annotator)",
        description="Follows the track forward and/or backward with the single-object tracker and stops before "
        "its next manual figure or keyframe. Cancels an auto-track of the same track still in flight.",
        request=AutoTrackInput,
        responses={201: JobSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def post(self, request, track_pk: int):
        track = get_object_or_404(selectors.tracks_for_user(request.user), pk=track_pk)
        require_role(request.user, track.video.project_id, ANNOTATE)
        return self.created(job_runs.start_auto_track_job(track=track, user=request.user, **self.parse()))
