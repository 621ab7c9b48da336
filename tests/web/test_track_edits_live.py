"""Track edits reach everyone on the video live: the real consumer, the in-memory channel layer and the
real API (edit, undo) — other users see ``edit.applied`` / ``edit.undone`` with the changed tracks."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.db import connections
from rest_framework.test import APIClient

from labeling.models import Figure, LabelClass, Membership, Project, Role, ShapeKind, Track, Video

pytestmark = pytest.mark.django_db(transaction=True)


async def receive_until(communicator, kind: str, timeout: float = 5.0) -> dict:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        message = await communicator.receive_json_from(timeout=max(0.01, deadline - loop.time()))
        if message["type"] == kind:
            return message


def test_edits_and_undos_are_pushed_to_other_users():
    User = get_user_model()
    alice, bob = User.objects.create(username="alice"), User.objects.create(username="bob")
    project = Project.objects.create(name="P")
    Membership.objects.create(user=alice, project=project, role=Role.ANNOTATOR)
    Membership.objects.create(user=bob, project=project, role=Role.VIEWER)
    video = Video.objects.create(
        project=project, name="v", file="videos/v.avi", fps=10, frame_count=50, width=320, height=240,
        codec="MJPG", size=1, checksum="0" * 64,
    )  # fmt: skip
    label = LabelClass.objects.create(project=project, name="person", shape=ShapeKind.BOX)
    a = Track.objects.create(video=video, label=label, number=1)
    b = Track.objects.create(video=video, label=label, number=2)
    for track, frames in ((a, range(0, 5)), (b, range(6, 9))):
        for f in frames:
            Figure.objects.create(track=track, video=video, frame=f, x1=1, y1=2, x2=30, y2=40,
                                  data={"x1": 1, "y1": 2, "x2": 30, "y2": 40})  # fmt: skip
    api = APIClient()
    api.force_authenticate(alice)

    from trackroom.asgi import websocket_urlpatterns

    async def scenario():
        socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/videos/{video.pk}/")
        socket.scope["user"] = bob
        assert (await socket.connect())[0]
        await receive_until(socket, "hello")
        response = await sync_to_async(api.post)(
            f"/api/videos/{video.pk}/edits/", {"op": "merge", "tracks": [a.pk, b.pk]}, format="json"
        )
        assert response.status_code == 201
        event = await receive_until(socket, "edit.applied")
        assert event["edit"]["op"] == "merge" and event["by"] == alice.pk
        assert [t["id"] for t in event["tracks"]] == [a.pk] and event["deleted_tracks"] == [b.pk]
        assert event["frames"] == [6, 8]
        response = await sync_to_async(api.post)(f"/api/edits/{event['edit']['id']}/undo/")
        assert response.status_code == 200
        event = await receive_until(socket, "edit.undone")
        assert event["edit"]["undone"] is True and sorted(t["id"] for t in event["tracks"]) == [a.pk, b.pk]
        assert event["deleted_tracks"] == []
        await socket.disconnect()
        await sync_to_async(connections.close_all)()

    asyncio.run(scenario())
