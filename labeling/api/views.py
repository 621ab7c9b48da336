"""REST views: parse input, check the caller's role (labeling/permissions.py), call a service or a
selector, shape the answer. No business rules here.

Visibility: every queryset is scoped to the caller's projects, so an object of a project the
caller is not in is a 404 (and never appears in a list). A member whose role is too weak gets 403.
"""

from __future__ import annotations

import re

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, status, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling import selectors
from labeling.models import JobKind, JobStatus
from labeling.permissions import ANNOTATE, MANAGE, OWN, READ, has_role, require_role
from labeling.services import annotations as annotation_services
from labeling.services import job_runs
from labeling.services import projects as project_services
from labeling.services.annotations import BulkInvalid, FigureConflict

from . import serializers as s

# A range read answers at most this many frames at once (the tool asks for ~1,000).
MAX_RANGE_FRAMES = 10_000
_RANGE = re.compile(r"^\s*(\d+)\s*\.\.\s*(\d+)\s*$")

NOT_FOUND = OpenApiResponse(s.ErrorSerializer, description="Not found, or in a project you are not a member of")
FORBIDDEN = OpenApiResponse(s.ErrorSerializer, description="Your role in the project is too weak")
BAD_REQUEST = OpenApiResponse(s.ErrorSerializer, description="Invalid input; detail says what to fix")
CONFLICT = OpenApiResponse(
    s.ConflictSerializer, description="Someone else changed it; the body holds the current state"
)


def _summarise(errors) -> str:
    """One sentence out of DRF's field → [messages] structure."""
    if isinstance(errors, dict):
        parts = []
        for name, value in errors.items():
            text = _summarise(value)
            parts.append(text if name == "non_field_errors" else f"{name}: {text}")
        return "; ".join(parts)
    if isinstance(errors, list):
        return " ".join(_summarise(e) for e in errors)
    return str(errors)


