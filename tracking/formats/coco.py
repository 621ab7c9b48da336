"""COCO-style JSON for video (the layout of TAO / YouTube-VIS style datasets): ``videos``,
``images`` (one per frame, ``frame_id`` 0-based, ``video_id``), ``categories`` (the project's
labels, ids 1..n, keypoint names for keypoint labels) and ``annotations`` with ``track_id`` (the
track number), ``bbox`` [x, y, w, h], ``segmentation`` (masks as uncompressed RLE ``{"size",
"counts"}``, polygons as ``[[x1, y1, x2, y2, ...]]``), ``keypoints`` [x, y, v, ...] for keypoint
labels, ``score`` (confidence, when set), ``keyframe`` and ``visibility``. Outside figures are not
written. Errors name the annotation (``annotations[7]``): JSON has no meaningful line numbers."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from . import masks
from .base import BOX, MASK, POINTS, POLYGON, ErrorList, Shape, VideoMeta, bbox_of_points, chunked, num, xywh

name = "coco"
extension = "json"
content_type = "application/json"
order = "frame"
multi_file = False


def _nums(values, places: int = 4) -> str:
    return "[" + ",".join(num(v, places) for v in values) + "]"


def _annotation(ann_id: int, s: Shape, meta: VideoMeta, cat: dict[str, int]) -> str:
    x, y, w, h = xywh(s.bbox)
    parts = [
        f'"id":{ann_id}', f'"image_id":{s.frame + 1}', '"video_id":1',
        f'"category_id":{cat.get(s.label, s.cls if s.cls is not None else 0)}', f'"track_id":{s.track}',
        f'"bbox":{_nums((x, y, w, h))}', '"iscrowd":0', f'"keyframe":{"true" if s.keyframe else "false"}',
        f'"visibility":{num(s.visibility)}',
    ]  # fmt: skip
    if s.kind == MASK:
        rle = s.data["rle"]
        area = sum(rle["counts"][1::2])
        parts.append('"segmentation":{"size":%s,"counts":%s}' % (json.dumps(rle["size"]), _nums(rle["counts"], 0)))
    elif s.kind == POLYGON:
        flat = [c for p in s.data["points"] for c in p]
        xs, ys = flat[0::2], flat[1::2]
        area = abs(sum(xs[i] * ys[i - 1] - xs[i - 1] * ys[i] for i in range(len(xs)))) / 2
        parts.append(f'"segmentation":[{_nums(flat)}]')
    else:
        area = w * h
    if s.kind == POINTS:
        flat = [c for p in s.data["points"] for c in p]
        parts.append(f'"keypoints":{_nums(flat)}')
        parts.append(f'"num_keypoints":{sum(1 for p in s.data["points"] if p[2] > 0)}')
    parts.append(f'"area":{num(area)}')
    if s.confidence is not None:
        parts.append(f'"score":{num(s.confidence, 6)}')
    return "{" + ",".join(parts) + "}"


def write_parts(meta: VideoMeta, shapes: Iterable[Shape]) -> Iterator[str]:
    cat = {label.name: i + 1 for i, label in enumerate(meta.labels)}
    yield '{"info":{"description":"Trackroom export","version":"1.0"},\n'
    yield '"videos":[{"id":1,"name":%s,"width":%d,"height":%d,"length":%d,"fps":%s}],\n' % (
        json.dumps(meta.name), meta.width, meta.height, meta.frame_count, num(meta.fps),
    )  # fmt: skip
    yield '"categories":['
    for i, label in enumerate(meta.labels):
        extra = ""
        if label.shape == POINTS:
            extra = ',"keypoints":%s' % json.dumps(list(label.keypoints))
        yield "%s\n{\"id\":%d,\"name\":%s,\"shape\":\"%s\"%s}" % ("," if i else "", i + 1, json.dumps(label.name), label.shape, extra)
    yield '],\n"images":['
    for f in range(meta.frame_count):
        yield '%s\n{"id":%d,"video_id":1,"frame_id":%d,"file_name":"frame_%06d.jpg","width":%d,"height":%d}' % (
            "," if f else "", f + 1, f, f, meta.width, meta.height,
        )  # fmt: skip
    yield '],\n"annotations":['
    ann_id = 0
    for s in shapes:
        if s.outside:
            continue
        ann_id += 1
        yield ("," if ann_id > 1 else "") + "\n" + _annotation(ann_id, s, meta, cat)
    yield "]}\n"


def write(meta: VideoMeta, shapes: Iterable[Shape], filename: str = "annotations.json"):
    yield filename, chunked(write_parts(meta, shapes))


# --- reading ---------------------------------------------------------------------------------------


def _number_list(value, what: str, length: int | None = None) -> list[float]:
    if not isinstance(value, list) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
    ):
        raise ValueError(f"{what} must be a list of numbers")
    if length is not None and len(value) != length:
        raise ValueError(f"{what} must have {length} numbers, has {len(value)}")
    return [float(v) for v in value]


def _shape(i: int, ann: dict, frames: dict, categories: dict, meta: VideoMeta | None, require_ids: bool) -> Shape:
    if not isinstance(ann, dict):
        raise ValueError("an annotation must be a JSON object")
    image = ann.get("image_id")
    if image not in frames:
        raise ValueError(f"image_id {image!r} is not one of the images")
    frame = frames[image]
    cat = ann.get("category_id")
    if categories and cat not in categories:
        raise ValueError(f"category_id {cat!r} is not one of the categories")
    track = ann.get("track_id", -1)
    if require_ids and (isinstance(track, bool) or not isinstance(track, int) or track < 1):
        raise ValueError(f"track_id {track!r} must be a whole number from 1")
    x, y, w, h = _number_list(ann.get("bbox"), "bbox", 4)
    if w <= 0 or h <= 0:
        raise ValueError("bbox width and height must be positive")
    bbox = (x, y, x + w, y + h)
    kind, data = BOX, {"x1": x, "y1": y, "x2": x + w, "y2": y + h}
    seg = ann.get("segmentation")
    if isinstance(seg, dict):
        if not isinstance(seg.get("counts"), list):
            raise ValueError("segmentation RLE must be uncompressed (counts as a list of numbers)")
        size = seg.get("size")
        counts = seg["counts"]
        if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) for v in size)):
            raise ValueError("segmentation size must be [height, width]")
        if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
            raise ValueError("segmentation counts must be non-negative whole numbers")
        if sum(counts) != size[0] * size[1]:
            raise ValueError(f"segmentation runs add up to {sum(counts)} pixels, not {size[0] * size[1]}")
        kind, data = MASK, {"rle": {"size": list(size), "counts": list(counts)}}
        bbox = masks.coco_bbox(size, counts)
    elif isinstance(seg, list) and seg:
        flat = _number_list(seg[0], "segmentation polygon")
        if len(flat) < 6 or len(flat) % 2:
            raise ValueError("a segmentation polygon needs x, y pairs for at least 3 points")
        points = [[flat[j], flat[j + 1]] for j in range(0, len(flat), 2)]
        kind, data = POLYGON, {"points": points}
    if "keypoints" in ann:
        flat = _number_list(ann["keypoints"], "keypoints")
        if not flat or len(flat) % 3:
            raise ValueError("keypoints must be x, y, v triples")
        points = [[flat[j], flat[j + 1], int(flat[j + 2])] for j in range(0, len(flat), 3)]
        if any(p[2] not in (0, 1, 2) for p in points):
            raise ValueError("keypoint visibility must be 0, 1 or 2")
        kind, data = POINTS, {"points": points}
        bbox = bbox if (w > 0 and h > 0) else bbox_of_points(points)
    score = ann.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
        raise ValueError("score must be a number")
    vis = ann.get("visibility", 1.0)
    if isinstance(vis, bool) or not isinstance(vis, (int, float)) or not 0 <= vis <= 1:
        raise ValueError("visibility must be a number from 0 to 1")
    return Shape(
        frame=frame, track=track if require_ids else -1, kind=kind, bbox=bbox, data=data,
        label=categories.get(cat), cls=None if categories else cat,
        confidence=None if score is None else float(score), keyframe=bool(ann.get("keyframe", True)),
        visibility=float(vis), where=f"annotations[{i}]" + (f" (id {ann['id']})" if "id" in ann else ""),
    )  # fmt: skip


def read(data: bytes, meta: VideoMeta | None = None, *, require_ids: bool = True) -> list[Shape]:
    errors = ErrorList()
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        errors.add(line, f"not valid JSON ({exc.msg if hasattr(exc, 'msg') else exc}).")
        errors.raise_if_any()
    if not isinstance(doc, dict) or not isinstance(doc.get("annotations"), list) or not isinstance(doc.get("images"), list):
        errors.add(None, 'expected a COCO object with "images" and "annotations" lists.')
        errors.raise_if_any()
    frames: dict = {}
    for i, image in enumerate(doc["images"]):
        frame = image.get("frame_id", image.get("frame_index")) if isinstance(image, dict) else None
        if isinstance(frame, bool) or not isinstance(frame, int) or frame < 0:
            errors.add(None, 'each image needs a whole "frame_id" from 0.', f"images[{i}]")
            continue
        if meta is not None and frame >= meta.frame_count:
            errors.add(None, f"frame_id {frame} is past the end of the video (frames 0..{meta.frame_count - 1}).", f"images[{i}]")
            continue
        frames[image.get("id")] = frame
    categories = {
        c.get("id"): c.get("name") for c in doc.get("categories") or [] if isinstance(c, dict) and c.get("name")
    }
    shapes: list[Shape] = []
    seen: dict[tuple[int, int], str] = {}
    for i, ann in enumerate(doc["annotations"]):
        if errors.full:
            break
        try:
            shape = _shape(i, ann, frames, categories, meta, require_ids)
        except ValueError as exc:
            where = f"annotations[{i}]" + (f" (id {ann['id']})" if isinstance(ann, dict) and "id" in ann else "")
            errors.add(None, f"{exc}.", where)
            continue
        if require_ids:
            key = (shape.frame, shape.track)
            if key in seen:
                errors.add(None, f"track {shape.track} is on frame {shape.frame} twice (also {seen[key]}).", shape.where)
                continue
            seen[key] = shape.where
        shapes.append(shape)
    errors.raise_if_any()
    shapes.sort(key=lambda s: (s.frame, s.track))
    return shapes
