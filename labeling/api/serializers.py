"""Thin serializers: output shapes, and input parsing for the services (which do the validating).

Input serializers take plain ids for related objects; the views look those ids up inside the
caller's projects, so an id from another project is a 404, never a hint that it exists."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from labeling.models import Figure, FigureSource, Job, LabelClass, Membership, Project, Role, ShapeKind, Track
from labeling.services.annotations import CLIENT_SOURCES


class ClientSourceField(serializers.ChoiceField):
    """A figure source a client may claim: people write manual (or imported) figures; the
    machine sources are for jobs only. Declared with every choice so the schema has one enum."""

    def __init__(self, **kwargs):
        super().__init__(choices=FigureSource.choices, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value not in CLIENT_SOURCES:
            raise serializers.ValidationError(
                f"Clients write '{FigureSource.MANUAL}' or '{FigureSource.IMPORTED}' figures; '{value}' is for jobs."
            )
        return value


def _datetime(value) -> str | None:
    # Same format as DRF's DateTimeField (ISO 8601, "Z" for UTC).
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# --- projects & members ------------------------------------------------------------------------


class ProjectSerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(
        choices=Role.choices, source="my_role", read_only=True, help_text="The caller's role in this project"
    )

    class Meta:
        model = Project
        fields = ["id", "name", "description", "settings", "created_by", "created_at", "updated_at", "role"]
        read_only_fields = fields


class ProjectInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    settings = serializers.JSONField(required=False, help_text='Project-wide defaults, e.g. {"auto_track": true}')


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "project", "user", "username", "role", "settings", "created_at"]
        read_only_fields = fields


class MembershipCreateSerializer(serializers.Serializer):
    user = serializers.IntegerField(required=False, help_text="User id (or give username)")
    username = serializers.CharField(required=False, help_text="Username (or give user)")
    role = serializers.ChoiceField(choices=Role.choices)
    settings = serializers.JSONField(required=False)


class MembershipUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    settings = serializers.JSONField(required=False)


class MyMembershipSerializer(serializers.ModelSerializer):
    project_name = serializers.CharField(source="project.name", read_only=True)

    class Meta:
        model = Membership
        fields = ["project", "project_name", "role", "settings"]
        read_only_fields = fields


class MeSerializer(serializers.ModelSerializer):
    memberships = MyMembershipSerializer(many=True, read_only=True)

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "email", "first_name", "last_name", "memberships"]
        read_only_fields = fields


# --- label classes ---------------------------------------------------------------------------


class LabelClassSerializer(serializers.ModelSerializer):
    class Meta:
        model = LabelClass
        fields = ["id", "project", "name", "color", "shape", "skeleton", "attributes", "created_at"]
        read_only_fields = fields


class LabelClassInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    color = serializers.CharField(max_length=7, required=False, help_text="#RRGGBB")
    shape = serializers.ChoiceField(choices=ShapeKind.choices, required=False)
    skeleton = serializers.JSONField(
        required=False, help_text='For points labels: {"keypoints": ["nose", ...], "edges": [[0, 1], ...]}'
    )
    attributes = serializers.JSONField(required=False, help_text='[{"name": "occluded", "type": "bool"}, ...]')


# --- tracks --------------------------------------------------------------------------------------


class TrackSerializer(serializers.ModelSerializer):
    class Meta:
        model = Track
        fields = [
            "id", "video", "label", "number", "attributes", "source", "job", "created_by", "created_at",
            "updated_at", "version",
        ]  # fmt: skip
        read_only_fields = fields


class TrackCreateSerializer(serializers.Serializer):
    video = serializers.IntegerField()
    label = serializers.IntegerField()
    number = serializers.IntegerField(required=False, min_value=1, help_text="Defaults to the next free number")
    attributes = serializers.JSONField(required=False)


class TrackUpdateSerializer(serializers.Serializer):
    label = serializers.IntegerField(required=False)
    number = serializers.IntegerField(required=False, min_value=1)
    attributes = serializers.JSONField(required=False)
    version = serializers.IntegerField(required=False, help_text="If given, the update fails when the track changed")


# --- figures -------------------------------------------------------------------------------------

GEOMETRY_HELP = (
    'Geometry for the label\'s shape, in frame pixels. box: {"x1","y1","x2","y2"}; '
    'mask: {"rle": {"size": [h, w], "counts": [...]}} (uncompressed COCO RLE, column-major); '
    'polygon: {"points": [[x, y], ...]} (3+); points: {"points": [[x, y, v], ...]} (v 0/1/2).'
)


def figure_to_dict(f: Figure) -> dict:
    """A figure as the API shows it. Plain dict building: bulk answers hold thousands of these."""
    return {
        "id": f.pk,
        "track": f.track_id,
        "video": f.video_id,
        "frame": f.frame,
        "x1": f.x1,
        "y1": f.y1,
        "x2": f.x2,
        "y2": f.y2,
        "data": f.data,
        "is_keyframe": f.is_keyframe,
        "outside": f.outside,
        "source": f.source,
        "confidence": f.confidence,
        "job": f.job_id,
        "version": f.version,
        "created_by": f.created_by_id,
        "updated_by": f.updated_by_id,
        "created_at": _datetime(f.created_at),
        "updated_at": _datetime(f.updated_at),
    }


class FigureSerializer(serializers.ModelSerializer):
    """Declares the figure's fields for the schema; rendering goes through ``figure_to_dict``."""

    class Meta:
        model = Figure
        fields = [
            "id", "track", "video", "frame", "x1", "y1", "x2", "y2", "data", "is_keyframe", "outside", "source",
            "confidence", "job", "version", "created_by", "updated_by", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def to_representation(self, instance):
        return figure_to_dict(instance)


class RangeFigureSerializer(serializers.Serializer):
    """A figure in a range read: the geometry is ``data``; the bbox columns are left out (speed)."""

    id = serializers.IntegerField()
    track = serializers.IntegerField()
    frame = serializers.IntegerField()
    is_keyframe = serializers.BooleanField()
    outside = serializers.BooleanField()
    source = serializers.ChoiceField(choices=FigureSource.choices)
    confidence = serializers.FloatField(allow_null=True)
    version = serializers.IntegerField()
    data = serializers.JSONField(help_text=GEOMETRY_HELP)


class FigureRangeSerializer(serializers.Serializer):
    video = serializers.IntegerField()
    first = serializers.IntegerField()
    last = serializers.IntegerField()
    figures = RangeFigureSerializer(many=True)


class FigureCreateSerializer(serializers.Serializer):
    track = serializers.IntegerField()
    frame = serializers.IntegerField(min_value=0)
    data = serializers.JSONField(help_text=GEOMETRY_HELP)
    is_keyframe = serializers.BooleanField(default=True)
    outside = serializers.BooleanField(default=False)
    confidence = serializers.FloatField(required=False, allow_null=True)
    source = ClientSourceField(default=FigureSource.MANUAL)


class FigureUpdateSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        help_text="The version you last saw; a stale one gets 409 and the current figure"
    )
    data = serializers.JSONField(required=False, help_text=GEOMETRY_HELP)
    is_keyframe = serializers.BooleanField(required=False)
    outside = serializers.BooleanField(required=False)
    confidence = serializers.FloatField(required=False, allow_null=True)
    source = ClientSourceField(required=False)


