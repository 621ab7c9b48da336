"""Import annotations into a video, with the same checks as the API (all rows or none).

    manage.py import_annotations VIDEO_ID FILE --format mot|cvat|yolo|coco [--as tracks|detections]
        [--label ID] [--renumber] [--name NAME]
"""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from labeling.models import LabelClass, Video
from labeling.services.exchange import AS_DETECTIONS, AS_TRACKS, ImportInvalid, import_annotations
from tracking.errors import TrackroomError
from tracking.formats import FORMATS


class Command(BaseCommand):
    help = "Import a MOTChallenge / CVAT / YOLO / COCO file into a video as tracks or as a detection set."

    def add_arguments(self, parser):
        parser.add_argument("video", type=int, help="Video id")
        parser.add_argument("path", help="Annotation file (a .zip for yolo)")
        parser.add_argument("--format", required=True, choices=sorted(FORMATS))
        parser.add_argument("--as", dest="as_", default=AS_TRACKS, choices=[AS_TRACKS, AS_DETECTIONS])
        parser.add_argument("--label", type=int, help="Put every row under this label id")
        parser.add_argument("--renumber", action="store_true", help="Give imported tracks the next free numbers")
        parser.add_argument("--name", help="Name of the detection set (--as detections)")

    def handle(self, *args, video: int, path: str, format: str, as_: str, label, renumber, name, **options):
        found = Video.objects.filter(pk=video).first()
        if found is None:
            raise CommandError(f"No video with id {video}.")
        file = Path(path).expanduser()
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        label_obj = None
        if label is not None:
            label_obj = LabelClass.objects.filter(pk=label, project_id=found.project_id).first()
            if label_obj is None:
                raise CommandError(f"Label {label} is not a label of video {video}'s project.")
        try:
            result = import_annotations(
                video=found, data=file.read_bytes(), format_name=format, as_=as_, label=label_obj,
                name=name or file.name, renumber=renumber,
            )  # fmt: skip
        except ImportInvalid as exc:
            lines = "\n".join(f"  {e.text()}" for e in exc.errors)
            raise CommandError(f"Nothing was imported; {len(exc.errors)} problem(s):\n{lines}") from None
        except (TrackroomError, ValidationError) as exc:
            raise CommandError(exc.messages[0] if isinstance(exc, ValidationError) else str(exc)) from None
        if result.detection_set is not None:
            self.stdout.write(
                f"Imported {result.detection_set.rows} detections as detection set {result.detection_set.pk} "
                f"(use model \"detections:{result.detection_set.pk}\" in a Track job)."
            )
        else:
            self.stdout.write(f"Imported {len(result.tracks)} tracks with {result.figures} figures into video {found.pk}.")
