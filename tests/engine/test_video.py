"""Frame sources: exact counts, frame-exact seeking (real footage and synthetic clips), read-ahead,
and probe_video's refusals of files that are not usable video."""

from __future__ import annotations

import random
import struct
import threading
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from tracking.errors import Cancelled, UnknownNameError, VideoError
from tracking.types import CancelToken
from tracking.video import FALLBACK_FPS, VideoLimits, open_video, probe_video, read_ahead

BACKENDS = ["pyav", "opencv"]


def frame_code(frame: np.ndarray) -> int:
    """The index a moving_boxes_clip frame carries in its top-left block ((index * 5) % 256)."""
    return int(round(float(frame[1:7, 1:7].mean()) / 5.0))


def reference_frames(path: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    """Frames decoded sequentially from the start with plain PyAV (independent of tracking.video)."""
    out = {}
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i in wanted:
                out[i] = frame.to_ndarray(format="bgr24")
            if i >= max(wanted):
                break
    return out


def make_av_clip(path: Path, codec: str, frames: int = 60, options: dict | None = None) -> Path:
    """A clip written with PyAV (e.g. H.264 with B-frames), frame index coded like moving_boxes."""
    rng = np.random.default_rng(3)
    background = rng.integers(0, 255, (96, 160, 3), dtype=np.uint8)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        stream.options = options or {}
        for i in range(frames):
            img = np.roll(background, i * 3, axis=1).copy()
            img[0:8, 0:8] = (i * 5) % 256
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


# --- real footage ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pets09_reference(pets09_video):
    rng = random.Random(20260)
    wanted = {0, 1, 249, 250, 251, 399, 400, 401, 500, 749, 750, 794, *rng.sample(range(795), 12)}
    return reference_frames(pets09_video, wanted)


def test_pets09_info_and_exact_count(pets09_video):
    info = probe_video(pets09_video)
    assert (info.frame_count, info.width, info.height, info.fps) == (795, 768, 576, 10.0)
    assert info.codec == "msmpeg4" and info.size == pets09_video.stat().st_size
    for backend in BACKENDS:
        with open_video(pets09_video, backend) as src:
            assert src.info.frame_count == 795 and len(src) == 795
            assert (src.info.width, src.info.height) == (768, 576)


@pytest.mark.parametrize("backend", BACKENDS)
def test_pets09_seek_is_pixel_exact(pets09_video, pets09_reference, backend):
    """Random-order reads return exactly the pixels of a sequential decode (incl. keyframes 250,
    500, 750 and their neighbours, and the last frame)."""
    order = sorted(pets09_reference)
    random.Random(1).shuffle(order)
    with open_video(pets09_video, backend) as src:
        for n in order:
            frame = src.read(n)
            assert frame.dtype == np.uint8 and frame.shape == (576, 768, 3)
            assert np.array_equal(frame, pets09_reference[n]), f"{backend}: frame {n} differs"
        # A seek lands on a keyframe and decodes forward; it does not restart from frame 0.
        if backend == "pyav":
            src.read(794)
            decoded = src.decoded
            src.read(760)  # keyframe 750 → decodes 750..760
            assert src.decoded - decoded == 11


def test_pets09_backends_agree_and_range_read(pets09_video, pets09_reference):
    with open_video(pets09_video, "pyav") as a, open_video(pets09_video, "opencv") as b:
        got_a = dict(a.frames(398, 403))
        got_b = dict(b.frames(398, 403))
    assert list(got_a) == [398, 399, 400, 401, 402]
    for n in (399, 400, 401):
        assert np.array_equal(got_a[n], pets09_reference[n]) and np.array_equal(got_b[n], pets09_reference[n])


# --- synthetic clips -----------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_synthetic_random_access_and_step(moving_boxes_clip, backend):
    order = list(range(moving_boxes_clip.frame_count))
    random.Random(5).shuffle(order)
    with open_video(moving_boxes_clip.path, backend) as src:
        assert src.info.frame_count == 40
        for n in order:
            assert frame_code(src.read(n)) == n
        assert [(i, frame_code(f)) for i, f in src.frames(3, 20, 4)] == [(i, i) for i in range(3, 20, 4)]
        assert [i for i, _ in src.frames(35, 1000)] == [35, 36, 37, 38, 39]
        with pytest.raises(IndexError, match="frames 0 to 39"):
            src.read(40)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sequential_reads_never_seek(moving_boxes_clip, backend):
    with open_video(moving_boxes_clip.path, backend) as src:
        src.read(0)
        seeks = src.seeks
        for n in range(1, 40):
            assert frame_code(src.read(n)) == n
        for n, frame in src.frames(10, 30):  # backwards: one seek, then straight on
            assert frame_code(frame) == n
        assert src.seeks <= seeks + 1


@pytest.mark.parametrize(
    "name, codec, options, counted_by",
    [
        ("h264.mp4", "libx264", {"g": "12", "bf": "2", "x264-params": "keyint=12:scenecut=0"}, "packets"),
        ("h264-open-gop.mkv", "libx264", {"bf": "3", "x264-params": "keyint=12:open-gop=1"}, "packets"),
        ("divx.avi", "mpeg4", {"g": "10", "bf": "2"}, "decoding"),  # packed B-frames in AVI
    ],
)
def test_reordered_codecs_seek_exactly(tmp_path, name, codec, options, counted_by):
    path = make_av_clip(tmp_path / name, codec, frames=60, options=options)
    assert probe_video(path).frame_count == 60
    with open_video(path, "pyav") as src:
        assert src.index.counted_by == counted_by
        sequential = [f for _, f in src.frames()]
    assert len(sequential) == 60
    order = list(range(60))
    random.Random(9).shuffle(order)
    for backend in BACKENDS:
        with open_video(path, backend) as src:
            assert src.info.frame_count == 60
            for n in order:
                assert np.array_equal(src.read(n), sequential[n]), f"{backend} {name}: frame {n}"


def test_stream_cut_mid_gop_counts_pictures_not_packets(tmp_path):
    """A stream that starts with packets before its first keyframe (cut from a longer recording):
    those packets give no picture, so the packet count is wrong and the source must notice."""
    options = {"bf": "0", "x264-params": "keyint=12:scenecut=0"}
    full = make_av_clip(tmp_path / "full.mkv", "libx264", frames=60, options=options)
    cut = tmp_path / "cut.mkv"
    with av.open(str(full)) as src, av.open(str(cut), "w") as out:
        stream = out.add_stream_from_template(src.streams.video[0])
        packets = [p for p in src.demux(video=0) if p.size]
        for packet in packets[5:]:  # frames 5..11 now depend on a keyframe that is gone
            packet.stream = stream
            out.mux(packet)
    with av.open(str(cut)) as c:
        pictures = [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]
    assert len(pictures) == 48  # 55 packets, the first 7 decode to nothing
    assert probe_video(cut).frame_count == 48
    for backend in BACKENDS:
        with open_video(cut, backend) as src:
            assert src.info.frame_count == 48
            order = list(range(48))
            random.Random(4).shuffle(order)
            for n in order:
                assert np.array_equal(src.read(n), pictures[n]), f"{backend}: frame {n}"


def _patch_avi_frame_count(data: bytes, count: int) -> bytes:
    """Overwrite the frame count in an AVI's main header (avih) and stream header (strh)."""
    patched = bytearray(data)
    struct.pack_into("<I", patched, 48, count)  # avih.dwTotalFrames
    strh = patched.find(b"strh")
    struct.pack_into("<I", patched, strh + 8 + 32, count)  # strh.dwLength
    return bytes(patched)


def test_frame_count_exact_when_header_lies(moving_boxes_clip, tmp_path):
    data = moving_boxes_clip.path.read_bytes()
    for claimed in (5, 1000):
        path = tmp_path / f"claims-{claimed}.avi"
        path.write_bytes(_patch_avi_frame_count(data, claimed))
        with av.open(str(path)) as c:
            assert c.streams.video[0].frames == claimed  # the header really says so
        for backend in BACKENDS:
            with open_video(path, backend) as src:
                assert src.info.frame_count == 40
                assert frame_code(src.read(39)) == 39
    assert probe_video(tmp_path / "claims-5.avi").frame_count == 40
    # A header promising more frames than the file holds is what a truncated upload looks like.
    with pytest.raises(VideoError, match="promises 1000 frames but only 40"):
        probe_video(tmp_path / "claims-1000.avi")


def test_auto_backend_and_unknown_name(moving_boxes_clip):
    with open_video(moving_boxes_clip.path) as src:
        assert src.name == "pyav"
    with pytest.raises(UnknownNameError, match="Choose one of"):
        open_video(moving_boxes_clip.path, "gstreamer-magic")


# --- read-ahead ---------------------------------------------------------------------------------


def test_prefetch_yields_same_frames_in_order(moving_boxes_clip):
    with open_video(moving_boxes_clip.path) as src:
        plain = [(i, f.copy()) for i, f in src.frames(0, 40, 3)]
    with open_video(moving_boxes_clip.path) as src:
        ahead = list(src.frames(0, 40, 3, prefetch=4))
    assert [i for i, _ in ahead] == [i for i, _ in plain]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(ahead, plain, strict=True))


