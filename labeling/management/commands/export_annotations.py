"""Export a video's annotations to a file (streamed, written atomically).

    manage.py export_annotations VIDEO_ID --format mot|cvat|yolo|coco -o FILE   (-o - : standard output)
"""

import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from labeling.models import Video
from labeling.services.exchange import export_video
from tracking.errors import TrackroomError
from tracking.formats import FORMATS


class Command(BaseCommand):
    help = "Export a video's annotations as MOTChallenge, CVAT for video 1.1, YOLO (zip) or COCO JSON."

    def add_arguments(self, parser):
        parser.add_argument("video", type=int, help="Video id")
        parser.add_argument("--format", required=True, choices=sorted(FORMATS))
        parser.add_argument("-o", "--out", required=True, help="Output file, or - for standard output")

    def handle(self, *args, video: int, format: str, out: str, **options):
        found = Video.objects.filter(pk=video).first()
        if found is None:
            raise CommandError(f"No video with id {video}.")
        try:
            name, _type, pieces = export_video(found, format)
            if out == "-":
                for piece in pieces:
                    sys.stdout.buffer.write(piece)
                return
            target = Path(out)
            tmp = target.with_name(target.name + ".part")
            with tmp.open("wb") as fh:
                for piece in pieces:
                    fh.write(piece)
            os.replace(tmp, target)
        except TrackroomError as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(f"Wrote {format} annotations of video {found.pk} '{found.name}' to {target}.")
