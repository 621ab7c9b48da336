"""A project's model list: the bundled default model plus uploaded YOLO models (.pt / .onnx).

Roles (labeling/permissions.py): any member reads (viewer+); managers and owners upload and delete —
a .pt file is a pickle that runs code when loaded, so uploading one is trusted with the project.
A project the caller is not in is a 404. Track jobs name a model by the ``id`` shown here.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.models import Project
from labeling.permissions import MANAGE, READ, require_role
from labeling.services import detector_models as model_services

from .errors import PlainErrorsMixin
from .serializers import ErrorSerializer

NOT_FOUND = OpenApiResponse(ErrorSerializer, description="Not found, or in a project you are not a member of")
FORBIDDEN = OpenApiResponse(ErrorSerializer, description="Your role in the project is too weak")
BAD_REQUEST = OpenApiResponse(ErrorSerializer, description="Not a loadable model (or in use); nothing was changed")
TOO_LARGE = OpenApiResponse(ErrorSerializer, description="The file is over TRACKROOM_MAX_MODEL_BYTES")
MODEL_ID = OpenApiParameter(
    "model_id", OpenApiTypes.STR, OpenApiParameter.PATH, description='"default" or an uploaded model\'s id'
)


class DetectorModelSerializer(serializers.Serializer):
    """One entry of the model list (read-only; built from services.detector_models.ModelEntry)."""

    id = serializers.CharField(help_text='"default" for the bundled model, else the uploaded model\'s id; '
                               "pass it as a Track job's `model`")  # fmt: skip
    name = serializers.CharField()
    format = serializers.ChoiceField(choices=["pt", "onnx"])
    task = serializers.ChoiceField(choices=["detect", "segment", "pose"])
    class_names = serializers.ListField(child=serializers.CharField(), help_text="Index = class id")
    size = serializers.IntegerField(help_text="File size in bytes")
    uploaded_by = serializers.IntegerField(allow_null=True, help_text="User id; null for the default model")
    created_at = serializers.DateTimeField(allow_null=True)
    deletable = serializers.BooleanField(help_text="False for the bundled default model")


class DetectorModelUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="Ultralytics YOLO weights: .pt or .onnx (multipart/form-data)",
                                 allow_empty_file=True)  # fmt: skip
    name = serializers.CharField(required=False, allow_blank=True, max_length=255,
                                 help_text="Defaults to the file name")  # fmt: skip


class _ModelAPIView(PlainErrorsMixin, APIView):
    too_large_error = model_services.ModelTooLarge


class ProjectModelsView(_ModelAPIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="A project's models: the bundled default plus uploads (viewer)",
        responses={200: DetectorModelSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request, project_pk: int):
        require_role(request.user, project_pk, READ)
        return Response(DetectorModelSerializer(model_services.project_models(project_pk), many=True).data)

    @extend_schema(
        summary="Upload a YOLO model (manager)",
        description=(
            "multipart/form-data with `file` (ultralytics YOLO weights, .pt or .onnx) and optional `name`. The "
            "file is loaded in a separate process to read its task (detect, segment or pose) and class names; a "
            "file that is not such a model is refused with 400 and nothing is stored. Files over "
            "TRACKROOM_MAX_MODEL_BYTES get 413. A .pt file is a Python pickle that runs code when loaded: upload "
            "only files you trust; ONNX is the safer format."
        ),
        request={"multipart/form-data": DetectorModelUploadSerializer},
        responses={201: DetectorModelSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND, 413: TOO_LARGE},
    )
    def post(self, request, project_pk: int):
        require_role(request.user, project_pk, MANAGE)
        # Refuse an obviously too large body before reading (and spooling) any of it.
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > model_services.max_model_bytes() + 64 * 1024:  # room for the multipart envelope
            raise model_services.ModelTooLarge(model_services.too_large_message(declared))
        data = DetectorModelUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        try:
            model = model_services.detector_model_create(
                project=Project.objects.get(pk=project_pk), source=upload, name=data.validated_data.get("name"),
                user=request.user, original_name=upload.name,
            )  # fmt: skip
        finally:
            upload.close()  # removes Django's spooled temporary file now
        entry = model_services.get_model_entry(project_pk, str(model.pk))
        return Response(DetectorModelSerializer(entry).data, status=status.HTTP_201_CREATED)


class ProjectModelView(_ModelAPIView):
    @extend_schema(
        summary="One model of a project (viewer)",
        parameters=[MODEL_ID],
        responses={200: DetectorModelSerializer, 404: NOT_FOUND},
    )
    def get(self, request, project_pk: int, model_id: str):
        require_role(request.user, project_pk, READ)
        return Response(DetectorModelSerializer(model_services.get_model_entry(project_pk, model_id)).data)

    @extend_schema(
        summary="Delete an uploaded model and its file (manager)",
        description="Refused with 400 for the bundled default model and while a queued or running job uses it.",
        parameters=[MODEL_ID],
        responses={204: None, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def delete(self, request, project_pk: int, model_id: str):
        require_role(request.user, project_pk, MANAGE)
        if model_id == model_services.DEFAULT_ID:
            raise exceptions.ValidationError("The bundled default model cannot be deleted.")
        model = model_services.find_detector_model(project_pk, model_id)
        if model is None:
            raise exceptions.NotFound("No such model in this project.")
        model_services.detector_model_delete(model=model)
        return Response(status=status.HTTP_204_NO_CONTENT)
