"""The labeling tool's timeline summary: where each track exists, its keyframes, machine-made ranges and
low-confidence frames, for the whole video in one small answer (labeling/selectors_timeline.py)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling import selectors
from labeling.selectors_timeline import DEFAULT_LOW_CONFIDENCE, timeline_of_video

from .serializers import ErrorSerializer

_TRACK_FIELDS = {
    "track": serializers.IntegerField(),
    "number": serializers.IntegerField(),
    "label": serializers.IntegerField(),
    "label_name": serializers.CharField(),
    "color": serializers.CharField(),
    "shape": serializers.CharField(),
    "source": serializers.CharField(help_text="The track's own source (who created it)"),
    "first": serializers.IntegerField(allow_null=True, help_text="First visible frame (null: none)"),
    "last": serializers.IntegerField(allow_null=True, help_text="Last visible frame, inclusive"),
    "segments": serializers.ListField(
        child=serializers.ListField(),
        help_text="[start, stop, source] runs, stop exclusive, outside frames excluded; a hole between two "
        'keyframes of a box/points track is an "interpolated" run',
    ),
    "keyframes": serializers.ListField(child=serializers.IntegerField()),
    "low_confidence": serializers.ListField(child=serializers.IntegerField()),
}
_TIMELINE = inline_serializer(
    "Timeline",
    {
        "video": serializers.IntegerField(),
        "low": serializers.FloatField(),
        "tracks": inline_serializer("TimelineTrack", _TRACK_FIELDS, many=True),
    },
)


class TimelineView(APIView):
    @extend_schema(
        summary="Timeline summary of a video's tracks (viewer)",
        parameters=[
            OpenApiParameter("video_pk", OpenApiTypes.INT, OpenApiParameter.PATH, description="Video id"),
            OpenApiParameter(
                "low", OpenApiTypes.FLOAT, OpenApiParameter.QUERY,
                description=f"Confidence below this marks a frame low-confidence (default {DEFAULT_LOW_CONFIDENCE})",
            ),
        ],  # fmt: skip
        responses={
            200: _TIMELINE,
            400: OpenApiResponse(ErrorSerializer, description="low is not a number between 0 and 1"),
            404: OpenApiResponse(ErrorSerializer, description="Not found, or in a project you are not a member of"),
        },
    )
    def get(self, request, video_pk: int):
        video = get_object_or_404(selectors.videos_for_user(request.user), pk=video_pk)
        text = request.query_params.get("low")
        low = DEFAULT_LOW_CONFIDENCE
        if text not in (None, ""):
            try:
                low = float(text)
            except ValueError:
                low = float("nan")
            if not 0.0 <= low <= 1.0:  # also false for NaN
                raise exceptions.ValidationError({"detail": f"low={text!r} must be a number between 0 and 1."})
        return Response(timeline_of_video(video.pk, low))
