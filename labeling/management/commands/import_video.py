"""Import a video file from disk into a project, through the same checks as an API upload.

    manage.py import_video PATH [--project ID] [--name NAME]

Without --project the video goes into the demo project ("Demo project"), which is created (owned
by the first superuser) when missing. A file already in the project (same sha256) is not stored twice.
"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from labeling.models import Membership, Project, Role, Video
from labeling.services.demo import DEMO_PROJECT_NAME, ensure_demo_project
from labeling.services.videos import checksum_of_file, video_create
from tracking.errors import TrackroomError


class Command(BaseCommand):
    help = "Import a video file into a project (default: the demo project)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="Video file to import")
        parser.add_argument("--project", type=int, help="Project id (default: the demo project)")
        parser.add_argument("--name", help="Name shown in Trackroom (default: the file name)")

    def handle(self, *args, path: str, project: int | None, name: str | None, **options):
        file = Path(path).expanduser()
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        target = self._project(project)
        checksum = checksum_of_file(file)
        existing = Video.objects.filter(project=target, checksum=checksum).first()
        if existing is not None:
            self.stdout.write(f"Already imported: video {existing.id} '{existing.name}' in project '{target.name}'.")
            return
        uploader = (
            Membership.objects.filter(project=target, role=Role.OWNER).select_related("user").first()
        )
        try:
            video = video_create(
                project=target, source=file, name=name, user=uploader.user if uploader else None,
                original_name=file.name,
            )  # fmt: skip
        except (TrackroomError, ValidationError) as exc:
            raise CommandError(exc.messages[0] if isinstance(exc, ValidationError) else str(exc)) from None
        self.stdout.write(
            f"Imported video {video.id} '{video.name}' into project '{target.name}' (id {target.id}): "
            f"{video.frame_count} frames, {video.width}x{video.height}, {video.fps:g} fps, {video.codec}, "
            f"{video.size / 1024**2:.1f} MB, sha256 {video.checksum[:12]}…"
        )

    def _project(self, project_id: int | None) -> Project:
        if project_id is not None:
            project = Project.objects.filter(pk=project_id).first()
            if project is None:
                raise CommandError(f"No project with id {project_id}.")
            return project
        project = Project.objects.filter(name=DEMO_PROJECT_NAME).order_by("id").first()
        if project is not None:
            return project
        admin = get_user_model().objects.filter(is_superuser=True).order_by("id").first()
        if admin is None:
            raise CommandError(
                "No superuser yet to own the demo project: run `manage.py bootstrap` first, or pass --project."
            )
        return ensure_demo_project(admin)