def test_read_ahead_is_bounded_and_overlaps():
    produced = []

    def slow_source():
        for i in range(100):
            produced.append(i)
            yield i

    it = read_ahead(slow_source(), depth=3)
    assert next(it) == 0
    time.sleep(0.2)
    # Queue of 3, one item in the producer's hand, one taken: never the whole source.
    assert len(produced) <= 6
    it.close()
    assert not it._thread.is_alive()


def test_read_ahead_raises_producer_error_in_consumer():
    def failing():
        yield 1
        yield 2
        raise VideoError("Could not decode frame 2 of x.avi.")

    got = []
    with pytest.raises(VideoError, match="frame 2"):
        for item in read_ahead(failing(), depth=2):
            got.append(item)
    assert got == [1, 2]


def test_read_ahead_cancel_token_stops_both_sides():
    token = CancelToken()
    stop_seen = threading.Event()

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            stop_seen.set()

    it = read_ahead(endless(), depth=2, cancel=token)
    assert next(it) == 0
    token.cancel()
    with pytest.raises(Cancelled):
        next(it)
    assert stop_seen.wait(2) and not it._thread.is_alive()


# --- probe refusals -------------------------------------------------------------------------------


def test_probe_refuses_random_bytes(tmp_path):
    path = tmp_path / "holiday.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 200_000, dtype=np.uint8).tobytes())
    with pytest.raises(VideoError, match="holiday.mp4 is not a video file"):
        probe_video(path)


