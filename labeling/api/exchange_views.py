"""Import/export, track edits with undo/redo, and the quality tools (score, drift, merge suggestions).

Roles: viewers export, score, read drift flags, suggestions and detection sets; annotators import and
edit. A video of a project the caller is not in is a 404. ``?format=`` here names the annotation
format, so these views never use it for DRF's renderer choice (answers are JSON or the file)."""

from __future__ import annotations

import json

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling import selectors, selectors_exchange
from labeling.models import FigureSource, LabelClass
from labeling.permissions import ANNOTATE, READ, require_role
from labeling.services import exchange as exchange_services
from labeling.services import track_edits
from labeling.services.track_edits import EditConflict
from tracking.formats import FORMATS, FormatError, get_format

from .serializers import ErrorSerializer, TrackSerializer
from .views import TrackroomAPIMixin


NOT_FOUND = OpenApiResponse(ErrorSerializer, description="Not found, or in a project you are not a member of")
FORBIDDEN = OpenApiResponse(ErrorSerializer, description="Your role in the project is too weak")
BAD_REQUEST = OpenApiResponse(ErrorSerializer, description="Invalid input; detail says what to fix")
CONFLICT = OpenApiResponse(ErrorSerializer, description="The tracks changed since; detail says what")
FORMAT = OpenApiParameter(
    "format", OpenApiTypes.STR, OpenApiParameter.QUERY, required=True, enum=list(FORMATS),
    description="mot (MOTChallenge txt), cvat (CVAT for video 1.1 XML), yolo (zip of per-frame txt), coco (JSON)",
)  # fmt: skip


class ExchangeAPIMixin(TrackroomAPIMixin):
    def perform_content_negotiation(self, request, force=False):
        return JSONRenderer(), JSONRenderer.media_type

    def handle_exception(self, exc):
        if isinstance(exc, FormatError):  # ImportInvalid included: every bad row, with its line
            return Response(
                {"detail": str(exc), "errors": [e.as_dict() for e in exc.errors]}, status=status.HTTP_400_BAD_REQUEST
            )
        if isinstance(exc, EditConflict):
            return Response({"detail": exc.message}, status=status.HTTP_409_CONFLICT)
        return super().handle_exception(exc)

    def get_video(self, pk):
        return get_object_or_404(selectors.videos_for_user(self.request.user), pk=pk)


def _format_name(request) -> str:
    name = request.query_params.get("format")
    if not name:
        raise exceptions.ValidationError({"detail": f"Say which format: ?format= one of {', '.join(FORMATS)}."})
    get_format(name)  # UnknownNameError → 400 with the choices
    return name


async def _async_pieces(pieces):
    """Pull the (database-reading) generator in Django's sync thread, piece by piece, so an ASGI
    server streams the download instead of collecting it in memory first."""
    iterator = iter(pieces)
    done = object()
    pull = sync_to_async(lambda: next(iterator, done), thread_sensitive=True)
    while (piece := await pull()) is not done:
        yield piece


def _download(request, filename: str, content_type: str, pieces) -> StreamingHttpResponse:
    django_request = getattr(request, "_request", request)
    body = _async_pieces(pieces) if isinstance(django_request, ASGIRequest) else pieces
    response = StreamingHttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


# --- export / import ------------------------------------------------------------------------------


class VideoExportView(ExchangeAPIMixin, APIView):
    @extend_schema(
        summary="Download a video's annotations (viewer), streamed",
        parameters=[FORMAT],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 400: BAD_REQUEST, 404: NOT_FOUND},
    )
    def get(self, request, video_pk: int):
        video = self.get_video(video_pk)
        name, content_type, pieces = exchange_services.export_video(video, _format_name(request))
        return _download(request, name, content_type, pieces)


class ProjectExportView(ExchangeAPIMixin, APIView):
    @extend_schema(
        summary="Download every video's annotations of a project as one zip (viewer)",
        parameters=[FORMAT],
        responses={(200, "application/zip"): OpenApiTypes.BINARY, 400: BAD_REQUEST, 404: NOT_FOUND},
    )
    def get(self, request, project_pk: int):
        project = get_object_or_404(selectors.projects_for_user(request.user), pk=project_pk)
        name, content_type, pieces = exchange_services.export_project(project, _format_name(request))
        return _download(request, name, content_type, pieces)


