"""Videos: ingest (validate, hash, store), edit, delete, and exact frames as cached JPEGs.

Ingest never leaves anything half-stored: the upload is copied (and hashed) into a temporary file
under MEDIA_ROOT, probed by decoding every frame (tracking.video.probe_video), and only then moved
into the Video's FileField inside a transaction. Any failure removes the temporary file, and a
failure after the move removes the stored file too.

Frames are decoded frame-exactly by the engine (tracking.video) and cached as JPEG files in
FRAME_CACHE_DIR/<video id>/<checksum prefix>/q<quality>/<frame>.jpg, written atomically (temporary
file + rename), so concurrent requests never see half a JPEG. The checksum prefix keeps a cache
that outlives its database (tests, a reset dev database) from serving another video's pixels.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from labeling.models import Project, Video
from labeling.services.uploads import COPY_CHUNK, save_with_staged_file, stage_upload
from tracking.errors import VideoError
from tracking.video import MAX_FPS, FrameSource, VideoLimits, open_video, probe_video

DEFAULT_JPEG_QUALITY = 90


class VideoTooLarge(ValidationError):
    """The upload is over TRACKROOM_MAX_VIDEO_BYTES (the API answers 413)."""


def max_video_bytes() -> int:
    return int(settings.TRACKROOM_MAX_VIDEO_BYTES)


def too_large_message(size: int | None = None) -> str:
    limit = max_video_bytes()
    got = f" ({size / 1024**2:,.1f} MB)" if size is not None else ""
    return f"The video is too large{got}; the most Trackroom accepts is {limit / 1024**2:,.0f} MB."


def video_limits() -> VideoLimits:
    return VideoLimits(
        max_side=int(settings.TRACKROOM_MAX_VIDEO_SIDE), max_pixels=int(settings.TRACKROOM_MAX_VIDEO_PIXELS)
    )


def _clean_name(name: str | None, fallback: str) -> str:
    name = (name or "").strip() or Path(fallback or "").name.strip() or "video"
    return name[:255]


def _stage(source, display_name: str) -> tuple[Path, str, int]:
    """Copy ``source`` (a path or a file object) to MEDIA_ROOT/.incoming while hashing it."""
    suffix = Path(display_name).suffix.lower()[:10] or ".bin"
    with _readable(source) as src:
        return stage_upload(
            src, prefix="upload-", suffix=suffix, limit=max_video_bytes(), too_large=lambda: VideoTooLarge(too_large_message())
        )


@contextmanager
def _readable(source):
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as f:
            yield f
    else:
        if hasattr(source, "seek"):
            source.seek(0)
        yield source


def video_create(
    *, project: Project, source, name: str | None = None, user=None, original_name: str | None = None
) -> Video:
    """Validate and store one video. ``source`` is a path or a file object (e.g. an UploadedFile).

    Raises VideoTooLarge, or VideoError / ValidationError with a sentence for a person; on any
    error nothing is stored.
    """
    original_name = original_name or getattr(source, "name", None) or str(source)
    display = _clean_name(name, original_name)
    declared = getattr(source, "size", None)
    if declared is not None and declared > max_video_bytes():
        raise VideoTooLarge(too_large_message(declared))
    staged, checksum, size = _stage(source, Path(original_name).name)
    try:
        if size == 0:
            raise VideoError(f"{Path(original_name).name} is empty (0 bytes), not a video.")
        try:
            info = probe_video(staged, video_limits())
        except VideoError as exc:
            # The message names our temporary file; say it with the user's file name instead.
            raise VideoError(str(exc).replace(staged.name, Path(original_name).name)) from exc
        video = Video(
            project=project,
            name=display,
            fps=info.fps,
            frame_count=info.frame_count,
            width=info.width,
            height=info.height,
            codec=info.codec[:32],
            size=size,
            checksum=checksum,
            uploaded_by=user if getattr(user, "is_authenticated", False) else None,
        )
        return save_with_staged_file(video, staged, Path(original_name).name)
    finally:
        staged.unlink(missing_ok=True)


def checksum_of_file(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(COPY_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def video_update(*, video: Video, **fields) -> Video:
    """Change a video's name or fps (e.g. PETS09's header says 10 fps; the footage is 7)."""
    allowed = {"name", "fps"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"These video fields cannot be changed: {', '.join(sorted(unknown))}.")
    if "name" in fields:
        name = (fields["name"] or "").strip()
        if not name:
            raise ValidationError("A video needs a name.")
        video.name = name[:255]
    if "fps" in fields:
        try:
            fps = float(fields["fps"])
        except (TypeError, ValueError):
            raise ValidationError("fps must be a number of frames per second, e.g. 25.") from None
        if not 0 < fps <= MAX_FPS:
            raise ValidationError(f"fps must be more than 0 and at most {MAX_FPS:g}.")
        video.fps = fps
    if fields:
        video.save(update_fields=list(fields))
    return video


def video_delete(*, video: Video) -> None:
    """Delete a video, its tracks, figures and jobs; its file and cached frames go once committed."""
    file_name = video.file.name
    cache_dir = frame_cache_dir(video.pk)
    storage = Video._meta.get_field("file").storage
    source_path = video.file.path if file_name else None
    with transaction.atomic():
        video.delete()

        def remove_files():
            _SOURCES.discard(source_path)
            if file_name:
                storage.delete(file_name)
            shutil.rmtree(cache_dir, ignore_errors=True)

        transaction.on_commit(remove_files)


def video_files_delete(videos) -> None:
    """For callers deleting videos in bulk (e.g. a whole project): remove their files on commit."""
    items = [(v.file.name, v.pk) for v in videos]
    storage = Video._meta.get_field("file").storage

    def remove_files():
        for file_name, pk in items:
            if file_name:
                storage.delete(file_name)
            shutil.rmtree(frame_cache_dir(pk), ignore_errors=True)

    transaction.on_commit(remove_files)


# ---------------------------------------------------------------------------------------------
# frames


class _SourcePool:
    """A few open frame sources per process, so a player asking for frame n, n+1, … decodes each
    frame once instead of seeking every time. Each source is used by one thread at a time."""

    def __init__(self, size: int = 4):
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[str, tuple[FrameSource, threading.Lock]] = OrderedDict()

    @contextmanager
    def get(self, path: str) -> Iterator[FrameSource]:
        key = str(path)
        with self._lock:
            item = self._items.get(key)
            if item is not None and item[1].acquire(blocking=False):
                self._items.move_to_end(key)
                source, lock = item
            else:
                source, lock = None, None
        if source is None:
            # Busy (another thread decodes from it) or not open yet: use a fresh source.
            source, lock = open_video(key), threading.Lock()
            lock.acquire()
        try:
            yield source
        finally:
            lock.release()
            self._keep(key, source, lock)

    def _keep(self, key: str, source: FrameSource, lock: threading.Lock) -> None:
        evicted = []
        with self._lock:
            current = self._items.get(key)
            if current is None:
                self._items[key] = (source, lock)
            elif current[0] is not source:
                evicted.append(source)
            while len(self._items) > self._size:
                evicted.append(self._items.popitem(last=False)[1][0])
        for old in evicted:
            old.close()

    def discard(self, path: str | None) -> None:
        if path is None:
            return
        with self._lock:
            item = self._items.pop(str(path), None)
        if item is not None and item[1].acquire(timeout=10):
            item[0].close()
            item[1].release()


_SOURCES = _SourcePool()


def frame_cache_dir(video_id: int) -> Path:
    return Path(settings.FRAME_CACHE_DIR) / str(video_id)


def _frame_path(video: Video, index: int, quality: int) -> Path:
    return frame_cache_dir(video.pk) / video.checksum[:16] / f"q{quality}" / f"{index:06d}.jpg"


def parse_quality(value) -> int:
    if value in (None, ""):
        return DEFAULT_JPEG_QUALITY
    try:
        quality = int(value)
    except (TypeError, ValueError):
        raise ValidationError("quality must be a whole number from 1 to 100.") from None
    if not 1 <= quality <= 100:
        raise ValidationError("quality must be a whole number from 1 to 100.")
    return quality


def check_frame_index(video: Video, index: int) -> None:
    if not 0 <= index < video.frame_count:
        raise ValidationError(
            f"Frame {index} does not exist: this video has frames 0 to {video.frame_count - 1}."
        )


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _encode(frame, quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise VideoError("Could not encode the frame as JPEG.")
    return buf.tobytes()


def video_file_path(video: Video) -> str:
    path = video.file.path
    if not os.path.isfile(path):
        raise VideoError(f"The file of video '{video.name}' is missing on the server; upload it again.")
    return path


def _check_same_count(video: Video, source: FrameSource) -> None:
    # Both counts are exact by construction; if they ever differ, frame n would not be frame n.
    if source.info.frame_count != video.frame_count:
        raise VideoError(
            f"Video '{video.name}' decodes to {source.info.frame_count} frames now but had "
            f"{video.frame_count} when it was uploaded; its file has changed on the server."
        )


def frame_jpeg(*, video: Video, index: int, quality: int = DEFAULT_JPEG_QUALITY) -> bytes:
    """Exact frame ``index`` as JPEG bytes, from the cache or decoded (and then cached)."""
    check_frame_index(video, index)
    path = _frame_path(video, index, quality)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    with _SOURCES.get(video_file_path(video)) as source:
        _check_same_count(video, source)
        data = _encode(source.read(index), quality)
    _write_atomic(path, data)
    return data


def frames_jpeg(*, video: Video, start: int, count: int, quality: int = DEFAULT_JPEG_QUALITY) -> list[bytes]:
    """Frames start..start+count-1 (clipped to the video's end) as JPEGs: cached ones are read,
    the rest decoded in one sequential pass (one seek at most) and cached."""
    check_frame_index(video, start)
    stop = min(start + count, video.frame_count)
    out: dict[int, bytes] = {}
    missing = []
    for index in range(start, stop):
        try:
            out[index] = _frame_path(video, index, quality).read_bytes()
        except FileNotFoundError:
            missing.append(index)
    if missing:
        wanted = set(missing)
        with _SOURCES.get(video_file_path(video)) as source:
            _check_same_count(video, source)
            for index, frame in source.frames(missing[0], missing[-1] + 1):
                if index in wanted:
                    out[index] = data = _encode(frame, quality)
                    _write_atomic(_frame_path(video, index, quality), data)
    return [out[i] for i in range(start, stop)]


# ---------------------------------------------------------------------------------------------
# chunk framing (documented in labeling/api/video_views.py, VideoChunkView)

CHUNK_MAGIC = b"TRFC"
CHUNK_CONTENT_TYPE = "application/vnd.trackroom.frames"


@dataclass
class FrameChunk:
    header: dict
    body: bytes


def frame_chunk(*, video: Video, start: int, count: int, quality: int = DEFAULT_JPEG_QUALITY) -> FrameChunk:
    jpegs = frames_jpeg(video=video, start=start, count=count, quality=quality)
    frames, offset = [], 0
    for i, data in enumerate(jpegs):
        frames.append({"index": start + i, "offset": offset, "length": len(data)})
        offset += len(data)
    header = {
        "video": video.pk,
        "start": start,
        "count": len(jpegs),
        "frame_count": video.frame_count,
        "fps": video.fps,
        "width": video.width,
        "height": video.height,
        "content_type": "image/jpeg",
        "frames": frames,
    }
    head = json.dumps(header, separators=(",", ":")).encode()
    body = b"".join([CHUNK_MAGIC, struct.pack(">I", len(head)), head, *jpegs])
    return FrameChunk(header, body)


def parse_frame_chunk(body: bytes) -> tuple[dict, list[bytes]]:
    """The inverse of frame_chunk (used by tests and Python clients)."""
    if body[:4] != CHUNK_MAGIC:
        raise ValueError("not a Trackroom frame chunk")
    (head_len,) = struct.unpack(">I", body[4:8])
    header = json.loads(body[8 : 8 + head_len])
    base = 8 + head_len
    return header, [body[base + f["offset"] : base + f["offset"] + f["length"]] for f in header["frames"]]
