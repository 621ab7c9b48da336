"""Fixtures for the REST API tests: one small world with a member of every role.

``make_world()`` builds two projects. Project A has an owner, a manager, an annotator and a
viewer, plus a video, labels, a track with a figure and a job. Project B belongs to a stranger
and holds the same kinds of objects, so every test can also ask for "an object of another
project". ``outsider`` is signed in but in no project.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dramatiq
import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from labeling.models import Figure, Job, JobKind, LabelClass, Membership, Project, Role, ShapeKind, Track, Video
from trackroom.broker import boot_worker_process, get_broker

ROLES = ["owner", "manager", "annotator", "viewer", "outsider", "anonymous"]


@dataclass
class ProjectObjects:
    project: Project
    video: Video
    label: LabelClass  # box label used by the track
    spare_label: LabelClass  # unused, so it can be deleted
    track: Track
    figure: Figure
    job: Job
    viewer_membership: Membership | None = None


@dataclass
class World:
    users: dict = field(default_factory=dict)
    a: ProjectObjects | None = None
    b: ProjectObjects | None = None

    def client(self, role: str) -> APIClient:
        client = APIClient()
        if role != "anonymous":
            client.force_authenticate(self.users[role])
        return client


def make_video(project: Project, *, frames: int = 100, width: int = 320, height: int = 240, name="clip.avi") -> Video:
    return Video.objects.create(
        project=project, name=name, file=f"videos/{project.pk}/{name}", fps=10.0, frame_count=frames,
        width=width, height=height, codec="MJPG", size=1234, checksum="0" * 64,
    )  # fmt: skip


def make_box_figure(track: Track, frame: int, x1=10.0, y1=20.0, x2=50.0, y2=80.0, **extra) -> Figure:
    return Figure.objects.create(
        track=track, video_id=track.video_id, frame=frame, x1=x1, y1=y1, x2=x2, y2=y2,
        data={"x1": x1, "y1": y1, "x2": x2, "y2": y2}, **extra,
    )  # fmt: skip


def _project_objects(name: str, owner, creator_role_users: dict[str, object]) -> ProjectObjects:
    project = Project.objects.create(name=name, created_by=owner)
    Membership.objects.create(user=owner, project=project, role=Role.OWNER)
    viewer_membership = None
    for role, user in creator_role_users.items():
        m = Membership.objects.create(user=user, project=project, role=role)
        if role == Role.VIEWER:
            viewer_membership = m
    video = make_video(project)
    label = LabelClass.objects.create(project=project, name="person", shape=ShapeKind.BOX)
    spare = LabelClass.objects.create(project=project, name="spare", shape=ShapeKind.BOX)
    track = Track.objects.create(video=video, label=label, number=1)
    figure = make_box_figure(track, 0)
    job = Job.objects.create(project=project, video=video, kind=JobKind.TRACK)
    return ProjectObjects(project, video, label, spare, track, figure, job, viewer_membership)


def make_world() -> World:
    User = get_user_model()
    world = World()
    for name in ["owner", "manager", "annotator", "viewer", "outsider", "stranger", "newcomer"]:
        world.users[name] = User.objects.create(username=name)
    u = world.users
    world.a = _project_objects(
        "Project A", u["owner"], {Role.MANAGER: u["manager"], Role.ANNOTATOR: u["annotator"], Role.VIEWER: u["viewer"]}
    )
    world.b = _project_objects("Project B", u["stranger"], {Role.VIEWER: u["newcomer"]})
    return world


@pytest.fixture
def world(db) -> World:
    return make_world()


@pytest.fixture
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make(db):
    """Factories for tests that need more than the world: make.video(project, ...), make.box(track, frame, ...)."""
    from types import SimpleNamespace

    return SimpleNamespace(video=make_video, box=make_box_figure)


@pytest.fixture
def media(tmp_path, settings):
    """A fresh media folder (and frame cache) for tests that store files."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    settings.FRAME_CACHE_DIR = tmp_path / "frames"
    return settings.MEDIA_ROOT


@pytest.fixture
def worker():
    """A real dramatiq Worker (2 threads) on the in-memory broker, as the embedded default runs it."""
    broker = get_broker()
    boot_worker_process()
    broker.flush_all()
    w = dramatiq.Worker(broker, worker_threads=2, worker_timeout=50)
    w.start()
    yield w
    w.stop()
    broker.flush_all()