IMPORT_REQUEST = inline_serializer(
    "AnnotationImport",
    {
        "file": serializers.FileField(),
        "format": serializers.ChoiceField(choices=list(FORMATS)),
        "as": serializers.ChoiceField(choices=["tracks", "detections"], default="tracks"),
        "label": serializers.IntegerField(required=False, help_text="Put every row under this label"),
        "renumber": serializers.BooleanField(required=False, help_text="Give imported tracks the next free numbers"),
        "name": serializers.CharField(required=False, help_text="Name of the detection set (as=detections)"),
    },
)
IMPORT_ANSWER = inline_serializer(
    "AnnotationImportResult",
    {"tracks": serializers.IntegerField(), "figures": serializers.IntegerField(),
     "detection_set": serializers.IntegerField(allow_null=True)},
)  # fmt: skip
ROW_ERRORS = OpenApiResponse(
    inline_serializer(
        "ImportErrors",
        {"detail": serializers.CharField(), "errors": serializers.ListField(child=serializers.DictField())},
    ),
    description='Bad rows, each {"line", "message"} (and "where" for JSON / zip members); nothing was stored',
)


def _flag(value) -> bool:
    return str(value).lower() in ("1", "true", "yes", "on")


class VideoImportView(ExchangeAPIMixin, APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="Import annotations (annotator): all rows checked first, nothing stored on any error",
        request={"multipart/form-data": IMPORT_REQUEST},
        responses={201: IMPORT_ANSWER, 400: ROW_ERRORS, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def post(self, request, video_pk: int):
        video = self.get_video(video_pk)
        require_role(request.user, video.project_id, ANNOTATE)
        upload = request.FILES.get("file")
        if upload is None:
            raise exceptions.ValidationError({"detail": "Attach the annotation file as 'file' (multipart)."})
        format_name = request.data.get("format")
        if not format_name:
            raise exceptions.ValidationError({"detail": f"Say which format: 'format' one of {', '.join(FORMATS)}."})
        label = None
        if request.data.get("label") not in (None, ""):
            try:
                label_id = int(request.data["label"])
            except (TypeError, ValueError):
                raise exceptions.ValidationError({"detail": "'label' must be a label id."}) from None
            label = LabelClass.objects.filter(pk=label_id, project_id=video.project_id).first()
            if label is None:
                raise exceptions.ValidationError({"detail": f"Label {label_id} is not a label of this project."})
        if upload.size > exchange_services.max_import_bytes():
            raise exceptions.ValidationError(
                {"detail": f"The file is {upload.size} bytes; imports take at most {exchange_services.max_import_bytes()}."}
            )
        result = exchange_services.import_annotations(
            video=video, data=upload.read(), format_name=format_name, as_=request.data.get("as", "tracks"),
            label=label, user=request.user, name=request.data.get("name") or upload.name,
            renumber=_flag(request.data.get("renumber", "")),
        )  # fmt: skip
        return Response(
            {
                "tracks": len(result.tracks),
                "figures": result.figures,
                "detection_set": result.detection_set.pk if result.detection_set else None,
            },
            status=status.HTTP_201_CREATED,
        )


def _detection_set_dict(d) -> dict:
    return {"id": d.pk, "video": d.video_id, "name": d.name, "rows": d.rows, "created_by": d.created_by_id,
            "created_at": d.created_at.isoformat(), "model": f"detections:{d.pk}"}  # fmt: skip


class DetectionSetsView(ExchangeAPIMixin, APIView):
    @extend_schema(summary="Detection sets imported for a video (viewer); use one as a Track job's model "
                   '"detections:<id>"', responses={200: OpenApiTypes.OBJECT, 404: NOT_FOUND})  # fmt: skip
    def get(self, request, video_pk: int):
        video = self.get_video(video_pk)
        return Response([_detection_set_dict(d) for d in selectors_exchange.detection_sets_of_video(video)])


class DetectionSetView(ExchangeAPIMixin, APIView):
    @extend_schema(summary="Delete an imported detection set and its file (annotator)",
                   responses={204: None, 403: FORBIDDEN, 404: NOT_FOUND})  # fmt: skip
    def delete(self, request, video_pk: int, set_pk: int):
        video = self.get_video(video_pk)
        found = get_object_or_404(selectors_exchange.detection_sets_of_video(video), pk=set_pk)
        require_role(request.user, video.project_id, ANNOTATE)
        exchange_services.detection_set_delete(detection_set=found)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- track edits ------------------------------------------------------------------------------------

EDIT_REQUEST = inline_serializer(
    "TrackEdit",
    {
        "op": serializers.ChoiceField(choices=["merge", "split", "relabel", "renumber", "delete_range", "outside"]),
        "tracks": serializers.ListField(child=serializers.IntegerField(), required=False, help_text="merge: [a, b]"),
        "keep": serializers.IntegerField(required=False, help_text="merge: the track that stays (default a)"),
        "track": serializers.IntegerField(required=False),
        "frame": serializers.IntegerField(required=False, help_text="split: first frame of the new track; outside"),
        "label": serializers.IntegerField(required=False),
        "number": serializers.IntegerField(required=False),
        "start": serializers.IntegerField(required=False, help_text="delete_range: first frame (included)"),
        "stop": serializers.IntegerField(required=False, help_text="delete_range: last frame (included)"),
    },
)
EDIT_ANSWER = inline_serializer(
    "TrackEditResult",
    {
        "edit": serializers.DictField(),
        "tracks": TrackSerializer(many=True),
        "deleted_tracks": serializers.ListField(child=serializers.IntegerField()),
        "frames": serializers.ListField(child=serializers.IntegerField(), allow_null=True),
    },
)


def _edit_answer(result) -> dict:
    return {
        "edit": track_edits.edit_dict(result.record),
        "tracks": TrackSerializer(result.tracks, many=True).data,
        "deleted_tracks": result.deleted_tracks,
        "frames": result.frames,
    }


class VideoEditsView(ExchangeAPIMixin, APIView):
    parser_classes = [JSONParser]

    @extend_schema(summary="The video's track edits, newest first (viewer)", responses={200: OpenApiTypes.OBJECT})
    def get(self, request, video_pk: int):
        video = self.get_video(video_pk)
        edits = selectors_exchange.edits_of_video(video)[:200]
        return Response([track_edits.edit_dict(e) for e in edits])

    @extend_schema(
        summary="Apply a track edit (annotator): merge, split, relabel, renumber, delete_range, outside",
        description=(
            "Each edit is one transaction and one undoable record. Merge overlap rule: on frames where both "
            "tracks have a figure, a manual / imported / keyframe figure beats a machine-made one; otherwise "
            "the kept track's figure stays. delete_range deletes frames start..stop, both included. outside "
            "marks the object outside from `frame` and removes the machine figures after it up to the next "
            "person-made one."
        ),
        request=EDIT_REQUEST,
        responses={201: EDIT_ANSWER, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def post(self, request, video_pk: int):
        video = self.get_video(video_pk)
        require_role(request.user, video.project_id, ANNOTATE)
        result = track_edits.apply_edit(video=video, params=request.data, user=request.user)
        return Response(_edit_answer(result), status=status.HTTP_201_CREATED)


class _EditUndoRedo(ExchangeAPIMixin, APIView):
    undo = True

    @extend_schema(request=None, responses={200: EDIT_ANSWER, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT})
    def post(self, request, edit_pk: int):
        record = get_object_or_404(selectors_exchange.edits_for_user(request.user), pk=edit_pk)
        require_role(request.user, record.video.project_id, ANNOTATE)
        if self.undo:
            result = track_edits.undo_edit(record=record, user=request.user)
        else:
            result = track_edits.redo_edit(record=record, user=request.user)
        return Response(_edit_answer(result))


class EditUndoView(_EditUndoRedo):
    undo = True


class EditRedoView(_EditUndoRedo):
    undo = False


# --- quality ----------------------------------------------------------------------------------------


def _int_param(request, name: str, default=None):
    value = request.query_params.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise exceptions.ValidationError({"detail": f"{name}={value!r} must be a whole number."}) from None


class MergeSuggestionsView(ExchangeAPIMixin, APIView):
    @extend_schema(
        summary="Pairs of tracks that look like one broken object, best first (viewer)",
        parameters=[
            OpenApiParameter("appearance", OpenApiTypes.BOOL, description="Compare appearance (default true)"),
            OpenApiParameter("limit", OpenApiTypes.INT, description="At most this many (default 50)"),
        ],
        responses={200: OpenApiTypes.OBJECT, 404: NOT_FOUND},
    )
    def get(self, request, video_pk: int):
        video = self.get_video(video_pk)
        appearance = request.query_params.get("appearance", "1").lower() not in ("0", "false", "no")
        limit = _int_param(request, "limit", 50)
        return Response(selectors_exchange.merge_suggestions(video, appearance=appearance, limit=limit))


def _selection(value, what: str):
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise exceptions.ValidationError({"detail": f"'{what}' must be a JSON object."}) from None
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in ("source", "created_by", "tracks"):
        raise exceptions.ValidationError(
            {"detail": f'\'{what}\' must be {{"source": "imported"}}, {{"created_by": user id}} or {{"tracks": [ids]}}.'}
        )
    key, item = next(iter(value.items()))
    if key == "source" and item not in FigureSource.values:
        raise exceptions.ValidationError({"detail": f"Unknown source {item!r}; one of {', '.join(FigureSource.values)}."})
    if key == "tracks" and (not isinstance(item, list) or not all(isinstance(i, int) for i in item)):
        raise exceptions.ValidationError({"detail": f"'{what}.tracks' must be a list of track ids."})
    if key == "created_by" and (isinstance(item, bool) or not isinstance(item, int)):
        raise exceptions.ValidationError({"detail": f"'{what}.created_by' must be a user id."})
    return value


class ScoreView(ExchangeAPIMixin, APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        summary="Score tracks against ground truth: HOTA, MOTA, IDF1, per-track table, ID switches (viewer)",
        description=(
            'JSON {"gt": selection, "pred": selection (optional: every other track)} where a selection is '
            '{"source": "imported"}, {"created_by": user id} or {"tracks": [ids]}; or multipart with a MOT gt '
            "file as `gt_file` (scored without importing it). Figures with confidence 0 are ignore boxes."
        ),
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT, 400: BAD_REQUEST, 404: NOT_FOUND},
    )
    def post(self, request, video_pk: int):
        video = self.get_video(video_pk)
        require_role(request.user, video.project_id, READ)
        gt_file = request.FILES.get("gt_file") or request.FILES.get("gt")
        pred = _selection(request.data.get("pred"), "pred")
        if gt_file is not None:
            meta = exchange_services.video_meta(video)
            shapes = get_format("mot").read(gt_file.read(), meta)
            return Response(selectors_exchange.score_video(video, None, pred, gt_shapes=shapes))
        gt = _selection(request.data.get("gt"), "gt")
        if gt is None:
            raise exceptions.ValidationError({"detail": 'Say what the ground truth is: {"gt": {"source": "imported"}}.'})
        return Response(selectors_exchange.score_video(video, gt, pred))


class DriftView(ExchangeAPIMixin, APIView):
    @extend_schema(
        summary="Suspicious frames of machine-made figures: confidence drops and box jumps (viewer)",
        parameters=[
            OpenApiParameter("track", OpenApiTypes.INT, description="Only this track"),
            OpenApiParameter("after", OpenApiTypes.INT, description="Only frames after this one"),
            OpenApiParameter("limit", OpenApiTypes.INT, description="At most this many (limit=1: next suspicious frame)"),
        ],
        responses={200: OpenApiTypes.OBJECT, 404: NOT_FOUND},
    )
    def get(self, request, video_pk: int):
        video = self.get_video(video_pk)
        track = _int_param(request, "track")
        if track is not None and not video.tracks.filter(pk=track).exists():
            raise exceptions.ValidationError({"detail": f"Track {track} is not a track of this video."})
        flags = selectors_exchange.drift_flags(
            video, track_id=track, after=_int_param(request, "after"), limit=_int_param(request, "limit")
        )
        return Response(flags)
