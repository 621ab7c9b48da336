"""``trackroom track VIDEO --out tracks.txt``: detect + multi-object track a video into a MOTChallenge file."""

from __future__ import annotations

import argparse
import ast
import sys
import time
from pathlib import Path

from ..errors import TrackroomError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "track",
        help="detect and track objects in a video, write MOTChallenge rows",
        description="Detect objects with a YOLO model (or read public detections) and track them with a "
        "boxmot tracker. Writes MOTChallenge rows (1-based frames): frame,id,x,y,w,h,conf,-1,-1,-1.",
    )
    p.add_argument("video", help="video file")
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--model", default="default", help="weights file (.pt/.onnx; detect, segment or pose) or 'default' "
        "(the bundled yolo11n-pose person model)"
    )
    source.add_argument("--det", metavar="DET_TXT", help="track these MOTChallenge detections instead of running a model")
    p.add_argument("--classes", help="only these classes: names or ids, comma-separated (e.g. person,car or 0,2)")
    p.add_argument("--tracker", help="tracker name (default: Trackroom's recommended tracker)")
    p.add_argument(
        "--reid", metavar="MODEL",
        help="appearance model of the 'reid' tracker: a file from `trackroom reid-train`, or 'imagenet' "
        "(default for --tracker reid); implies --tracker reid",
    )
    p.add_argument(
        "--tracker-param", action="append", default=[], metavar="KEY=VALUE",
        help="tracker parameter, repeatable (values are Python literals: 0.5, True, 'iou')",
    )
    p.add_argument("--conf", type=float, help="minimum detection confidence (model default 0.25; --det default 0)")
    p.add_argument("--iou", type=float, help="NMS IoU threshold for the model (default 0.7)")
    p.add_argument("--imgsz", default="auto", help="model input size in pixels, or 'auto' (default)")
    p.add_argument("--batch", type=int, help="frames per detector call (default 4)")
    p.add_argument("--start", type=int, default=0, help="first frame, 0-based (default 0)")
    p.add_argument("--stop", type=int, help="stop before this frame, 0-based (default: end of video)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda:N (default auto)")
    p.add_argument(
        "--fps", type=float, help="the video's true frame rate, when its header is wrong (time-based settings use it)"
    )
    p.add_argument(
        "--no-postprocess",
        dest="postprocess",
        action="store_false",
        help="write the online tracker's output as is (default: stitch broken tracks, fill short gaps, drop "
        "tracks shorter than 0.5 s — possible because the whole video is tracked before writing)",
    )
    p.add_argument("--out", required=True, help="output MOTChallenge .txt file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def parse_tracker_params(items: list[str]) -> dict:
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key.isidentifier():
            raise TrackroomError(f"Tracker parameter '{item}' is not KEY=VALUE.")
        try:
            params[key] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            params[key] = value.strip()  # a bare word, e.g. asso_func=giou
    return params


def _imgsz(text: str):
    text = str(text).strip().lower()
    if text == "auto":
        return "auto"
    if not text.isdigit() or not 32 <= int(text) <= 4096:
        raise TrackroomError(f"--imgsz must be 'auto' or a number of pixels between 32 and 4096, not '{text}'.")
    return int(text)


def _make_tracker(create_tracker, name: str | None, params: dict, fps: float):
    params = {"fps": fps, **params} if fps > 0 else params  # time-based settings follow the frame rate
    try:
        return create_tracker(name, **params) if name else create_tracker(**params)
    except TypeError as exc:
        raise TrackroomError(f"Tracker '{name}' does not accept these parameters ({exc}).") from None


def run(args: argparse.Namespace) -> int:
    from ..detectors import PublicDetections, create_detector
    from ..motchallenge import MotRow, write_mot
    from ..mot import create_tracker
    from ..pipeline import track_video
    from ..postprocess import postprocess_tracks
    from ..video import open_video

    out = Path(args.out)
    if not out.parent.is_dir():
        raise TrackroomError(f"Output folder does not exist: {out.parent}")
    imgsz = _imgsz(args.imgsz)
    params = parse_tracker_params(args.tracker_param)
    if args.reid is not None:
        from ..mot import REID_NAME

        if args.tracker not in (None, REID_NAME):
            raise TrackroomError(f"--reid is for --tracker {REID_NAME}, not '{args.tracker}'.")
        args.tracker = REID_NAME
        params["reid_model"] = args.reid
    if args.tracker == "reid" and args.device not in ("auto", "cpu") and "device" not in params:
        params["device"] = args.device  # the appearance model runs where the detector does

    if args.fps is not None and not 0 < args.fps <= 1000:
        raise TrackroomError(f"--fps must be between 0 and 1000, not {args.fps}.")
    with open_video(args.video) as src:
        fps = args.fps or src.info.fps
        tracker = _make_tracker(create_tracker, args.tracker, params, fps)
        if args.det:
            detector = PublicDetections(args.det, conf=args.conf or 0.0, classes=args.classes)
        else:
            detector = create_detector(
                args.model, classes=args.classes, conf=args.conf, iou=args.iou, imgsz=imgsz, batch=args.batch,
                device=args.device,
            )
        stop = src.info.frame_count if args.stop is None else min(args.stop, src.info.frame_count)
        total = max(0, stop - max(0, args.start))
        tracks: dict[int, list] = {}
        started = time.perf_counter()
        bar = None
        if not args.quiet:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="frame", file=sys.stderr, desc="tracking", dynamic_ncols=True)
        try:
            for result in track_video(src, detector, tracker, start=args.start, stop=stop, batch=args.batch):
                tracks[result.frame_index] = result.objects
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
            detector.close()
        elapsed = time.perf_counter() - started
    if args.postprocess:
        tracks = postprocess_tracks(tracks, fps)
    rows = [
        MotRow(frame, obj.track_id, x1, y1, x2 - x1, y2 - y1, float(obj.conf))
        for frame, objects in tracks.items()
        for obj in objects
        for x1, y1, x2, y2 in [(float(v) for v in obj.xyxy)]
    ]
    track_ids = {row.track_id for row in rows}
    written = write_mot(out, rows)
    print(
        f"{written} rows, {len(track_ids)} tracks over {total} frames in {elapsed:.1f} s "
        f"({total / elapsed if elapsed else 0:.1f} fps) -> {out}",
        file=sys.stderr,
    )
    return 0
