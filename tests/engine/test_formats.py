"""Annotation formats (tracking.formats): every format round-trips byte-identically, keeps track IDs,
keyframes/outside (CVAT), masks/polygons/keypoints where the format carries them, and names the line
of every bad row. No Django."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tracking.formats import FORMATS, FormatError, LabelSpec, Shape, VideoMeta, export_bytes, get_format, sort_for
from tracking.formats import masks
from tracking.formats.base import box_shape, num

ROOT = Path(__file__).resolve().parents[2]
META = VideoMeta("clip", 320, 240, 60, 10.0, [LabelSpec("person"), LabelSpec("car")])


def gt_like_shapes(partial: float = 0.25) -> list[Shape]:
    """Three tracks like a MOT gt: fractional boxes, an ignore row (conf 0), partial visibility, a gap."""
    rng = np.random.default_rng(3)
    shapes = []
    for track, (x0, y0, vx, label) in enumerate([(10, 20, 2.5, "person"), (200, 40, -1.75, "person"), (60, 150, 1.2, "car")], 1):
        for f in range(0, 60):
            if track == 2 and 20 <= f < 26:
                continue  # a gap: occluded
            x = x0 + vx * f + float(rng.integers(0, 1000)) / 1000
            w, h = 31.03 + track, 75.17 - track
            conf = 0.0 if (track == 3 and f == 5) else 1.0
            vis = partial if (track == 1 and f % 10 == 0) else 1.0
            shapes.append(box_shape(f, track, round(x, 3), y0 + 0.5 * f, w, h, label=label, confidence=conf, visibility=vis))
    return shapes


def export(fmt_name: str, shapes, meta=META) -> bytes:
    fmt = get_format(fmt_name)
    return b"".join(export_bytes(fmt, meta, sort_for(fmt, shapes)))


@pytest.mark.parametrize("fmt_name", sorted(FORMATS))
def test_round_trip_is_byte_identical_and_keeps_ids(fmt_name):
    shapes = gt_like_shapes()
    first = export(fmt_name, shapes)
    back = get_format(fmt_name).read(first, META)
    assert {(s.frame, s.track) for s in back if not s.outside} == {(s.frame, s.track) for s in shapes}
    by_key = {(s.frame, s.track): s for s in back}
    for s in shapes:
        b = by_key[(s.frame, s.track)]
        assert np.allclose(b.bbox, s.bbox, atol=1e-4), (fmt_name, s, b)
        assert (b.label or META.labels[(b.cls or 1) - 1].name) == s.label
    assert export(fmt_name, back) == first


def test_mot_writes_gt_columns_and_keeps_confidence_and_visibility():
    text = export("mot", gt_like_shapes()).decode()
    lines = text.splitlines()
    assert lines[0].split(",")[:2] == ["1", "1"] and len(lines[0].split(",")) == 9
    assert lines[0] == "1,1,10.811,20,32.03,74.17,1,1,0.25"  # 1-based frame, class 1 = person
    back = {(s.frame, s.track): s for s in get_format("mot").read(text.encode(), META)}
    assert back[(5, 3)].confidence == 0 and back[(5, 3)].cls == 2
    assert back[(0, 1)].visibility == 0.25


def test_mot_reads_mot15_and_det_layouts():
    gt15 = b"1,9,499,158,31.03,75.17,1,-4.1554,-7.3591,0\n2,9,500,158,31.03,75.17,0,-4.1,-7.3,0\n"
    rows = get_format("mot").read(gt15, VideoMeta("v", 768, 576, 10))
    assert [(r.frame, r.track, r.confidence, r.cls) for r in rows] == [(0, 9, 1.0, None), (1, 9, 0.0, None)]
    det = b"1,-1,649.441,231.502,44.417,86.13,0.995474,-1,-1,-1\n"
    rows = get_format("mot").read(det, None, require_ids=False)
    assert rows[0].track == -1 and rows[0].confidence == pytest.approx(0.995474)
    with pytest.raises(FormatError, match="Line 1: track ID -1"):
        get_format("mot").read(det, None)


@pytest.mark.parametrize(
    "content, line, message",
    [
        (b"1,1,10,10,5,5,1,1,1\n1,2,10,10,0,5,1,1,1\n", 2, "width and height must be positive"),
        (b"1,1,10,10,5,5\n\n2,1,x,10,5,5\n", 3, "x is not a number"),
        (b"1,1,10,10,5,5\n0,1,10,10,5,5\n", 2, "frames start at 1"),
        (b"1,1,10,10,5,5\n61,1,10,10,5,5\n", 2, "past the end of the video, which has 60 frames"),
        (b"1,1,10,10,5,5\n1,1,12,10,5,5\n", 2, "track 1 already has a box on frame 1 (line 1)"),
        (b"1,1,10,10\n", 1, "expected 6 to 10"),
        (b"1,1,10,10,5,5,1,1,1.5\n", 1, "visibility"),
    ],
)
def test_mot_bad_rows_name_their_line(content, line, message):
    with pytest.raises(FormatError) as caught:
        get_format("mot").read(content, META)
    first = caught.value.errors[0]
    assert first.line == line and message in first.message
    assert str(caught.value).startswith(f"Line {line}: ")


def test_every_bad_row_is_listed():
    content = b"".join(f"{f},1,10,10,-5,5\n".encode() for f in range(1, 6))
    with pytest.raises(FormatError) as caught:
        get_format("mot").read(content, META)
    assert [e.line for e in caught.value.errors] == [1, 2, 3, 4, 5]
    assert "4 more problems" in str(caught.value)


def _mask_shape(frame, track, x, y, w, h):
    mask = np.zeros((240, 320), bool)
    mask[y : y + h, x : x + w] = True
    mask[y, x] = False  # not a plain rectangle
    rle = masks.array_to_coco(mask)
    return Shape(frame, track, "mask", (x, y, x + w, y + h), {"rle": rle}, label="blob")


def test_masks_polygons_keypoints_round_trip_in_cvat_and_coco():
    meta = VideoMeta("v", 320, 240, 20, 10.0, [
        LabelSpec("blob", "mask"), LabelSpec("area", "polygon"), LabelSpec("pose", "points", keypoints=("a", "b", "c")),
    ])  # fmt: skip
    shapes = [_mask_shape(f, 1, 10 + f, 20, 30, 40) for f in range(5)]
    shapes += [
        Shape(f, 2, "polygon", (50, 60, 90, 100), {"points": [[50.5, 60], [90, 70.25], [70, 100]]}, label="area")
        for f in range(3, 8)
    ]
    shapes += [
        Shape(f, 3, "points", (5, 5, 40, 40), {"points": [[5, 5, 2], [40, 40, 1], [20, 30, 0]]}, label="pose")
        for f in range(10, 12)
    ]
    for name in ("cvat", "coco"):
        first = export(name, shapes, meta)
        back = get_format(name).read(first, meta)
        kinds = {(s.track, s.kind) for s in back}
        assert kinds == {(1, "mask"), (2, "polygon"), (3, "points")}, name
        m = next(s for s in back if s.track == 1 and s.frame == 2)
        assert m.data["rle"] == shapes[2].data["rle"]
        p = next(s for s in back if s.track == 3 and s.frame == 10)
        assert p.data["points"] == [[5, 5, 2], [40, 40, 1], [20, 30, 0]]
        assert export(name, back, meta) == first


def test_cvat_outside_markers_and_keyframe_interpolation():
    shapes = [box_shape(f, 4, 10 + f, 10, 20, 20, label="person") for f in (0, 1, 2, 10, 11)]
    xml = export("cvat", shapes, dataclasses.replace(META, frame_count=20)).decode()
    # the track stops after frame 2 and after frame 11: CVAT needs an outside shape there
    assert '<box frame="3" keyframe="1" outside="1"' in xml and '<box frame="12" keyframe="1" outside="1"' in xml
    assert '<track id="4" label="person"' in xml
    # a CVAT file with keyframes only: the frames between are interpolated
    cvat = xml.replace('<box frame="1"', '<!-- -->\n<box frame="1"')
    dropped = ('<box frame="1" ', '<box frame="2" ', '<box frame="3" ')
    sparse = "\n".join(line for line in xml.splitlines() if not line.strip().startswith(dropped))
    back = {s.frame: s for s in get_format("cvat").read(sparse.encode(), dataclasses.replace(META, frame_count=20))}
    assert back[5].keyframe is False and back[5].bbox == pytest.approx((15, 10, 35, 30))
    assert cvat  # the original file still parses with a comment in it
    assert len(get_format("cvat").read(cvat.encode(), dataclasses.replace(META, frame_count=20))) == 7


@pytest.mark.parametrize(
    "name, content, where",
    [
        ("cvat", b'<annotations>\n<track id="1" label="p">\n<box frame="0" xtl="1" ytl="1" xbr="5" ybr="x"/>\n</track>\n</annotations>', "Line 3: ybr is not a number"),
        ("cvat", b'<annotations>\n<track id="1" label="p">\n<box frame="99" xtl="1" ytl="1" xbr="5" ybr="5"/>\n</track></annotations>', "Line 3: frame 99 is outside the video"),
        ("cvat", b"<annotations>\n<track id='1'>\n</annotations>", "Line 3: not well-formed XML"),
        ("cvat", b'<annotations>\n<image id="0" name="a.jpg"/>\n</annotations>', "Line 2: this is CVAT for images"),
        ("coco", b'{"images": [{"id": 1, "frame_id": 0}], "annotations": [{"id": 5, "image_id": 1, "track_id": 2, "bbox": [1, 2, -3, 4]}]}', "annotations[0] (id 5): bbox width and height must be positive"),
        ("coco", b'{"images": [], "annotations": [\n{"id": 1,}]}', "Line 2: not valid JSON"),
        ("coco", b'{"images": [{"id": 1, "frame_id": 0}], "annotations": [{"id": 5, "image_id": 1, "bbox": [1, 2, 3, 4]}]}', "track_id -1 must be a whole number from 1"),
    ],
)
def test_xml_and_json_errors_say_where(name, content, where):
    with pytest.raises(FormatError) as caught:
        get_format(name).read(content, META)
    assert where in str(caught.value)


def _zip(files: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, c in files.items():
            z.writestr(n, c)
    return buf.getvalue()


def test_yolo_layout_and_errors():
    data = export("yolo", gt_like_shapes())
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        assert names[0] == "classes.txt" and z.read("classes.txt") == b"person\ncar\n"
        assert "labels/frame_000000.txt" in names
        first = z.read("labels/frame_000000.txt").decode().splitlines()[0].split()
    assert first[0] == "0" and first[-1] == "1" and len(first) == 6
    bad = _zip({"classes.txt": "person\n", "labels/frame_000003.txt": "0 0.5 0.5 0.1 0.1 1\n0 0.5 0.5 0.1 0.1\n"})
    with pytest.raises(FormatError, match=r"labels/frame_000003.txt line 2: expected 'class cx cy w h track_id'"):
        get_format("yolo").read(bad, META)
    pixels = _zip({"labels/frame_000001.txt": "0 160 120 30 40 1\n"})
    with pytest.raises(FormatError, match="fractions of the frame size"):
        get_format("yolo").read(pixels, META)
    with pytest.raises(FormatError, match="a YOLO import is a .zip"):
        get_format("yolo").read(b"0 0.5 0.5 0.1 0.1 1\n", META)


def test_number_formatting_is_stable():
    assert num(499.0) == "499" and num(530.03 - 499) == "31.03" and num(-0.00001) == "0" and num(0.5) == "0.5"


def test_mask_rle_conversions_agree():
    rng = np.random.default_rng(1)
    mask = rng.random((24, 32)) > 0.6
    rle = masks.array_to_coco(mask)
    assert (masks.coco_to_array(rle["size"], rle["counts"]) == mask).all()
    counts, left, top, w, h = masks.array_to_cvat(mask)
    assert (masks.cvat_to_array(counts, left, top, w, h, 24, 32) == mask).all()


def test_convert_cli_round_trip(tmp_path):
    mot = tmp_path / "gt.txt"
    # CVAT has only an "occluded" flag (visibility 0.25 would come back as 0) and no confidence
    shapes = [dataclasses.replace(s, confidence=1.0) for s in gt_like_shapes(partial=0.0)]
    mot.write_bytes(export("mot", shapes))
    trackroom = [sys.executable, "-m", "tracking.cli"]
    steps = [("gt.txt", "mot", "cvat", "a.xml"), ("a.xml", "cvat", "coco", "b.json"), ("b.json", "coco", "mot", "c.txt")]
    for src, frm, to, out in steps:
        done = subprocess.run(
            [*trackroom, "convert", str(tmp_path / src), "--from", frm, "--to", to, "-o", str(tmp_path / out),
             "--video-size", "320x240", "--frames", "60", "--labels", "person,car"],
            capture_output=True, text=True, cwd=ROOT,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "c.txt").read_bytes() == mot.read_bytes()
    bad = subprocess.run([*trackroom, "convert", str(mot), "--from", "mot", "--to", "yolo", "-o", str(tmp_path / "y.zip")],
                         capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert bad.returncode == 2 and "--video-size" in bad.stderr and not (tmp_path / "y.zip").exists()
