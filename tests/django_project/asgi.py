"""The sample project's ASGI application: Django views, WebSockets with auth, a worker channel."""

from django.urls import path

from callboard.auth import AuthMiddlewareStack
from callboard.django_bridge import get_asgi_application
from callboard.routing import ChannelNameRouter, ProtocolTypeRouter, URLRouter
from callboard.security.websocket import AllowedHostsOriginValidator

django_application = get_asgi_application()

from . import consumers  # noqa: E402 - models import after setup

websocket_routes = URLRouter(
    [
        path("ws/notes/<str:alias>/sync/", consumers.SyncNotesConsumer.as_asgi()),
        path("ws/notes/<str:alias>/database/", consumers.DatabaseNotesConsumer.as_asgi()),
        path("ws/notes/<str:alias>/async/", consumers.AsyncOrmNotesConsumer.as_asgi()),
        path("ws/whoami/", consumers.WhoAmIConsumer.as_asgi()),
        path("ws/whoami/private/", consumers.WhoAmIConsumer.as_asgi()),
    ]
)

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(websocket_routes)),
        "channel": ChannelNameRouter({"tasks": consumers.TaskConsumer.as_asgi()}),
    }
)