class BulkFigureItemSerializer(serializers.Serializer):
    track = serializers.IntegerField()
    frame = serializers.IntegerField(min_value=0)
    data = serializers.JSONField(help_text=GEOMETRY_HELP)
    version = serializers.IntegerField(required=False, help_text="Required when the figure already exists")
    is_keyframe = serializers.BooleanField(default=True)
    outside = serializers.BooleanField(default=False)
    confidence = serializers.FloatField(required=False, allow_null=True)
    source = ClientSourceField(default=FigureSource.MANUAL)


class BulkUpsertRequestSerializer(serializers.Serializer):
    figures = BulkFigureItemSerializer(many=True)


class BulkUpsertResponseSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    figures = FigureSerializer(many=True)


class ConflictItemSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    track = serializers.IntegerField()
    frame = serializers.IntegerField()
    your_version = serializers.IntegerField(allow_null=True)
    current = FigureSerializer(allow_null=True)


class ConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    current = FigureSerializer(required=False, help_text="The figure as stored now (single-figure writes)")
    conflicts = ConflictItemSerializer(many=True, required=False, help_text="Every stale item (bulk writes)")


class BulkErrorItemSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    detail = serializers.CharField()


class BulkErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = BulkErrorItemSerializer(many=True)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


# --- jobs ----------------------------------------------------------------------------------------


class JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = [
            "id", "project", "video", "kind", "status", "progress", "frames_done", "frames_total", "params",
            "result", "error", "cancel_requested", "created_by", "created_at", "started_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields
