"""Live push: one WebSocket per video, ``/ws/videos/<id>/``.

Authentication is the Django session (the browser's cookie; AuthMiddlewareStack). The socket is
accepted and then closed with a code when the caller may not watch the video:

    4403  not signed in
    4404  no such video, or the caller has no role in its project (same answer, so ids don't leak)

Every member (viewer and up) receives everything. Server → client messages (JSON objects, ``type``
first):

    hello             {"type", "video", "user": {"id", "username"}, "role", "connection", "presence": [...]}
                      sent once after connecting ("connection": this socket's id in the presence list)
    figures.batch     {"type", "video", "job", "kind", "seq", "frames": [first, last], "figures": [figure...],
                      "tracks": [track...], "sent_at"}  a job's results, in order (seq 1, 2, …); "tracks" are
                      tracks the job created in this batch; figures have the REST shape (/api/figures/);
                      sent_at = epoch seconds when the batch was committed
    figures.removed   {"type", "video", "job", "ids": [figure id...]}  machine figures a job replaced
    job.queued / job.progress / job.done / job.failed / job.cancelled
                      {"type", "job": {"id", "kind", "status", "progress", "frames_done", "frames_total",
                      "error", "result", ...}}  (progress at most ~4 per second)
    figure.created / figure.updated      {"type", "figure": {REST shape}, "by": user id}
    figure.deleted    {"type", "figure": {"id", "track", "video", "frame"}, "by"}
    track.created / track.updated        {"type", "track": {REST shape}, "by"}
    track.deleted     {"type", "track": {"id", "video", "number"}, "by"}
    presence          {"type", "event": "join" | "frame" | "leave", "user": id, "users":
                      [{"connection", "user", "username", "frame", "since"}...]}  everyone on this video now
                      (one entry per open socket; frame is null until that client sends one)
    pong              {"type", "t"}  answer to ping (echoes "t")
    error             {"type", "detail", "request"}  a message the server refused

Client → server:

    {"type": "presence", "frame": n}   "I am looking at frame n" (any member, viewers included)
    {"type": "ping", "t": anything}

Nothing is written through the socket: annotations are saved through the REST API. Any other message
gets an ``error`` reply (a viewer is told that viewers cannot change annotations).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from . import realtime
from .models import Role, Video
from .permissions import role_of

CLOSE_NOT_SIGNED_IN = 4403
CLOSE_NOT_FOUND = 4404
WRITE_TYPES_PREFIXES = ("figure", "track", "job", "label", "video")


class PresenceStore:
    """Who is on which frame of which video: in this process (embedded default), or in a Redis hash
    per video when REDIS_URL is set, so every daphne process sees the same list."""

    KEY_TTL_S = 6 * 3600

    def __init__(self):
        self._local: dict[int, dict[str, dict]] = {}
        self._clients: dict[int, object] = {}  # one redis.asyncio client per event loop

    def _redis(self):
        url = getattr(settings, "REDIS_URL", "")
        if not url:
            return None
        loop = asyncio.get_running_loop()
        client = self._clients.get(id(loop))
        if client is None:
            import redis.asyncio as aioredis

            client = self._clients[id(loop)] = aioredis.Redis.from_url(url)
        return client

    @staticmethod
    def _key(video_id: int) -> str:
        from trackroom.broker import REDIS_PREFIX

        return f"{REDIS_PREFIX}:presence:{video_id}"

    async def _set(self, video_id: int, connection: str, entry: dict) -> list[dict]:
        client = self._redis()
        if client is None:
            self._local.setdefault(video_id, {})[connection] = entry
        else:
            await client.hset(self._key(video_id), connection, json.dumps(entry))
            await client.expire(self._key(video_id), self.KEY_TTL_S)
        return await self.users(video_id)

    async def users(self, video_id: int) -> list[dict]:
        client = self._redis()
        if client is None:
            entries = list(self._local.get(video_id, {}).values())
        else:
            entries = [json.loads(v) for v in (await client.hgetall(self._key(video_id))).values()]
        return sorted(entries, key=lambda e: (e["since"], e["connection"]))

    async def join(self, video_id: int, connection: str, user_id: int, username: str) -> list[dict]:
        entry = {"connection": connection, "user": user_id, "username": username, "frame": None, "since": time.time()}
        return await self._set(video_id, connection, entry)

    async def update(self, video_id: int, connection: str, frame: int | None) -> list[dict]:
        entries = {e["connection"]: e for e in await self.users(video_id)}
        entry = entries.get(connection)
        if entry is None:
            return list(entries.values())
        entry["frame"] = frame
        return await self._set(video_id, connection, entry)

    async def leave(self, video_id: int, connection: str) -> list[dict]:
        client = self._redis()
        if client is None:
            self._local.get(video_id, {}).pop(connection, None)
        else:
            await client.hdel(self._key(video_id), connection)
        return await self.users(video_id)


presence = PresenceStore()


@database_sync_to_async
def _video_and_role(user, video_id: int):
    video = Video.objects.filter(pk=video_id).only("id", "project_id").first()
    if video is None:
        return None, None
    return video, role_of(user, video.project_id)


class VideoConsumer(AsyncJsonWebsocketConsumer):
    video_id: int | None = None
    group: str | None = None
    role: str | None = None

    async def connect(self):
        realtime.bind_server_loop(asyncio.get_running_loop())
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_NOT_SIGNED_IN)
            return
        video_id = int(self.scope["url_route"]["kwargs"]["video_id"])
        video, role = await _video_and_role(user, video_id)
        if video is None or role is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.video_id, self.role = video_id, role
        self.group = realtime.video_group(video_id)
        self.connection = hashlib.sha1(self.channel_name.encode()).hexdigest()[:12]
        await self.channel_layer.group_add(self.group, self.channel_name)
        users = await presence.join(video_id, self.connection, user.pk, user.get_username())
        await self.send_json(
            {
                "type": "hello",
                "video": video_id,
                "user": {"id": user.pk, "username": user.get_username()},
                "role": role,
                "connection": self.connection,
                "presence": users,
            }
        )
        await self._broadcast_presence("join", users)

    async def disconnect(self, code):
        if self.group is None:
            return
        await self.channel_layer.group_discard(self.group, self.channel_name)
        users = await presence.leave(self.video_id, self.connection)
        await self._broadcast_presence("leave", users)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        try:
            content = json.loads(text_data) if text_data is not None else None
        except json.JSONDecodeError:
            content = None
        if not isinstance(content, dict):
            if self.group is not None:
                await self._error("Send JSON objects, e.g. {\"type\": \"ping\"}.", None)
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        if self.group is None:
            return
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "presence":
            frame = content.get("frame")
            if frame is not None and (isinstance(frame, bool) or not isinstance(frame, int) or frame < 0):
                await self._error("'frame' must be a frame index (a whole number from 0) or null.", kind)
                return
            users = await presence.update(self.video_id, self.connection, frame)
            await self._broadcast_presence("frame", users)
        elif kind == "ping":
            await self.send_json({"type": "pong", "t": content.get("t")})
        elif isinstance(kind, str) and kind.split(".")[0] in WRITE_TYPES_PREFIXES:
            if self.role == Role.VIEWER:
                detail = "Your role in this project is viewer; viewers cannot change annotations."
            else:
                detail = "Nothing is written through this socket; save changes through the REST API (/api/)."
            await self._error(detail, kind)
        else:
            await self._error("Unknown message; send {\"type\": \"presence\", \"frame\": n} or {\"type\": \"ping\"}.", kind)

    async def _error(self, detail: str, request) -> None:
        await self.send_json({"type": "error", "detail": detail, "request": request})

    async def _broadcast_presence(self, event: str, users: list[dict]) -> None:
        user = self.scope["user"]
        await self.channel_layer.group_send(
            self.group,
            {"type": "push", "event": {"type": "presence", "event": event, "user": user.pk, "users": users}},
        )

    async def push(self, message):
        await self.send_json(message["event"])
