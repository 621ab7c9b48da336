"""CVAT for video 1.1 XML: ``<track id label>`` elements holding one shape per frame with
``keyframe``, ``outside`` and ``occluded`` flags. Boxes are ``<box xtl ytl xbr ybr>``, polygons
``<polygon points="x,y;...">``, masks ``<mask rle left top width height>`` (row-major runs over the
mask's box, as CVAT writes them), keypoints ``<skeleton>`` with one ``<points label>`` per keypoint
(outside = absent, occluded = occluded).

CVAT keeps an object on screen from a shape until the next shape and to the end of the video unless
a shape says ``outside="1"``. So the writer adds an outside shape on the frame after each run of
figures that stops early, and the reader fills the frames between two shapes of a track (linear for
boxes, polygons and keypoints with the same number of points; a copy otherwise) with non-keyframe
shapes, and continues a track that never goes outside to the last frame. Track IDs are the track
numbers; a file from CVAT itself numbers tracks from 0, so when a track 0 exists every number is
shifted up by one."""

from __future__ import annotations

import dataclasses
import xml.parsers.expat
from collections.abc import Iterable, Iterator
from itertools import groupby
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from . import masks
from .base import BOX, MASK, POINTS, POLYGON, ErrorList, Shape, VideoMeta, bbox_of_points, chunked, finite, num, whole

name = "cvat"
extension = "xml"
content_type = "application/xml; charset=utf-8"
order = "track"
multi_file = False

_LABEL_TYPE = {BOX: "rectangle", MASK: "mask", POLYGON: "polygon", POINTS: "skeleton"}
_SHAPE_TAGS = {"box", "polygon", "mask", "skeleton", "points"}


def _flags(s: Shape) -> str:
    occluded = 1 if s.visibility < 1 else 0
    return f'frame="{s.frame}" keyframe="{int(s.keyframe)}" outside="{int(s.outside)}" occluded="{occluded}"'


def _points_text(points) -> str:
    return ";".join(f"{num(p[0])},{num(p[1])}" for p in points)


def _close(tag: str, s: Shape) -> str:
    # A confidence other than 1 (machine output, MOT's ignore flag 0) travels as a "score" attribute.
    if s.confidence is None or s.confidence == 1:
        return "/>\n"
    return f'>\n      <attribute name="score">{num(s.confidence, 6)}</attribute>\n    </{tag}>\n'


def _shape_xml(s: Shape, meta: VideoMeta, keypoint_names: tuple[str, ...]) -> str:
    if s.kind == BOX:
        x1, y1, x2, y2 = s.bbox
        return (
            f'    <box {_flags(s)} xtl="{num(x1)}" ytl="{num(y1)}" xbr="{num(x2)}" ybr="{num(y2)}" z_order="0"'
            + _close("box", s)
        )
    if s.kind == POLYGON:
        return f'    <polygon {_flags(s)} points="{_points_text(s.data["points"])}" z_order="0"' + _close("polygon", s)
    if s.kind == MASK:
        rle = s.data["rle"]
        counts, left, top, width, height = masks.array_to_cvat(masks.coco_to_array(rle["size"], rle["counts"]))
        text = ", ".join(str(c) for c in counts)
        return (
            f'    <mask {_flags(s)} rle="{text}" left="{left}" top="{top}" width="{width}" height="{height}"'
            ' z_order="0"' + _close("mask", s)
        )
    if s.kind == POINTS:
        parts = [f'    <skeleton {_flags(s)} z_order="0">\n']
        for i, (x, y, v) in enumerate(s.data["points"]):
            name_ = keypoint_names[i] if i < len(keypoint_names) else str(i + 1)
            parts.append(
                f"      <points label={quoteattr(name_)} keyframe=\"{int(s.keyframe)}\" outside=\"{int(v == 0)}\""
                f' occluded="{int(v == 1)}" points="{num(x)},{num(y)}"/>\n'
            )
        parts.append("    </skeleton>\n")
        return "".join(parts)
    raise ValueError(f"unknown shape kind {s.kind}")


def _with_outside_markers(shapes: list[Shape], frame_count: int) -> Iterator[Shape]:
    for i, s in enumerate(shapes):
        yield s
        nxt = shapes[i + 1].frame if i + 1 < len(shapes) else frame_count
        if not s.outside and s.frame + 1 < nxt and s.frame + 1 < frame_count:
            yield dataclasses.replace(s, frame=s.frame + 1, outside=True, keyframe=True)