def test_probe_refuses_truncated_file(pets09_video, tmp_path):
    data = pets09_video.read_bytes()
    path = tmp_path / "cut.avi"
    path.write_bytes(data[: int(len(data) * 0.3)])
    with pytest.raises(VideoError, match="truncated"):
        probe_video(path)


def test_probe_refuses_zero_frames(tmp_path):
    path = tmp_path / "empty-track.avi"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mjpeg", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuvj420p"
        out.start_encoding()
    with av.open(str(path)) as c:
        assert len(c.streams.video) == 1  # a real container with a video track…
    with pytest.raises(VideoError, match="no frames"):  # …that holds nothing
        probe_video(path)


def test_probe_refuses_audio_only(tmp_path):
    path = tmp_path / "voice.wav"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    with pytest.raises(VideoError, match="only audio"):
        probe_video(path)


def make_unknown_codec_avi(clip_path: Path, out: Path) -> Path:
    """An AVI whose video fourcc no decoder knows (as with a proprietary capture codec)."""
    data = bytearray(clip_path.read_bytes())
    strh, strf = data.find(b"strh"), data.find(b"strf")
    data[strh + 12 : strh + 16] = b"ZZZZ"  # strh.fccHandler
    data[strf + 24 : strf + 28] = b"ZZZZ"  # BITMAPINFOHEADER.biCompression
    out.write_bytes(bytes(data))
    return out


def test_probe_refuses_unknown_codec(moving_boxes_clip, tmp_path):
    path = make_unknown_codec_avi(moving_boxes_clip.path, tmp_path / "capture.avi")
    with pytest.raises(VideoError, match="codec that Trackroom cannot decode"):
        probe_video(path)
    with pytest.raises(VideoError):
        open_video(path, "pyav")


def test_probe_refuses_absurd_dimensions(moving_boxes_clip):
    with pytest.raises(VideoError, match="320x240 pixels; Trackroom accepts at most 200 pixels per side"):
        probe_video(moving_boxes_clip.path, VideoLimits(max_side=200))
    with pytest.raises(VideoError, match="320x240"):
        probe_video(moving_boxes_clip.path, VideoLimits(max_pixels=320 * 239))
    assert probe_video(moving_boxes_clip.path, VideoLimits(max_side=320, max_pixels=320 * 240)).frame_count == 40


def test_probe_refuses_empty_and_missing(tmp_path):
    (tmp_path / "zero.avi").write_bytes(b"")
    with pytest.raises(VideoError, match="empty"):
        probe_video(tmp_path / "zero.avi")
    with pytest.raises(VideoError, match="not found"):
        probe_video(tmp_path / "nope.avi")


def test_absurd_fps_falls_back(moving_boxes_clip, tmp_path):
    """A header claiming a million frames per second is not believed (fps is editable later)."""
    data = bytearray(moving_boxes_clip.path.read_bytes())
    strh = data.find(b"strh")
    struct.pack_into("<II", data, strh + 8 + 20, 1, 1_000_000)  # strh.dwScale, dwRate
    struct.pack_into("<I", data, 32, 1)  # avih.dwMicroSecPerFrame
    path = tmp_path / "fast.avi"
    path.write_bytes(bytes(data))
    with av.open(str(path)) as c:
        assert float(c.streams.video[0].average_rate) == 1_000_000
    assert probe_video(path).fps == FALLBACK_FPS
    for backend in BACKENDS:
        with open_video(path, backend) as src:
            assert src.info.fps == FALLBACK_FPS and src.info.frame_count == 40


def test_opencv_and_pyav_decode_identically(moving_boxes_clip):
    with open_video(moving_boxes_clip.path, "pyav") as a:
        frame_a = a.read(17)
    cap = cv2.VideoCapture(str(moving_boxes_clip.path))
    for _ in range(17):
        cap.grab()
    ok, frame_b = cap.read()
    cap.release()
    assert ok and np.array_equal(frame_a, frame_b)
