"""Shapes of the video API's input and output (no logic: services/videos.py does the work)."""

from django.urls import reverse
from rest_framework import serializers

from labeling.models import Video


class VideoSerializer(serializers.ModelSerializer):
    duration = serializers.SerializerMethodField(help_text="Seconds, frame_count / fps")
    file_url = serializers.SerializerMethodField(help_text="Download the original file")
    frame_url = serializers.SerializerMethodField(
        help_text="URL template of one frame as JPEG: replace {n} with a 0-based frame index"
    )
    chunk_url = serializers.SerializerMethodField(
        help_text="URL of the chunk endpoint; add ?start=a&count=k (see its documentation)"
    )

    class Meta:
        model = Video
        fields = [
            "id", "project", "name", "fps", "frame_count", "width", "height", "codec", "size", "checksum",
            "status", "uploaded_by", "created_at", "duration", "file_url", "frame_url", "chunk_url",
        ]  # fmt: skip
        read_only_fields = fields

    def get_duration(self, video: Video) -> float:
        return video.frame_count / video.fps if video.fps else 0.0

    def get_file_url(self, video: Video) -> str:
        return reverse("video-file", args=[video.pk])

    def get_frame_url(self, video: Video) -> str:
        return reverse("video-frame", args=[video.pk, 0]).replace("/0/", "/{n}/")

    def get_chunk_url(self, video: Video) -> str:
        return reverse("video-chunks", args=[video.pk])


class VideoUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The video file (multipart/form-data)", allow_empty_file=True)
    name = serializers.CharField(
        required=False, allow_blank=True, max_length=255, help_text="Defaults to the file name"
    )


class VideoUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=255)
    fps = serializers.FloatField(required=False, help_text="Frames per second, more than 0 and at most 1000")
