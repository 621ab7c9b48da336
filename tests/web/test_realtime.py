"""The video WebSocket in-process (channels' WebsocketCommunicator against the real consumer, the
in-memory channel layer of the embedded default, the real database): who may connect, what members
receive, presence, and that nothing is written through the socket. The same consumer over real daphne +
Redis is tested in tests/web/test_jobs_e2e.py."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import connections

from labeling import realtime
from labeling.models import Figure, LabelClass, Membership, Project, Role, ShapeKind, Track, Video
from labeling.services.annotations import figure_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(db):
    User = get_user_model()
    users = {name: User.objects.create(username=name) for name in ("owner", "viewer", "stranger")}
    project = Project.objects.create(name="P")
    Membership.objects.create(user=users["owner"], project=project, role=Role.OWNER)
    Membership.objects.create(user=users["viewer"], project=project, role=Role.VIEWER)
    other = Project.objects.create(name="Q")
    Membership.objects.create(user=users["stranger"], project=other, role=Role.OWNER)
    video = Video.objects.create(
        project=project, name="v", file="videos/v.avi", fps=10, frame_count=50, width=320, height=240,
        codec="MJPG", size=1, checksum="0" * 64,
    )  # fmt: skip
    label = LabelClass.objects.create(project=project, name="person", shape=ShapeKind.BOX)
    track = Track.objects.create(video=video, label=label, number=1)
    return {"users": users, "video": video, "track": track}


def app():
    from trackroom.asgi import websocket_urlpatterns

    return URLRouter(websocket_urlpatterns)


def connect(user, video_id: int) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(app(), f"/ws/videos/{video_id}/")
    communicator.scope["user"] = user
    return communicator


async def receive_until(communicator, kind: str, timeout: float = 3.0) -> dict:
    """The next message of ``kind`` (earlier messages of other kinds are skipped)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        message = await communicator.receive_json_from(timeout=max(0.01, deadline - loop.time()))
        if message["type"] == kind:
            return message


def test_strangers_and_anonymous_users_are_refused(world):
    async def scenario():
        for user, video_id, code in [
            (AnonymousUser(), world["video"].pk, 4403),
            (world["users"]["stranger"], world["video"].pk, 4404),
            (world["users"]["owner"], world["video"].pk + 999, 4404),
        ]:
            communicator = connect(user, video_id)
            connected, _ = await communicator.connect()
            assert connected  # accepted, then closed with a code the browser can read
            closed = await communicator.receive_output(timeout=3)
            assert closed == {"type": "websocket.close", "code": code}
            await communicator.wait()
        await sync_to_async(connections.close_all)()  # the consumer's database thread outlives the loop

    asyncio.run(scenario())


def test_members_get_presence_and_changes_and_viewers_cannot_write(world):
    owner, viewer = world["users"]["owner"], world["users"]["viewer"]
    video, track = world["video"], world["track"]

    async def scenario():
        a = connect(owner, video.pk)
        assert (await a.connect())[0]
        hello = await receive_until(a, "hello")
        assert hello["role"] == "owner" and hello["video"] == video.pk
        b = connect(viewer, video.pk)
        assert (await b.connect())[0]
        hello_b = await receive_until(b, "hello")
        assert hello_b["role"] == "viewer"
        assert {u["username"] for u in hello_b["presence"]} == {"owner", "viewer"}
        joined = await receive_until(a, "presence")
        assert joined["event"] == "join" and joined["user"] == owner.pk  # its own arrival first
        joined = await receive_until(a, "presence")
        assert joined["event"] == "join" and joined["user"] == viewer.pk

        # Presence: the viewer moves to frame 12; both see the list with it.
        await b.send_json_to({"type": "presence", "frame": 12})
        for c in (a, b):
            seen = await receive_until(c, "presence")
            while seen["event"] != "frame":
                seen = await receive_until(c, "presence")
            frames = {u["username"]: u["frame"] for u in seen["users"]}
            assert frames == {"owner": None, "viewer": 12}

        # A figure saved through the service and published on commit reaches both sockets.
        def save():
            figure = figure_create(track=track, frame=3, data={"x1": 1, "y1": 2, "x2": 30, "y2": 40}, user=owner)
            realtime.publish_figure_change("created", figure, user=owner)
            return figure

        figure = await sync_to_async(save)()
        for c in (a, b):
            event = await receive_until(c, "figure.created")
            assert event["figure"]["id"] == figure.pk and event["figure"]["x2"] == 30 and event["by"] == owner.pk

        def delete():
            realtime.publish_figure_change("deleted", figure)
            Figure.objects.filter(pk=figure.pk).delete()

        await sync_to_async(delete)()
        event = await receive_until(b, "figure.deleted")
        assert event["figure"] == {"id": figure.pk, "track": track.pk, "video": video.pk, "frame": 3}

        # Writing through the socket: refused, with a reason; nothing changes.
        await b.send_json_to({"type": "figure.update", "id": figure.pk, "data": {}})
        error = await receive_until(b, "error")
        assert "viewer" in error["detail"] and error["request"] == "figure.update"
        await a.send_json_to({"type": "track.delete", "id": track.pk})
        error = await receive_until(a, "error")
        assert "REST API" in error["detail"]
        await b.send_json_to({"type": "presence", "frame": "x"})
        assert "frame" in (await receive_until(b, "error"))["detail"]
        await a.send_to(text_data="not json")
        assert "JSON" in (await receive_until(a, "error"))["detail"]
        await a.send_json_to({"type": "ping", "t": 42})
        assert (await receive_until(a, "pong"))["t"] == 42

        await b.disconnect()
        left = await receive_until(a, "presence")
        assert left["event"] == "leave" and [u["username"] for u in left["users"]] == ["owner"]
        await a.disconnect()
        await sync_to_async(connections.close_all)()

    asyncio.run(scenario())
    assert Track.objects.filter(pk=track.pk).exists()