def _labels_xml(meta: VideoMeta) -> Iterator[str]:
    yield "      <labels>\n"
    for label in meta.labels:
        kind = "points" if label.shape == POINTS and not label.keypoints else _LABEL_TYPE[label.shape]
        yield f"        <label>\n          <name>{escape(label.name)}</name>\n          <color>{escape(label.color)}</color>\n"
        yield f"          <type>{kind}</type>\n          <attributes>\n          </attributes>\n"
        if label.shape == POINTS and label.keypoints:
            yield "          <sublabels>\n"
            for kp in label.keypoints:
                yield f"            <label>\n              <name>{escape(kp)}</name>\n              <type>points</type>\n            </label>\n"
            yield "          </sublabels>\n"
        yield "        </label>\n"
    yield "      </labels>\n"


def write_parts(meta: VideoMeta, shapes: Iterable[Shape]) -> Iterator[str]:
    yield '<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n  <meta>\n    <task>\n'
    yield f"      <name>{escape(meta.name)}</name>\n      <size>{meta.frame_count}</size>\n"
    yield "      <mode>interpolation</mode>\n      <overlap>0</overlap>\n"
    yield f"      <start_frame>0</start_frame>\n      <stop_frame>{max(meta.frame_count - 1, 0)}</stop_frame>\n"
    yield from _labels_xml(meta)
    yield (
        f"      <original_size>\n        <width>{meta.width}</width>\n        <height>{meta.height}</height>\n"
        "      </original_size>\n    </task>\n  </meta>\n"
    )
    keypoints = {label.name: label.keypoints for label in meta.labels}
    for track, group in groupby(shapes, key=lambda s: s.track):
        track_shapes = list(group)
        label = track_shapes[0].label or ""
        yield f'  <track id="{track}" label={quoteattr(label)} source="manual">\n'
        for s in _with_outside_markers(track_shapes, meta.frame_count):
            yield _shape_xml(s, meta, keypoints.get(label, ()))
        yield "  </track>\n"
    yield "</annotations>\n"


def write(meta: VideoMeta, shapes: Iterable[Shape], filename: str = "annotations.xml"):
    yield filename, chunked(write_parts(meta, shapes))


# --- reading ---------------------------------------------------------------------------------------


def _flag(attrs: dict, key: str) -> bool:
    value = attrs.get(key, "0")
    if value not in ("0", "1", "true", "false", "True", "False"):
        raise ValueError(f'{key}="{value}" must be 0 or 1')
    return value in ("1", "true", "True")


def _parse_points(text: str) -> list[list[float]]:
    out = []
    for pair in text.split(";"):
        xy = pair.split(",")
        if len(xy) != 2:
            raise ValueError(f"points must be 'x,y;x,y;...', got {text[:60]!r}")
        out.append([finite(xy[0], "a point's x"), finite(xy[1], "a point's y")])
    return out


