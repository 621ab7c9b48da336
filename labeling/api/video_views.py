"""Video API: upload, list, edit, delete, download, and exact frames as JPEG (one, or a chunk).

Roles (labeling/permissions.py): any member reads (viewer+); managers upload, edit and delete.
A video of a project the caller is not in is a 404.
"""

from __future__ import annotations

import mimetypes
import textwrap
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling import selectors
from labeling.models import Project
from labeling.permissions import MANAGE, READ, require_role
from labeling.services import videos as video_services

from . import video_serializers as s
from .errors import PlainErrorsMixin


class _Error(serializers.Serializer):
    detail = serializers.CharField()


NOT_FOUND = OpenApiResponse(_Error, description="Not found, or in a project you are not a member of")
FORBIDDEN = OpenApiResponse(_Error, description="Your role in the project is too weak")
BAD_REQUEST = OpenApiResponse(_Error, description="Invalid input; detail says what to fix")
TOO_LARGE = OpenApiResponse(_Error, description="The file is over TRACKROOM_MAX_VIDEO_BYTES")
# Frames of a stored video never change (a new upload is a new video), so browsers may keep them.
IMMUTABLE = "private, max-age=31536000, immutable"


class VideoAPIMixin(PlainErrorsMixin):
    too_large_error = video_services.VideoTooLarge

    def parse(self, serializer_class, **kwargs) -> dict:
        serializer = serializer_class(data=self.request.data, **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def get_video(self, pk):
        return get_object_or_404(selectors.videos_for_user(self.request.user), pk=pk)


class BinaryAnswerMixin(VideoAPIMixin):
    """Views that answer bytes (JPEG, chunks, files). Errors are still JSON, whatever the Accept
    header says (an <img> asks for image/*; a 404 must not turn into a 406)."""

    def perform_content_negotiation(self, request, force=False):
        return JSONRenderer(), JSONRenderer.media_type


def _not_modified(request, etag: str) -> bool:
    tags = request.headers.get("If-None-Match", "")
    return etag in [t.strip() for t in tags.split(",")] or tags.strip() == "*"


def _cached_answer(request, etag: str, make) -> HttpResponse:
    response = HttpResponse(status=304) if _not_modified(request, etag) else make()
    response["ETag"] = etag
    response["Cache-Control"] = IMMUTABLE
    return response


VIDEO_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Video id")
QUALITY = OpenApiParameter(
    "quality", OpenApiTypes.INT, OpenApiParameter.QUERY, description="JPEG quality 1..100 (default 90)"
)


# --- collection per project --------------------------------------------------------------------


class ProjectVideosView(VideoAPIMixin, APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="Videos of one project (viewer)",
        responses={200: s.VideoSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request, project_pk: int):
        require_role(request.user, project_pk, READ)
        videos = selectors.videos_for_user(request.user).filter(project_id=project_pk).order_by("id")
        return Response(s.VideoSerializer(videos, many=True).data)

    @extend_schema(
        summary="Upload a video (manager)",
        description=(
            "multipart/form-data with `file` (the video) and optional `name`. The file is checked by "
            "decoding every frame; a file that is not a video, truncated, has no frames, uses a codec "
            "Trackroom cannot decode, or is too large in pixels is refused with 400 and a sentence saying "
            "why, and nothing is stored. Files over TRACKROOM_MAX_VIDEO_BYTES get 413. fps is what the "
            "container says; change it with PATCH /api/videos/{id}/ if the header is wrong."
        ),
        request={"multipart/form-data": s.VideoUploadSerializer},
        responses={201: s.VideoSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND, 413: TOO_LARGE},
    )
    def post(self, request, project_pk: int):
        require_role(request.user, project_pk, MANAGE)
        # Refuse an obviously too large body before reading (and spooling) any of it.
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0  # let the parser deal with a malformed request
        if declared > video_services.max_video_bytes() + 64 * 1024:  # room for the multipart envelope
            raise video_services.VideoTooLarge(video_services.too_large_message(declared))
        data = self.parse(s.VideoUploadSerializer)
        upload = data["file"]
        try:
            video = video_services.video_create(
                project=Project.objects.get(pk=project_pk),
                source=upload,
                name=data.get("name"),
                user=request.user,
                original_name=upload.name,
            )
        finally:
            upload.close()  # removes Django's spooled temporary file now, not at garbage collection
        return Response(s.VideoSerializer(video).data, status=status.HTTP_201_CREATED)


# --- single videos -------------------------------------------------------------------------------


class VideoFilter(filters.FilterSet):
    # A plain number: another project's id filters to nothing instead of "invalid choice".
    project = filters.NumberFilter(field_name="project_id")


@extend_schema_view(
    list=extend_schema(summary="Videos in your projects (filter ?project=)"),
    retrieve=extend_schema(summary="One video (viewer)", responses={200: s.VideoSerializer, 404: NOT_FOUND}),
    partial_update=extend_schema(
        summary="Rename a video or correct its fps (manager)",
        request=s.VideoUpdateSerializer,
        responses={200: s.VideoSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
    destroy=extend_schema(
        summary="Delete a video with its tracks, figures, jobs, file and cached frames (manager)",
        responses={204: None, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
)
class VideoViewSet(
    VideoAPIMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.VideoSerializer
    filterset_class = VideoFilter
    ordering_fields = ["id", "name", "created_at", "frame_count"]
    ordering = ["id"]
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.videos_for_user(self.request.user)

    def partial_update(self, request, *args, **kwargs):
        video = self.get_object()
        require_role(request.user, video.project_id, MANAGE)
        data = self.parse(s.VideoUpdateSerializer)
        video = video_services.video_update(video=video, **data)
        return Response(s.VideoSerializer(video).data)

    def destroy(self, request, *args, **kwargs):
        video = self.get_object()
        require_role(request.user, video.project_id, MANAGE)
        video_services.video_delete(video=video)
        return Response(status=status.HTTP_204_NO_CONTENT)


class VideoFileView(BinaryAnswerMixin, APIView):
    @extend_schema(
        summary="Download the original video file (viewer)",
        parameters=[VIDEO_ID],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        video = self.get_video(pk)
        path = Path(video_services.video_file_path(video))
        filename = video.name if Path(video.name).suffix else f"{video.name}{path.suffix}"
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        response = FileResponse(open(path, "rb"), as_attachment=True, filename=filename, content_type=content_type)
        response["ETag"] = f'"{video.checksum}"'
        response["Cache-Control"] = "private, no-cache"
        return response


class VideoFrameView(BinaryAnswerMixin, APIView):
    @extend_schema(
        summary="One exact frame as JPEG (viewer)",
        description=(
            "Frame `n` (0-based) decoded frame-exactly, as image/jpeg. Cached on the server; the answer "
            "carries an ETag and `Cache-Control: private, max-age=31536000, immutable`, and If-None-Match "
            "gets 304. A frame outside 0..frame_count-1 is a 400 saying the valid range."
        ),
        parameters=[VIDEO_ID, OpenApiParameter("n", OpenApiTypes.INT, OpenApiParameter.PATH), QUALITY],
        responses={(200, "image/jpeg"): OpenApiTypes.BINARY, 400: BAD_REQUEST, 404: NOT_FOUND},
    )
    def get(self, request, pk: int, n: int):
        video = self.get_video(pk)
        quality = video_services.parse_quality(request.query_params.get("quality"))
        video_services.check_frame_index(video, n)
        etag = f'"{video.checksum[:16]}-f{n}-q{quality}"'
        return _cached_answer(
            request,
            etag,
            lambda: HttpResponse(
                video_services.frame_jpeg(video=video, index=n, quality=quality), content_type="image/jpeg"
            ),
        )


class VideoChunkView(BinaryAnswerMixin, APIView):
    """Frames start..start+count-1 in one response, for smooth playback.

    Format (``Content-Type: application/vnd.trackroom.frames``), all integers big-endian::

        bytes 0..3   b"TRFC"                      magic
        bytes 4..7   uint32 H                     length of the JSON header in bytes
        bytes 8..8+H JSON header (UTF-8)          {"video", "start", "count", "frame_count", "fps",
                                                   "width", "height", "content_type": "image/jpeg",
                                                   "frames": [{"index", "offset", "length"}, ...]}
        then         the JPEGs, back to back      frame i is body[8+H+offset : 8+H+offset+length]

    In a browser, without a library::

        const buf = await (await fetch(url)).arrayBuffer();
        const h = new DataView(buf).getUint32(4);
        const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, h)));
        for (const f of header.frames) {
          const blob = new Blob([new Uint8Array(buf, 8 + h + f.offset, f.length)], {type: "image/jpeg"});
          bitmaps[f.index] = await createImageBitmap(blob);
        }

    ``count`` is at most TRACKROOM_MAX_CHUNK_FRAMES; a chunk that runs past the last frame is cut
    short (header.count says how many came). The server decodes the missing frames of the range in
    one sequential pass and caches every frame as a JPEG (shared with the single-frame endpoint).
    """

    @extend_schema(
        summary="Several consecutive frames in one response (viewer)",
        description=textwrap.dedent((__doc__ or "").split("\n", 1)[-1]).strip(),
        parameters=[
            VIDEO_ID,
            OpenApiParameter(
                "start", OpenApiTypes.INT, OpenApiParameter.QUERY, required=True, description="First frame"
            ),
            OpenApiParameter(
                "count",
                OpenApiTypes.INT,
                OpenApiParameter.QUERY,
                description="How many frames (default and most: TRACKROOM_MAX_CHUNK_FRAMES)",
            ),
            QUALITY,
        ],
        responses={
            (200, video_services.CHUNK_CONTENT_TYPE): OpenApiResponse(
                OpenApiTypes.BINARY, description="Magic, header length, JSON header, JPEGs (format above)"
            ),
            400: BAD_REQUEST,
            404: NOT_FOUND,
        },
    )
    def get(self, request, pk: int):
        video = self.get_video(pk)
        most = int(settings.TRACKROOM_MAX_CHUNK_FRAMES)
        start = _int_param(request, "start", None)
        count = _int_param(request, "count", most)
        if count < 1 or count > most:
            raise exceptions.ValidationError(f"count must be from 1 to {most} frames.")
        video_services.check_frame_index(video, start)
        quality = video_services.parse_quality(request.query_params.get("quality"))
        count = min(count, video.frame_count - start)
        etag = f'"{video.checksum[:16]}-c{start}+{count}-q{quality}"'

        def make():
            chunk = video_services.frame_chunk(video=video, start=start, count=count, quality=quality)
            response = HttpResponse(chunk.body, content_type=video_services.CHUNK_CONTENT_TYPE)
            response["X-Frame-Start"] = str(start)
            response["X-Frame-Count"] = str(chunk.header["count"])
            return response

        return _cached_answer(request, etag, make)


def _int_param(request, name: str, default: int | None) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        if default is None:
            raise exceptions.ValidationError(f"Give ?{name}= (a frame number).")
        return default
    try:
        return int(raw)
    except ValueError:
        raise exceptions.ValidationError(f"{name} must be a whole number, not '{raw}'.") from None
