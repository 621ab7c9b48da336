"""Live-push benchmark: the whole job path, as users get it, embedded default and Redis.

    .venv/bin/python benchmarks/push_latency.py [--mode embedded|redis|both] [--fps-frames 40]

Starts real servers on loopback against a throwaway SQLite database: daphne serving trackroom.asgi
(embedded: the in-process worker and in-memory channel layer; redis: a redis-server, the Redis channel
layer and one ``manage.py worker`` process), signs a WebSocket client in with a real session, and
measures

  (a) batch → client: time from a job's batch commit (the event's ``sent_at``) to its arrival in the
      WebSocket client, p50/p95 over every batch of several Track jobs (public detections on a
      300-frame synthetic clip, so batches come as fast as the database takes them);
      target p95 <= 100 ms on loopback.
  (b) edit → first auto-tracked figure: PATCH a figure through the REST API (auto-track on in the
      project settings) until the first ``figures.batch`` of the auto-track job arrives; target p95
      <= 300 ms. If the figure services do not call ``maybe_auto_track_after_edit`` yet, the edit is
      followed at once by POST /api/tracks/<id>/auto-track/ (and the table says so).
  (c) Track fps through the job path (detector + tracker + batched writes + push; the job's own
      ``timings.fps``, first frame asked → last batch published) ÷ the engine's fps on the same frames
      in this process (tracking.pipeline.track_video, same model, tracker and settings): the baseline.
      Target overhead <= 10 %. Default model (yolo11n-pose) on PETS09 frames, CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
WORK = Path(tempfile.mkdtemp(prefix="trackroom-push-bench-"))
os.environ.update(
    DJANGO_SETTINGS_MODULE="trackroom.settings",
    TRACKROOM_SQLITE_PATH=str(WORK / "db.sqlite3"),
    TRACKROOM_MEDIA_ROOT=str(WORK / "media"),
)
os.environ.pop("DATABASE_URL", None)
os.environ.pop("REDIS_URL", None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


# ------------------------------------------------------------------------------------------ set-up


def setup_data(pets09: Path):
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from labeling.models import Figure, LabelClass, Membership, Project, Role, ShapeKind, Track, Video
    from tests.conftest import make_moving_boxes_clip

    call_command("migrate", verbosity=0)
    media = Path(os.environ["TRACKROOM_MEDIA_ROOT"])
    (media / "videos").mkdir(parents=True, exist_ok=True)
    clip = make_moving_boxes_clip(media / "videos" / "boxes.avi", frames=75, width=400, height=300)
    long_clip = make_moving_boxes_clip(media / "videos" / "boxes300.avi", frames=75, width=400, height=300)
    (media / "dets.txt").write_text("".join(
        f"{f + 1},-1,{x1},{y1},{x2 - x1},{y2 - y1},0.9,-1,-1,-1\n"
        for f, boxes in long_clip.gt.items() for _, x1, y1, x2, y2 in boxes
    ))  # fmt: skip
    os.symlink(pets09, media / "videos" / "pets09.avi")
    user = get_user_model().objects.create(username="bench")
    project = Project.objects.create(name="bench", settings={"auto_track": True})
    Membership.objects.create(user=user, project=project, role=Role.OWNER)
    label = LabelClass.objects.create(project=project, name="person", shape=ShapeKind.BOX)

    def video(name, c, fps, frames, w, h):
        return Video.objects.create(project=project, name=name, file=f"videos/{name}", fps=fps, frame_count=frames,
                                    width=w, height=h, codec="", size=1, checksum="0" * 64)  # fmt: skip

    boxes = video("boxes.avi", clip, clip.fps, clip.frame_count, clip.width, clip.height)
    boxes300 = video("boxes300.avi", long_clip, long_clip.fps, long_clip.frame_count, long_clip.width, long_clip.height)
    pets = video("pets09.avi", None, 7.0, 795, 768, 576)
    track = Track.objects.create(video=boxes, label=label, number=1)
    x1, y1, x2, y2 = next(b[1:] for b in clip.gt[10] if b[0] == 1)
    figure = Figure.objects.create(track=track, video=boxes, frame=10, x1=x1, y1=y1, x2=x2, y2=y2,
                                   data={"x1": x1, "y1": y1, "x2": x2, "y2": y2}, is_keyframe=True)  # fmt: skip
    client = Client()
    client.force_login(user)
    from django.conf import settings

    return {
        "token": Token.objects.create(user=user).key,
        "session": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "boxes": boxes.pk, "boxes300": boxes300.pk, "pets": pets.pk, "track": track.pk, "figure": figure.pk,
        "figure_box": (x1, y1, x2, y2),
    }  # fmt: skip


class Servers:
    def __init__(self, mode: str, redis_url: str | None):
        self.mode, self.procs = mode, []
        self.env = dict(os.environ, PYTHONUNBUFFERED="1", DJANGO_DEBUG="0", TRACKROOM_DEVICE="cpu")
        # Importing ultralytics (the engine baseline, in this process) sets OMP_NUM_THREADS=1 in our
        # environment; a server started fresh does not have it, so neither do these.
        for name in ("OMP_NUM_THREADS", "NUMEXPR_MAX_THREADS"):
            self.env.pop(name, None)
        if mode == "redis":
            self.env.update(REDIS_URL=redis_url, TRACKROOM_REDIS_PREFIX=f"bench-{uuid.uuid4().hex[:6]}")
        self.port = free_port()
        log = open(WORK / f"daphne-{mode}.log", "w")
        self.procs.append(subprocess.Popen(
            [str(Path(PY).parent / "daphne"), "-b", "127.0.0.1", "-p", str(self.port), "trackroom.asgi:application"],
            cwd=ROOT, env=self.env, stdout=log, stderr=log,
        ))  # fmt: skip
        wait_port(self.port)
        if mode == "redis":
            worker = subprocess.Popen([PY, "manage.py", "worker", "--threads", "1", "--device", "cpu"], cwd=ROOT,
                                      env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
            self.procs.append(worker)
            for line in worker.stdout:
                if "ready" in line:
                    break
            threading.Thread(target=lambda: [None for _ in worker.stdout], daemon=True).start()

    def stop(self):
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()

    def http(self, method: str, path: str, body: dict, token: str) -> dict:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}",
                                         data=None if body is None else json.dumps(body).encode(),
                                         method=method, headers={"Content-Type": "application/json",
                                                                 "Authorization": f"Token {token}"})  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=60) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"{method} {path}: {e.code} {e.read()[:300]}") from None

    def socket(self, video: int, session: str):
        from websockets.asyncio.client import connect

        return connect(f"ws://127.0.0.1:{self.port}/ws/videos/{video}/", origin=f"http://127.0.0.1:{self.port}",
                       additional_headers={"Cookie": f"sessionid={session}"}, max_size=None)  # fmt: skip


async def until_job_end(ws, job_id: int, on_message=None, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        if on_message:
            on_message(message, time.time())
        if message["type"] in ("job.done", "job.failed", "job.cancelled") and message["job"]["id"] == job_id:
            return message


# ------------------------------------------------------------------------------------------ measures


async def batch_latency(s: Servers, d: dict, jobs: int = 6) -> list[float]:
    latencies: list[float] = []
    async with s.socket(d["boxes300"], d["session"]) as ws:
        await ws.recv()  # hello
        for _ in range(jobs):
            job = await asyncio.to_thread(s.http, "POST", f"/api/videos/{d['boxes300']}/jobs/track/",
                                          {"model": "mot-det:dets.txt", "tracker": "bytetrack"}, d["token"])  # fmt: skip

            def seen(message, now):
                if message["type"] == "figures.batch" and message["job"] == job["id"]:
                    latencies.append((now - message["sent_at"]) * 1000)

            end = await until_job_end(ws, job["id"], seen)
            assert end["type"] == "job.done", end
    return latencies


async def edit_to_first_figure(s: Servers, d: dict, edits: int = 15) -> tuple[list[float], str]:
    results: list[float] = []
    request_to_figure: list[float] = []  # explicit mode: from the auto-track request alone
    explicit = False  # True when the figure services do not start auto-track on edit (yet)
    x1, y1, x2, y2 = d["figure_box"]
    async with s.socket(d["boxes"], d["session"]) as ws:
        await ws.recv()
        version = (await asyncio.to_thread(s.http, "GET", f"/api/figures/{d['figure']}/", None, d["token"]))["version"]
        i = 0
        while i < edits:
            dx = (i % 3) - 1.0
            t0 = time.time()
            answer = await asyncio.to_thread(
                s.http, "PATCH", f"/api/figures/{d['figure']}/",
                {"version": version, "data": {"x1": x1 + dx, "y1": y1, "x2": x2 + dx, "y2": y2}, "is_keyframe": True},
                d["token"],
            )  # fmt: skip
            version = answer["version"]
            t_request = time.time()
            if explicit:
                await asyncio.to_thread(s.http, "POST", f"/api/tracks/{d['track']}/auto-track/",
                                        {"frame": 10, "stop_frame": 40}, d["token"])  # fmt: skip
            first, job_id = None, None
            deadline = time.monotonic() + (2.0 if i == 0 and not explicit else 30.0)
            while time.monotonic() < deadline:
                try:
                    message = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic())))
                except asyncio.TimeoutError:
                    break
                if message["type"] == "figures.batch" and message["kind"] == "auto_track" and first is None:
                    first, job_id = time.time(), message["job"]
                if job_id and message["type"] in ("job.done", "job.failed", "job.cancelled") and message["job"]["id"] == job_id:
                    break
            if first is None:
                if i == 0 and not explicit:
                    explicit = True
                    continue  # measure again, asking for the auto-track explicitly
                raise RuntimeError("no auto-tracked figure arrived")
            results.append((first - t0) * 1000)
            request_to_figure.append((first - t_request) * 1000)
            i += 1
            await asyncio.sleep(0.4)  # past the debounce window: each edit starts its auto-track at once
    how = (f"edit + explicit POST auto-track (figure services do not trigger auto-track on edit yet); "
           f"from the POST alone: p50 {pct(request_to_figure, .5):.0f} / p95 {pct(request_to_figure, .95):.0f} ms"
           if explicit else "PATCH figure → auto-track on edit")  # fmt: skip
    return results, how


class Engine:
    """The baseline: the same detector + tracker pipeline in this process, no database, no push."""

    def __init__(self, pets09: Path, frames: int, imgsz: int):
        from tracking.detectors import create_detector
        from tracking.runtime import configure_offline

        configure_offline()
        self.pets09, self.frames = pets09, frames
        self.detector = create_detector("default", imgsz=imgsz, device="cpu")
        self.run()  # warm-up (first inference sets the model up)

    def run(self) -> float:
        from tracking.mot import create_tracker
        from tracking.pipeline import track_video

        tracker = create_tracker("trackroom", fps=7.0)
        t = time.monotonic()
        n = sum(1 for _ in track_video(str(self.pets09), self.detector, tracker, start=0, stop=self.frames))
        return n / (time.monotonic() - t)


async def job_fps(s: Servers, d: dict, engine: Engine, imgsz: int, rounds: int = 3) -> dict:
    """Job runs interleaved with engine runs (the machine's load drifts; medians of pairs)."""
    loop, wall, base, share = [], [], [], []
    async with s.socket(d["pets"], d["session"]) as ws:
        await ws.recv()
        for i in range(rounds + 1):
            t = time.time()
            job = await asyncio.to_thread(s.http, "POST", f"/api/videos/{d['pets']}/jobs/track/",
                                          {"model": "default", "start": 0, "stop": engine.frames, "imgsz": imgsz},
                                          d["token"])  # fmt: skip
            end = await until_job_end(ws, job["id"])
            assert end["type"] == "job.done", end
            if i == 0:
                continue  # the worker's first job loads the model: warm-up, as for the engine
            timings = end["job"]["result"]["timings"]
            loop.append(timings["fps"])
            wall.append(engine.frames / (time.time() - t))
            share.append((timings["write_s"] + timings["publish_s"]) / timings["loop_s"])
            base.append(await asyncio.to_thread(engine.run))
    return {"loop": statistics.median(loop), "wall": statistics.median(wall), "engine": statistics.median(base),
            "share": statistics.median(share)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["embedded", "redis", "both"], default="both")
    parser.add_argument("--fps-frames", type=int, default=40)
    parser.add_argument("--imgsz", type=int, default=640)
    args = parser.parse_args()
    pets09 = Path(subprocess.run([str(ROOT / "scripts" / "fetch-pets09")], capture_output=True, text=True,
                                 check=True).stdout.split()[-1])  # fmt: skip
    data = setup_data(pets09)
    engine = Engine(pets09, args.fps_frames, args.imgsz)
    redis_proc = None
    modes = ["embedded", "redis"] if args.mode == "both" else [args.mode]
    rows = []
    try:
        redis_url = os.environ.get("TRACKROOM_TEST_REDIS_URL")
        if "redis" in modes and not redis_url:
            port = free_port()
            redis_proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                           "--appendonly", "no", "--dir", str(WORK)], stdout=subprocess.DEVNULL)  # fmt: skip
            wait_port(port)
            redis_url = f"redis://127.0.0.1:{port}/0"
        for mode in modes:
            servers = Servers(mode, redis_url)
            try:
                lat = asyncio.run(batch_latency(servers, data))
                edit, how = asyncio.run(edit_to_first_figure(servers, data))
                fps = asyncio.run(job_fps(servers, data, engine, args.imgsz))
            finally:
                servers.stop()
            rows.append((mode, lat, edit, how, fps))
            print(f"{mode}: batch→client p50 {pct(lat, .5):.1f} ms p95 {pct(lat, .95):.1f} ms; edit→figure p50 "
                  f"{pct(edit, .5):.0f} ms p95 {pct(edit, .95):.0f} ms; fps {fps}", flush=True)  # fmt: skip
    finally:
        if redis_proc:
            redis_proc.terminate()
    cores = os.cpu_count()
    print(f"\nTrackroom live-push benchmark — loopback, {cores} CPU cores, SQLite, default model (yolo11n-pose) "
          f"imgsz {args.imgsz} on {args.fps_frames} PETS09 frames, CPU")
    print("| mode | batch→client p50 / p95 (n) | edit→first auto-tracked figure p50 / p95 (n) | engine fps | "
          "Track job fps | job ÷ engine | write+push share of the job loop | job fps incl. queue + model load |")
    print("|---|---|---|---|---|---|---|---|")
    for mode, lat, edit, how, fps in rows:
        print(f"| {mode} | {pct(lat, .5):.1f} / {pct(lat, .95):.1f} ms ({len(lat)}) | {pct(edit, .5):.0f} / "
              f"{pct(edit, .95):.0f} ms ({len(edit)}) | {fps['engine']:.2f} | {fps['loop']:.2f} | "
              f"{fps['loop'] / fps['engine']:.3f} | {100 * fps['share']:.1f} % | {fps['wall']:.2f} |")
    for mode, _lat, _edit, how, _fps in rows:
        print(f"({mode}: edit timing = {how})")
    print("targets: batch→client p95 <= 100 ms; edit→first figure p95 <= 300 ms; job ÷ engine >= 0.90")
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