class _Reader:
    def __init__(self, meta: VideoMeta | None):
        self.meta = meta
        self.errors = ErrorList()
        self.stack: list[str] = []
        self.text: list[str] = []
        self.labels: dict[str, str] = {}  # name -> CVAT type
        self.pending_label: dict = {}
        self.size = {"width": None, "height": None, "frames": None}
        self.tracks: list[dict] = []  # {"id", "label", "line", "shapes": [Shape]}
        self.track: dict | None = None
        self.skeleton: dict | None = None
        self.shape: Shape | None = None  # the shape whose <attribute> children are being read
        self.attribute: tuple[str, int] | None = None

    # -- expat callbacks
    def start(self, tag: str, attrs: dict, line: int) -> None:
        parent = self.stack[-1] if self.stack else None
        self.stack.append(tag)
        self.text = []
        if tag == "image":
            self.errors.add(line, "this is CVAT for images (<image> elements); export the task as CVAT for video 1.1.")
        elif tag == "track":
            self._start_track(attrs, line)
        elif self.skeleton is not None and tag == "points" and parent == "skeleton":
            self._skeleton_point(attrs, line)
        elif parent == "track" and self.track is not None:
            if tag in _SHAPE_TAGS:
                self._start_shape(tag, attrs, line)
            elif tag != "attribute":
                self.errors.add(line, f"<{tag}> shapes are not supported; use boxes, polygons, masks or skeletons.")
        elif tag == "attribute" and parent in _SHAPE_TAGS:
            self.attribute = (attrs.get("name", ""), line)

    def end(self, tag: str) -> None:
        text = "".join(self.text).strip()
        path = self.stack
        if tag == "name" and len(path) >= 3 and path[-2] == "label" and path[-3] == "labels" and "sublabels" not in path:
            self.pending_label["name"] = text
        elif tag == "type" and len(path) >= 3 and path[-2] == "label" and path[-3] == "labels" and "sublabels" not in path:
            self.pending_label["type"] = text
        elif tag == "label" and len(path) >= 2 and path[-2] == "labels" and "sublabels" not in path:
            if "name" in self.pending_label:
                self.labels[self.pending_label["name"]] = self.pending_label.get("type", "")
            self.pending_label = {}
        elif tag in ("width", "height") and len(path) >= 2 and path[-2] == "original_size":
            self.size[tag] = text
        elif tag == "size" and len(path) >= 2 and path[-2] == "task":
            self.size["frames"] = text
        elif tag == "attribute" and self.attribute is not None:
            name_, line = self.attribute
            self.attribute = None
            if name_ == "score" and self.shape is not None:
                try:
                    self.shape.confidence = finite(text, "the score")
                except ValueError as exc:
                    self.errors.add(line, f"{exc}.")
        elif tag in _SHAPE_TAGS and len(path) >= 2 and path[-2] == "track":
            if tag == "skeleton" and self.skeleton is not None:
                self._end_skeleton()
            self.shape = None
        elif tag == "track":
            self.track = None
        self.stack.pop()
        self.text = []

    # -- tracks and shapes
    def _start_track(self, attrs: dict, line: int) -> None:
        try:
            track_id = whole(attrs.get("id", ""), "the track id")
            if track_id < 0:
                raise ValueError(f"track id {track_id} must not be negative")
        except ValueError as exc:
            self.errors.add(line, f"{exc}.")
            self.track = None
            return
        self.track = {"id": track_id, "label": attrs.get("label", ""), "line": line, "shapes": []}
        self.tracks.append(self.track)

    def _common(self, attrs: dict, line: int) -> dict:
        frame = whole(attrs.get("frame", ""), "the frame")
        frames = self.meta.frame_count if self.meta is not None else None
        if frame < 0 or (frames is not None and frame >= frames):
            limit = f"0..{frames - 1}" if frames else "from 0"
            raise ValueError(f"frame {frame} is outside the video (frames {limit})")
        return {
            "frame": frame,
            "keyframe": _flag(attrs, "keyframe"),
            "outside": _flag(attrs, "outside"),
            "visibility": 0.0 if _flag(attrs, "occluded") else 1.0,
        }

    def _start_shape(self, tag: str, attrs: dict, line: int) -> None:
        try:
            common = self._common(attrs, line)
            if tag == "box":
                x1, y1, x2, y2 = (finite(attrs.get(k, ""), k) for k in ("xtl", "ytl", "xbr", "ybr"))
                data, bbox, kind = {"x1": x1, "y1": y1, "x2": x2, "y2": y2}, (x1, y1, x2, y2), BOX
            elif tag == "polygon":
                points = _parse_points(attrs.get("points", ""))
                data, bbox, kind = {"points": points}, bbox_of_points(points), POLYGON
            elif tag == "points":
                points = [[x, y, 2] for x, y in _parse_points(attrs.get("points", ""))]
                data, bbox, kind = {"points": points}, bbox_of_points(points), POINTS
            elif tag == "mask":
                data, bbox, kind = self._mask(attrs), None, MASK
                bbox = masks.coco_bbox(data["rle"]["size"], data["rle"]["counts"])
            else:  # skeleton: its <points> children follow
                self.skeleton = {"common": common, "points": [], "line": line}
                return
        except ValueError as exc:
            self.errors.add(line, f"{exc}.")
            return
        self._add(Shape(track=self.track["id"], kind=kind, bbox=bbox, data=data, line=line, **common))

    def _mask(self, attrs: dict) -> dict:
        if self.meta is None:
            raise ValueError("masks need the video's size")
        counts = [whole(v, "a mask run length") for v in attrs.get("rle", "").replace(" ", "").split(",") if v]
        left, top, width, height = (whole(attrs.get(k, ""), k) for k in ("left", "top", "width", "height"))
        if width <= 0 or height <= 0:
            raise ValueError("a mask's width and height must be positive")
        array = masks.cvat_to_array(counts, left, top, width, height, self.meta.height, self.meta.width)
        if not array.any():
            raise ValueError("the mask is empty")
        return {"rle": masks.array_to_coco(array)}

    def _skeleton_point(self, attrs: dict, line: int) -> None:
        try:
            xy = _parse_points(attrs.get("points", ""))
            if len(xy) != 1:
                raise ValueError("a skeleton's <points> holds one point")
            v = 0 if _flag(attrs, "outside") else (1 if _flag(attrs, "occluded") else 2)
        except ValueError as exc:
            self.errors.add(line, f"{exc}.")
            return
        self.skeleton["points"].append([xy[0][0], xy[0][1], v])

    def _end_skeleton(self) -> None:
        sk, self.skeleton = self.skeleton, None
        if not sk["points"]:
            self.errors.add(sk["line"], "a skeleton needs <points> elements.")
            return
        points = sk["points"]
        self._add(
            Shape(track=self.track["id"], kind=POINTS, bbox=bbox_of_points(points), data={"points": points},
                  line=sk["line"], **sk["common"])
        )  # fmt: skip

    def _add(self, shape: Shape) -> None:
        if self.track["shapes"] and self.track["shapes"][-1].frame >= shape.frame:
            previous = self.track["shapes"][-1].frame
            what = "twice" if previous == shape.frame else f"after frame {previous}"
            self.errors.add(shape.line, f"track {self.track['id']} has frame {shape.frame} {what}; shapes go in frame order.")
            return
        shape.label = self.track["label"]
        self.track["shapes"].append(shape)
        self.shape = shape


