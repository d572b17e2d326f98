"""The ASGI application: Django's views over HTTP, the chat's consumers over WebSockets.

Served by ``python manage.py runserver`` (callboard's: hypercorn on Trio) or
``callboard serve chatsite.asgi:application`` from this directory.
"""

import os

from callboard.auth import AuthMiddlewareStack
from callboard.django_bridge import get_asgi_application
from callboard.routing import ProtocolTypeRouter, URLRouter
from callboard.security.websocket import AllowedHostsOriginValidator

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
# Set Django up before importing code that imports models.
django_asgi_app = get_asgi_application()

from chat.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
