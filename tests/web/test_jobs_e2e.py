"""End to end with the real parts, as production runs them: a real Redis (TRACKROOM_TEST_REDIS_URL from
scripts/test, else a redis-server started here on a free loopback port), real daphne serving
trackroom.asgi in a subprocess, real ``manage.py worker`` processes on the Redis broker, real WebSocket
clients (``websockets``) signed in with real session cookies, the real engine on real video.

The subprocesses share the test database: the SQLite test database is a file (settings: TEST NAME), the
PostgreSQL one (test_postgres) is reachable as is.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from labeling.models import Figure, Job, JobStatus, LabelClass, Membership, Project, Role, ShapeKind, Video
from tests.conftest import make_moving_boxes_clip

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
pytestmark = pytest.mark.django_db(transaction=True)


# ------------------------------------------------------------------------------------------ processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {timeout} s")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    url = os.environ.get("TRACKROOM_TEST_REDIS_URL")
    if url:
        yield url
        return
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_port(port, proc, 20)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


class Stack:
    """Environment shared by daphne and the workers: same Redis (own key prefix), database, media."""

    def __init__(self, redis_url: str, media: Path):
        self.redis_url, self.media = redis_url, media
        self.prefix = f"trackroom-test-{uuid.uuid4().hex[:8]}"
        # (OMP_NUM_THREADS / NUMEXPR_MAX_THREADS: set in our environment by an engine test importing ultralytics;
        # a freshly started server does not have them.)
        dropped = ("DATABASE_URL", "TRACKROOM_SQLITE_PATH", "OMP_NUM_THREADS", "NUMEXPR_MAX_THREADS")
        env = {k: v for k, v in os.environ.items() if k not in dropped}
        db = connection.settings_dict
        if db["ENGINE"].endswith("sqlite3"):
            env["TRACKROOM_SQLITE_PATH"] = str(db["NAME"])
        else:
            env["DATABASE_URL"] = (
                f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
            )
        env.update(
            REDIS_URL=redis_url,
            TRACKROOM_REDIS_PREFIX=self.prefix,
            TRACKROOM_MEDIA_ROOT=str(media),
            TRACKROOM_WORKER_TTL_S="2",
            TRACKROOM_DEVICE="cpu",
            PYTHONUNBUFFERED="1",
            DJANGO_DEBUG="0",
        )
        self.env = env
        self.procs: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        self.port = None
        self.log = media.parent / f"daphne-{self.prefix}.log"  # read it when a socket test fails

    def start_daphne(self) -> None:
        self.port = free_port()
        proc = subprocess.Popen(
            [str(Path(PY).parent / "daphne"), "-b", "127.0.0.1", "-p", str(self.port), "trackroom.asgi:application"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=self.log.open("w"),
        )  # fmt: skip
        self.procs.append(proc)
        wait_port(self.port, proc)

    def start_worker(self) -> subprocess.Popen:
        proc = subprocess.Popen(
            [PY, "manage.py", "worker", "--threads", "1", "--device", "cpu"],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.workers.append(proc)
        ready = threading.Event()
        lines: list[str] = []

        def read():
            for line in proc.stdout:
                lines.append(line)
                if "ready" in line:
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(60):
            proc.kill()
            raise RuntimeError("worker did not start:\n" + "".join(lines[-30:]))
        proc.output = lines
        return proc

    def stop_workers(self) -> None:
        _terminate(self.workers)
        self.workers = []

    def stop(self) -> None:
        self.stop_workers()
        _terminate(self.procs)
        client = redis.Redis.from_url(self.redis_url)
        keys = list(client.scan_iter(f"{self.prefix}*"))
        if keys:
            client.delete(*keys)

    # -- clients --------------------------------------------------------------------------------------

    def post(self, path: str, body: dict, token: str) -> tuple[int, dict]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def socket(self, video_id: int, session: str | None):
        headers = {"Cookie": f"sessionid={session}"} if session else {}
        return ws_connect(
            f"ws://127.0.0.1:{self.port}/ws/videos/{video_id}/", origin=f"http://127.0.0.1:{self.port}",
            additional_headers=headers, open_timeout=10,
        )  # fmt: skip


def _terminate(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="module")
def stack(redis_url, django_db_setup, django_db_blocker, tmp_path_factory):
    media = tmp_path_factory.mktemp("media")
    s = Stack(redis_url, media)
    s.start_daphne()
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def workers_stop_after_each_test(stack, transactional_db):
    """Workers live for one test: they are gone before the test database is emptied."""
    yield
    stack.stop_workers()


# ------------------------------------------------------------------------------------------- data


class World:
    def __init__(self, stack: Stack, clip_path: Path, fps: float, frames: int, width: int, height: int):
        User = get_user_model()
        self.owner = User.objects.create(username="owner")
        self.viewer = User.objects.create(username="viewer")
        self.stranger = User.objects.create(username="stranger")
        self.project = Project.objects.create(name="E2E")
        Membership.objects.create(user=self.owner, project=self.project, role=Role.OWNER)
        Membership.objects.create(user=self.viewer, project=self.project, role=Role.VIEWER)
        self.label = LabelClass.objects.create(project=self.project, name="person", shape=ShapeKind.BOX)
        name = f"videos/{self.project.pk}/{uuid.uuid4().hex[:6]}{clip_path.suffix}"
        (stack.media / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(clip_path, stack.media / name)
        self.video = Video.objects.create(
            project=self.project, name=clip_path.name, file=name, fps=fps, frame_count=frames, width=width,
            height=height, codec="", size=clip_path.stat().st_size, checksum="0" * 64,
        )  # fmt: skip
        self.token = Token.objects.create(user=self.owner).key
        self.sessions = {}
        for user in (self.owner, self.viewer, self.stranger):
            client = Client()
            client.force_login(user)
            self.sessions[user.username] = client.cookies[settings.SESSION_COOKIE_NAME].value


async def collect(ws, until: set[str], timeout: float = 60) -> list[dict]:
    """Messages until one whose type is in ``until`` (included)."""
    messages = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        message = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, remaining)))
        messages.append(message)
        if message["type"] in until:
            return messages


async def next_of(ws, kind: str, timeout: float = 30) -> dict:
    return (await collect(ws, {kind}, timeout))[-1]


def wait_job(job_id: int, timeout: float = 60) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.status in JobStatus.finished():
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job.status}")


# ------------------------------------------------------------------------------------------- tests


def test_track_job_streams_batches_to_two_clients_in_order(stack, tmp_path):
    clip = make_moving_boxes_clip(tmp_path / "boxes.avi", frames=40)
    world = World(stack, clip.path, clip.fps, clip.frame_count, clip.width, clip.height)
    dets = stack.media / f"dets-{world.video.pk}.txt"
    dets.write_text("".join(
        f"{f + 1},-1,{x1},{y1},{x2 - x1},{y2 - y1},0.9,-1,-1,-1\n" for f, boxes in clip.gt.items() for _, x1, y1, x2, y2 in boxes
    ))  # fmt: skip
    worker = stack.start_worker()

    async def scenario():
        async with stack.socket(world.video.pk, world.sessions["owner"]) as owner, stack.socket(
            world.video.pk, world.sessions["viewer"]
        ) as viewer:
            assert (await next_of(owner, "hello"))["role"] == "owner"
            assert (await next_of(viewer, "hello"))["role"] == "viewer"
            await owner.send(json.dumps({"type": "presence", "frame": 7}))
            seen = await next_of(viewer, "presence")
            while seen["event"] != "frame":
                seen = await next_of(viewer, "presence")
            assert {u["username"]: u["frame"] for u in seen["users"]} == {"owner": 7, "viewer": None}

            status, job = await asyncio.to_thread(
                stack.post, f"/api/videos/{world.video.pk}/jobs/track/",
                {"model": f"mot-det:{dets.name}", "tracker": "bytetrack", "start": 0, "stop": 40}, world.token,
            )  # fmt: skip
            assert status == 201, job
            ends = {"job.done", "job.failed", "job.cancelled"}
            got_owner, got_viewer = await asyncio.gather(collect(owner, ends), collect(viewer, ends))
            await viewer.send(json.dumps({"type": "figure.delete", "id": 1}))
            error = await next_of(viewer, "error")
            return job, got_owner, got_viewer, error

    job, got_owner, got_viewer, error = asyncio.run(scenario())
    assert got_owner[-1]["type"] == "job.done", got_owner[-1]
    assert "viewer" in error["detail"]
    batches = [m for m in got_owner if m["type"] == "figures.batch"]
    assert [m["seq"] for m in batches] == list(range(1, len(batches) + 1)) and len(batches) >= 2
    assert [m for m in got_viewer if m["type"] == "figures.batch"] == batches  # same batches, same order
    frames = [m["frames"] for m in batches]
    assert all(a[1] < b[0] for a, b in zip(frames, frames[1:]))  # consecutive, non-overlapping ranges
    assert any(m["type"] == "job.progress" for m in got_viewer)
    pushed = {f["id"]: f for m in batches for f in m["figures"]}
    stored = {f.pk: f for f in Figure.objects.filter(job_id=job["id"])}
    assert set(pushed) == set(stored) and len(stored) >= 2 * 38
    sample = stored[min(stored)]
    assert pushed[sample.pk]["x1"] == sample.x1 and pushed[sample.pk]["frame"] == sample.frame
    assert {t["id"] for m in batches for t in m["tracks"]} == set(world.video.tracks.values_list("id", flat=True))
    done = Job.objects.get(pk=job["id"])
    assert done.status == JobStatus.DONE and done.worker.split(":")[1] == str(worker.pid)


def test_killed_worker_ends_the_job_failed_without_duplicates(stack, pets09_video):
    world = World(stack, Path(pets09_video), 7.0, 795, 768, 576)
    victim = stack.start_worker()

    async def scenario():
        async with stack.socket(world.video.pk, world.sessions["viewer"]) as viewer:
            await next_of(viewer, "hello")
            status, job = await asyncio.to_thread(
                stack.post, f"/api/videos/{world.video.pk}/jobs/track/",
                {"model": "default", "start": 0, "stop": 60, "imgsz": 640}, world.token,
            )  # fmt: skip
            assert status == 201, job
            first = await next_of(viewer, "figures.batch", timeout=120)
            victim.send_signal(signal.SIGKILL)  # mid-job: no clean-up code runs in the worker
            victim.wait(10)
            running = await asyncio.to_thread(lambda: Job.objects.get(pk=job["id"]).status)
            await asyncio.to_thread(stack.start_worker)  # its heartbeat notices the dead one
            rest = await collect(viewer, {"job.failed", "job.done"}, timeout=30)
            return job, [first, *rest], running

    job, messages, running_after_kill = asyncio.run(scenario())
    assert running_after_kill == JobStatus.RUNNING
    assert messages[-1]["type"] == "job.failed"
    failed = wait_job(job["id"], 5)
    assert failed.status == JobStatus.FAILED and "worker running this job stopped" in failed.error
    assert 0 < failed.frames_done < 60
    figures = list(Figure.objects.filter(job_id=job["id"]).values_list("id", "track_id", "frame"))
    assert len({(t, f) for _, t, f in figures}) == len(figures)  # no duplicates
    # Every batch that was pushed is stored whole; what is stored covers consecutive frames from 0.
    pushed = {f["id"] for m in messages if m["type"] == "figures.batch" for f in m["figures"]}
    assert pushed and pushed <= {i for i, _, _ in figures}
    frames = sorted({f for _, _, f in figures})
    assert frames == list(range(frames[0], frames[-1] + 1)) and frames[-1] < 60
    time.sleep(1.0)  # the new worker does not pick the failed job up again
    assert Figure.objects.filter(job_id=job["id"]).count() == len(figures)
    assert Job.objects.get(pk=job["id"]).status == JobStatus.FAILED


def test_sockets_are_refused_to_strangers_and_bad_jobs_are_never_queued(stack, tmp_path):
    clip = make_moving_boxes_clip(tmp_path / "boxes.avi", frames=10)
    world = World(stack, clip.path, clip.fps, clip.frame_count, clip.width, clip.height)

    async def close_code(session):
        async with stack.socket(world.video.pk, session) as ws:
            try:
                await asyncio.wait_for(ws.recv(), 10)
            except ConnectionClosed as closed:
                return closed.rcvd.code
        return None

    assert asyncio.run(close_code(world.sessions["stranger"])) == 4404
    assert asyncio.run(close_code(None)) == 4403
    url = f"/api/videos/{world.video.pk}/jobs/track/"
    client = redis.Redis.from_url(stack.redis_url)
    messages_before = client.hlen(f"{stack.prefix}:jobs.msgs")  # (a killed worker's message may linger)
    for body, words in [
        ({"model": "no-such-model.pt"}, "Unknown model"),
        ({"tracker": "no-such-tracker"}, "no-such-tracker"),
        ({"start": 5, "stop": 11}, "stop frame"),
    ]:
        status, answer = stack.post(url, body, world.token)
        assert status == 400 and words in answer["detail"], (body, answer)
    assert not Job.objects.exists()
    assert client.hlen(f"{stack.prefix}:jobs.msgs") == messages_before
    assert client.llen(f"{stack.prefix}:jobs") == 0