def _between(a: Shape, b: Shape, frame: int) -> Shape:
    t = (frame - a.frame) / (b.frame - a.frame)
    same = a.kind == b.kind and a.kind != MASK and (a.kind == BOX or len(a.data["points"]) == len(b.data["points"]))
    if not same:
        return dataclasses.replace(a, frame=frame, keyframe=False, outside=False)
    if a.kind == BOX:
        box = tuple(float(p + (q - p) * t) for p, q in zip(a.bbox, b.bbox))
        data = dict(zip(("x1", "y1", "x2", "y2"), box))
        return dataclasses.replace(a, frame=frame, keyframe=False, bbox=box, data=data)
    pa, pb = np.asarray(a.data["points"], float), np.asarray(b.data["points"], float)
    points = (pa + (pb - pa) * t).tolist()
    if a.kind == POINTS:
        points = [[x, y, int(v)] for (x, y, _), (_, _, v) in zip(points, a.data["points"])]
    return dataclasses.replace(a, frame=frame, keyframe=False, data={"points": points}, bbox=bbox_of_points(points))


def _filled(shapes: list[Shape], frame_count: int) -> Iterator[Shape]:
    """CVAT's meaning of a track's keyframes, as one shape per frame."""
    for i, s in enumerate(shapes):
        yield s
        if s.outside:
            continue
        nxt = shapes[i + 1] if i + 1 < len(shapes) else None
        stop = nxt.frame if nxt is not None else frame_count
        for f in range(s.frame + 1, stop):
            yield _between(s, nxt, f) if nxt is not None and not nxt.outside else dataclasses.replace(
                s, frame=f, keyframe=False
            )


def read(data: bytes, meta: VideoMeta | None = None, *, require_ids: bool = True) -> list[Shape]:
    reader = _Reader(meta)
    parser = xml.parsers.expat.ParserCreate()
    parser.StartElementHandler = lambda tag, attrs: reader.start(tag, attrs, parser.CurrentLineNumber)
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = lambda text: reader.text.append(text)
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        reader.errors.add(exc.lineno, f"not well-formed XML ({xml.parsers.expat.ErrorString(exc.code)}).")
    reader.errors.raise_if_any()
    frames = meta.frame_count if meta is not None else max((s.frame + 1 for t in reader.tracks for s in t["shapes"]), default=0)
    shift = 1 if any(t["id"] == 0 for t in reader.tracks) else 0
    seen: dict[int, int] = {}
    errors = ErrorList()
    out: list[Shape] = []
    for t in reader.tracks:
        number = t["id"] + shift
        if require_ids and number in seen:
            errors.add(t["line"], f"track id {t['id']} is used twice (first on line {seen[number]}).")
            continue
        seen[number] = t["line"]
        for s in _filled(t["shapes"], frames):
            s.track = number if require_ids else -1
            out.append(s)
    errors.raise_if_any()
    return out
