"""ASGI entry point (daphne trackroom.asgi:application): HTTP through Django, WebSockets through Channels.

With the embedded default (no REDIS_URL) the server also runs the jobs: the in-process job worker
(trackroom/broker.py) starts when the server handles its first connection — importing this module has
no side effects, so tests and tools can import it. TRACKROOM_EMBEDDED_WORKER=0 turns the worker off.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trackroom.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from labeling.consumers import VideoConsumer  # noqa: E402
from trackroom.broker import EmbeddedWorkerStarter  # noqa: E402

websocket_urlpatterns: list = [
    path("ws/videos/<int:video_id>/", VideoConsumer.as_asgi(), name="ws-video"),
]

application = EmbeddedWorkerStarter(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        }
    )
)