class TrackroomAPIMixin:
    """409 with the current state for figure conflicts, and field errors summed up in one "detail"
    sentence (authentication comes from settings: token first, so no credentials gets 401)."""

    def handle_exception(self, exc):
        if isinstance(exc, FigureConflict):
            body = {"detail": exc.message}
            if exc.current is not None:
                body["current"] = s.figure_to_dict(exc.current)
            if exc.items is not None:
                body["conflicts"] = [
                    {**item, "current": None if item["current"] is None else s.figure_to_dict(item["current"])}
                    for item in exc.items
                ]
            return Response(body, status=status.HTTP_409_CONFLICT)
        if isinstance(exc, BulkInvalid):
            return Response({"detail": str(exc), "errors": exc.errors}, status=status.HTTP_400_BAD_REQUEST)
        if isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, dict) and "detail" not in exc.detail:
            body = {"detail": _summarise(exc.detail), "errors": exc.detail}
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return super().handle_exception(exc)

    def parse(self, serializer_class, **kwargs) -> dict:
        serializer = serializer_class(data=self.request.data, **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


# --- projects ----------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Your projects", description="Only projects you are a member of."),
    retrieve=extend_schema(summary="One project", responses={200: s.ProjectSerializer, 404: NOT_FOUND}),
    create=extend_schema(
        summary="Create a project (you become its owner)",
        request=s.ProjectInputSerializer,
        responses={201: s.ProjectSerializer, 400: BAD_REQUEST},
    ),
    update=extend_schema(
        summary="Replace a project's fields (owner)",
        request=s.ProjectInputSerializer,
        responses={200: s.ProjectSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
    partial_update=extend_schema(
        summary="Change a project's fields (owner)",
        request=s.ProjectInputSerializer,
        responses={200: s.ProjectSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
    destroy=extend_schema(
        summary="Delete a project and everything in it (owner)", responses={204: None, 403: FORBIDDEN, 404: NOT_FOUND}
    ),
)
class ProjectViewSet(TrackroomAPIMixin, viewsets.ModelViewSet):
    serializer_class = s.ProjectSerializer
    ordering_fields = ["id", "name", "created_at", "updated_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return selectors.projects_for_user(self.request.user)

    def _answer(self, project, code=status.HTTP_200_OK):
        return Response(s.ProjectSerializer(self.get_queryset().get(pk=project.pk)).data, status=code)

    def create(self, request, *args, **kwargs):
        data = self.parse(s.ProjectInputSerializer)
        project = project_services.project_create(user=request.user, **data)
        return self._answer(project, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        project = self.get_object()
        require_role(request.user, project, OWN)
        data = self.parse(s.ProjectInputSerializer, partial=kwargs.get("partial", False))
        project_services.project_update(project=project, **data)
        return self._answer(project)

    def destroy(self, request, *args, **kwargs):
        project = self.get_object()
        require_role(request.user, project, OWN)
        project_services.project_delete(project=project)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectChildMixin(TrackroomAPIMixin):
    """Views under /api/projects/{project_pk}/: the project must be one of the caller's."""

    def get_project(self):
        if not hasattr(self, "_project"):
            projects = selectors.projects_for_user(self.request.user)
            self._project = get_object_or_404(projects, pk=self.kwargs["project_pk"])
        return self._project


PROJECT_PK = OpenApiParameter("project_pk", OpenApiTypes.INT, OpenApiParameter.PATH, description="Project id")


@extend_schema_view(
    list=extend_schema(summary="Members of a project", parameters=[PROJECT_PK]),
    retrieve=extend_schema(
        summary="One member", parameters=[PROJECT_PK], responses={200: s.MembershipSerializer, 404: NOT_FOUND}
    ),
    create=extend_schema(
        summary="Add a member (manager: annotators/viewers; owner: any role)",
        parameters=[PROJECT_PK],
        request=s.MembershipCreateSerializer,
        responses={201: s.MembershipSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
    update=extend_schema(
        summary="Change a member's role or settings (manager; anyone: their own settings)",
        parameters=[PROJECT_PK],
        request=s.MembershipUpdateSerializer,
        responses={200: s.MembershipSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
    partial_update=extend_schema(
        summary="Change a member's role or settings (manager; anyone: their own settings)",
        parameters=[PROJECT_PK],
        request=s.MembershipUpdateSerializer,
        responses={200: s.MembershipSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
    destroy=extend_schema(
        summary="Remove a member (a project keeps at least one owner)",
        parameters=[PROJECT_PK],
        responses={204: None, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
)
class MembershipViewSet(ProjectChildMixin, viewsets.ModelViewSet):
    serializer_class = s.MembershipSerializer
    filterset_fields = ["role"]
    ordering_fields = ["id", "role", "created_at"]
    ordering = ["id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return selectors.memberships_of_project(0)
        return selectors.memberships_of_project(self.get_project())

    def create(self, request, *args, **kwargs):
        project = self.get_project()
        actor_role = require_role(request.user, project, MANAGE)
        data = self.parse(s.MembershipCreateSerializer)
        user = project_services.find_user(user_id=data.get("user"), username=data.get("username"))
        membership = project_services.membership_create(
            project=project, actor_role=actor_role, user=user, role=data["role"], settings=data.get("settings")
        )
        return Response(s.MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        membership = self.get_object()
        # Every member keeps their own preferences (e.g. {"auto_track": false}); roles are managed.
        own = membership.user_id == request.user.pk
        actor_role = require_role(request.user, membership.project_id, READ if own else MANAGE)
        data = self.parse(s.MembershipUpdateSerializer)
        if not has_role(actor_role, MANAGE) and data.get("role", membership.role) != membership.role:
            raise exceptions.PermissionDenied(
                f"Your role in this project is {actor_role}; you can change your own settings, "
                "but roles are changed by a manager or owner."
            )
        membership = project_services.membership_update(membership=membership, actor_role=actor_role, **data)
        return Response(s.MembershipSerializer(membership).data)

    def destroy(self, request, *args, **kwargs):
        membership = self.get_object()
        actor_role = require_role(request.user, membership.project_id, MANAGE)
        project_services.membership_delete(membership=membership, actor_role=actor_role)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="Label classes of a project", parameters=[PROJECT_PK]),
    retrieve=extend_schema(
        summary="One label class", parameters=[PROJECT_PK], responses={200: s.LabelClassSerializer, 404: NOT_FOUND}
    ),
    create=extend_schema(
        summary="Create a label class (manager)",
        parameters=[PROJECT_PK],
        request=s.LabelClassInputSerializer,
        responses={201: s.LabelClassSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
    update=extend_schema(
        summary="Replace a label class (manager)",
        parameters=[PROJECT_PK],
        request=s.LabelClassInputSerializer,
        responses={200: s.LabelClassSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
    partial_update=extend_schema(
        summary="Change a label class (manager)",
        parameters=[PROJECT_PK],
        request=s.LabelClassInputSerializer,
        responses={200: s.LabelClassSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
    destroy=extend_schema(
        summary="Delete an unused label class (manager)",
        parameters=[PROJECT_PK],
        responses={204: None, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
)
class LabelClassViewSet(ProjectChildMixin, viewsets.ModelViewSet):
    serializer_class = s.LabelClassSerializer
    filterset_fields = ["shape", "name"]
    ordering_fields = ["id", "name", "created_at"]
    ordering = ["id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return selectors.label_classes_of_project(0)
        return selectors.label_classes_of_project(self.get_project())

    def create(self, request, *args, **kwargs):
        project = self.get_project()
        require_role(request.user, project, MANAGE)
        data = self.parse(s.LabelClassInputSerializer)
        label = project_services.label_class_create(project=project, **data)
        return Response(s.LabelClassSerializer(label).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        label = self.get_object()
        require_role(request.user, label.project_id, MANAGE)
        data = self.parse(s.LabelClassInputSerializer, partial=kwargs.get("partial", False))
        label = project_services.label_class_update(label=label, **data)
        return Response(s.LabelClassSerializer(label).data)

    def destroy(self, request, *args, **kwargs):
        label = self.get_object()
        require_role(request.user, label.project_id, MANAGE)
        project_services.label_class_delete(label=label)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- tracks ----------------------------------------------------------------------------------------


class TrackFilter(filters.FilterSet):
    # Plain numbers, not model choices: an id from another project must filter to nothing,
    # not answer "invalid choice" (which would tell that the id exists).
    video = filters.NumberFilter(field_name="video_id")
    label = filters.NumberFilter(field_name="label_id")
    number = filters.NumberFilter()
    source = filters.ChoiceFilter(choices=annotation_services.FigureSource.choices)


@extend_schema_view(
    list=extend_schema(summary="Tracks in your projects (filter ?video=)"),
    retrieve=extend_schema(summary="One track", responses={200: s.TrackSerializer, 404: NOT_FOUND}),
    create=extend_schema(
        summary="Create a track (annotator); number defaults to the next free one",
        request=s.TrackCreateSerializer,
        responses={201: s.TrackSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
    update=extend_schema(
        summary="Change a track's label, number or attributes (annotator)",
        request=s.TrackUpdateSerializer,
        responses={200: s.TrackSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
    partial_update=extend_schema(
        summary="Change a track's label, number or attributes (annotator)",
        request=s.TrackUpdateSerializer,
        responses={200: s.TrackSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
    destroy=extend_schema(
        summary="Delete a track and its figures (annotator)", responses={204: None, 403: FORBIDDEN, 404: NOT_FOUND}
    ),
)
class TrackViewSet(TrackroomAPIMixin, viewsets.ModelViewSet):
    serializer_class = s.TrackSerializer
    filterset_class = TrackFilter
    ordering_fields = ["id", "number", "created_at", "updated_at"]
    ordering = ["video_id", "number"]

    def get_queryset(self):
        return selectors.tracks_for_user(self.request.user)

    def _label(self, label_id):
        return get_object_or_404(selectors.label_classes_for_user(self.request.user), pk=label_id)

    def create(self, request, *args, **kwargs):
        data = self.parse(s.TrackCreateSerializer)
        video = get_object_or_404(selectors.videos_for_user(request.user), pk=data["video"])
        require_role(request.user, video.project_id, ANNOTATE)
        track = annotation_services.track_create(
            video=video,
            label=self._label(data["label"]),
            number=data.get("number"),
            attributes=data.get("attributes"),
            user=request.user,
        )
        return Response(s.TrackSerializer(track).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        track = self.get_object()
        require_role(request.user, track.video.project_id, ANNOTATE)
        data = self.parse(s.TrackUpdateSerializer)
        label = self._label(data["label"]) if "label" in data else None
        track = annotation_services.track_update(
            track=track,
            label=label,
            number=data.get("number"),
            attributes=data.get("attributes"),
            version=data.get("version"),
        )
        return Response(s.TrackSerializer(track).data)

    def destroy(self, request, *args, **kwargs):
        track = self.get_object()
        require_role(request.user, track.video.project_id, ANNOTATE)
        annotation_services.track_delete(track=track)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- figures ---------------------------------------------------------------------------------------


class FigureFilter(filters.FilterSet):
    video = filters.NumberFilter(field_name="video_id")
    track = filters.NumberFilter(field_name="track_id")
    frame = filters.NumberFilter()
    frame_min = filters.NumberFilter(field_name="frame", lookup_expr="gte")
    frame_max = filters.NumberFilter(field_name="frame", lookup_expr="lte")
    source = filters.ChoiceFilter(choices=annotation_services.FigureSource.choices)
    is_keyframe = filters.BooleanFilter()


VERSION_QUERY = OpenApiParameter(
    "version",
    OpenApiTypes.INT,
    OpenApiParameter.QUERY,
    description="Delete only if the figure is still at this version",
)


@extend_schema_view(
    list=extend_schema(summary="Figures in your projects (filter ?video=&track=)"),
    retrieve=extend_schema(summary="One figure", responses={200: s.FigureSerializer, 404: NOT_FOUND}),
    create=extend_schema(
        summary="Create a figure (annotator)",
        request=s.FigureCreateSerializer,
        responses={201: s.FigureSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
    update=extend_schema(
        summary="Change a figure (annotator); needs the version you saw",
        request=s.FigureUpdateSerializer,
        responses={200: s.FigureSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    ),
    partial_update=extend_schema(
        summary="Change a figure (annotator); needs the version you saw",
        request=s.FigureUpdateSerializer,
        responses={200: s.FigureSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    ),
    destroy=extend_schema(
        summary="Delete a figure (annotator)",
        parameters=[VERSION_QUERY],
        responses={204: None, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    ),
)
class FigureViewSet(TrackroomAPIMixin, viewsets.ModelViewSet):
    serializer_class = s.FigureSerializer
    filterset_class = FigureFilter
    ordering_fields = ["id", "frame", "track", "updated_at"]
    ordering = ["frame", "track_id"]

    def get_queryset(self):
        return selectors.figures_for_user(self.request.user)

    def create(self, request, *args, **kwargs):
        data = self.parse(s.FigureCreateSerializer)
        track = get_object_or_404(
            selectors.tracks_for_user(request.user).select_related("label"), pk=data.pop("track")
        )
        require_role(request.user, track.video.project_id, ANNOTATE)
        figure = annotation_services.figure_create(track=track, user=request.user, **data)
        return Response(s.figure_to_dict(figure), status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        figure = self.get_object()
        require_role(request.user, figure.video.project_id, ANNOTATE)
        data = self.parse(s.FigureUpdateSerializer)
        figure = annotation_services.figure_update(figure=figure, user=request.user, **data)
        return Response(s.figure_to_dict(figure))

    def destroy(self, request, *args, **kwargs):
        figure = self.get_object()
        require_role(request.user, figure.video.project_id, ANNOTATE)
        version = request.query_params.get("version")
        if version is not None and not version.isdigit():
            raise exceptions.ValidationError({"detail": "version must be a whole number."})
        annotation_services.figure_delete(figure=figure, version=None if version is None else int(version))
        return Response(status=status.HTTP_204_NO_CONTENT)


class VideoChildMixin(TrackroomAPIMixin):
    def get_video(self):
        return get_object_or_404(selectors.videos_for_user(self.request.user), pk=self.kwargs["video_pk"])


VIDEO_PK = OpenApiParameter("video_pk", OpenApiTypes.INT, OpenApiParameter.PATH, description="Video id")


def parse_frame_range(text: str | None, frame_count: int) -> tuple[int, int]:
    if not text:
        raise exceptions.ValidationError({"detail": "Say which frames: ?frames=FIRST..LAST (0-based, inclusive)."})
    match = _RANGE.match(text)
    if not match:
        raise exceptions.ValidationError(
            {"detail": f"frames={text!r} is not a range; write FIRST..LAST, e.g. frames=0..999 (0-based, inclusive)."}
        )
    first, last = int(match[1]), int(match[2])
    if first > last:
        raise exceptions.ValidationError(
            {"detail": f"frames={first}..{last} is backwards; the first frame comes first."}
        )
    if last >= frame_count:
        raise exceptions.ValidationError(
            {"detail": f"frames={first}..{last} goes past the end; this video has frames 0..{frame_count - 1}."}
        )
    if last - first + 1 > MAX_RANGE_FRAMES:
        raise exceptions.ValidationError(
            {
                "detail": f"frames={first}..{last} is {last - first + 1} frames; "
                f"ask for at most {MAX_RANGE_FRAMES} at once."
            }
        )
    return first, last


def parse_track_ids(text: str | None) -> list[int] | None:
    if text is None or text == "":
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise exceptions.ValidationError(
            {"detail": f"tracks={text!r} must be track ids separated by commas, e.g. tracks=3,7."}
        ) from None


class FigureRangeView(VideoChildMixin, APIView):
    @extend_schema(
        summary="Figures of a frame window (fast read for the labeling tool)",
        parameters=[
            VIDEO_PK,
            OpenApiParameter(
                "frames", OpenApiTypes.STR, OpenApiParameter.QUERY, required=True,
                description="FIRST..LAST, 0-based, inclusive (e.g. 0..999)",
            ),
            OpenApiParameter(
                "tracks", OpenApiTypes.STR, OpenApiParameter.QUERY, description="Only these track ids, e.g. 3,7"
            ),
        ],  # fmt: skip
        responses={200: s.FigureRangeSerializer, 400: BAD_REQUEST, 404: NOT_FOUND},
    )
    def get(self, request, video_pk: int):
        video = self.get_video()
        first, last = parse_frame_range(request.query_params.get("frames"), video.frame_count)
        track_ids = parse_track_ids(request.query_params.get("tracks"))
        figures = selectors.figures_in_range_json(video.pk, first, last, track_ids)
        # Built as text: the figures are already JSON (see selectors.figures_in_range_json).
        body = '{"video":%d,"first":%d,"last":%d,"figures":%s}' % (video.pk, first, last, figures)
        return HttpResponse(body, content_type="application/json")


class FigureBulkView(VideoChildMixin, APIView):
    @extend_schema(
        summary="Create or update many figures of a video at once (annotator); all or nothing",
        description=(
            "Figures are keyed by (track, frame). An existing figure needs the `version` you last saw. "
            "Invalid items: 400 listing each bad index. Stale versions: 409 listing every conflict. "
            "Either way nothing is written."
        ),
        parameters=[VIDEO_PK],
        request=s.BulkUpsertRequestSerializer,
        responses={
            200: s.BulkUpsertResponseSerializer,
            400: OpenApiResponse(s.BulkErrorSerializer, description="Invalid items, each named by its index"),
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
    )
    def post(self, request, video_pk: int):
        video = self.get_video()
        require_role(request.user, video.project_id, ANNOTATE)
        items = request.data.get("figures") if isinstance(request.data, dict) else None
        result = annotation_services.figures_bulk_upsert(video=video, items=items, user=request.user)
        return Response(
            {
                "created": len(result.created),
                "updated": len(result.updated),
                "figures": [s.figure_to_dict(f) for f in result.figures],
            }
        )


# --- jobs -----------------------------------------------------------------------------------------


class JobFilter(filters.FilterSet):
    project = filters.NumberFilter(field_name="project_id")
    video = filters.NumberFilter(field_name="video_id")
    status = filters.ChoiceFilter(choices=JobStatus.choices)
    kind = filters.ChoiceFilter(choices=JobKind.choices)


@extend_schema_view(
    list=extend_schema(summary="Jobs in your projects (filter ?project=&video=&status=)"),
    retrieve=extend_schema(summary="One job", responses={200: s.JobSerializer, 404: NOT_FOUND}),
)
class JobViewSet(TrackroomAPIMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.JobSerializer
    filterset_class = JobFilter
    ordering_fields = ["id", "created_at", "status"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return selectors.jobs_for_user(self.request.user)

    @extend_schema(
        summary="Ask a job to stop (annotator)",
        request=None,
        responses={200: s.JobSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        job = self.get_object()
        require_role(request.user, job.project_id, ANNOTATE)
        job = job_runs.cancel_job(job=job)
        return Response(s.JobSerializer(job).data)


# --- you ---------------------------------------------------------------------------------------------


class MeView(TrackroomAPIMixin, APIView):
    @extend_schema(summary="You, and your role in each of your projects", responses={200: s.MeSerializer})
    def get(self, request):
        return Response(s.MeSerializer(selectors.user_with_memberships(request.user)).data)


class TokenView(ObtainAuthToken):
    """Trade a username and password for an API token (send it as ``Authorization: Token <key>``)."""

    authentication_classes: list = []  # credentials are in the body; no session, so no CSRF needed

    @extend_schema(summary="Get an API token for scripts", tags=["auth"])
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


__all__ = [
    "FigureBulkView",
    "FigureRangeView",
    "FigureViewSet",
    "JobViewSet",
    "LabelClassViewSet",
    "MeView",
    "MembershipViewSet",
    "ProjectViewSet",
    "TokenView",
    "TrackViewSet",
]
