"""The Django bridge: Django's views, ORM, auth and sessions under Trio, and the commands.

Add ``"callboard"`` to ``INSTALLED_APPS`` (above ``"django.contrib.staticfiles"``):
its app config installs the Trio support (``install_trio_support``) and feeds
``CHANNEL_LAYERS`` to ``callboard.layers``. Importing this package needs
Django installed but not configured.
"""

from ._application import get_default_application as get_default_application
from ._auth import AuthMiddleware as AuthMiddleware
from ._auth import AuthMiddlewareStack as AuthMiddlewareStack
from ._auth import UserLazyObject as UserLazyObject
from ._auth import get_user as get_user
from ._auth import login as login
from ._auth import logout as logout
from ._config import DEFAULT_DATABASE_THREAD_LIMIT as DEFAULT_DATABASE_THREAD_LIMIT
from ._config import DEFAULT_HTTP_THREAD_LIMIT as DEFAULT_HTTP_THREAD_LIMIT
from ._config import BridgeConfig as BridgeConfig
from ._config import bridge_config as bridge_config
from ._connections import close_pooled_connections as close_pooled_connections
from ._connections import share_connections as share_connections
from ._cookies import CookieMiddleware as CookieMiddleware
from ._db import DatabaseSyncToAsync as DatabaseSyncToAsync
from ._db import aclose_old_connections as aclose_old_connections
from ._db import current_database_limiter as current_database_limiter
from ._db import current_database_pool as current_database_pool
from ._db import database_run_sync as database_run_sync
from ._db import database_sync_to_async as database_sync_to_async
from ._errors import SettingsError as SettingsError
from ._errors import ThreadReentryError as ThreadReentryError
from ._http import DjangoApplication as DjangoApplication
from ._http import current_http_limiter as current_http_limiter
from ._http import get_asgi_application as get_asgi_application
from ._integration import install_trio_support as install_trio_support
from ._integration import trio_support_installed as trio_support_installed
from ._integration import uninstall_trio_support as uninstall_trio_support
from ._middleware import BaseMiddleware as BaseMiddleware
from ._origin import AllowedHostsOriginValidator as AllowedHostsOriginValidator
from ._origin import OriginValidator as OriginValidator
from ._origin import WebsocketDenier as WebsocketDenier
from ._sessions import SessionMiddleware as SessionMiddleware
from ._sessions import SessionMiddlewareStack as SessionMiddlewareStack
from ._sessions import save_session as save_session
from ._static import StaticFilesHandler as StaticFilesHandler
from ._worker import WorkerConfig as WorkerConfig
from ._worker import run_worker as run_worker
from ._worker import serve_worker as serve_worker

__all__ = [
    "DEFAULT_DATABASE_THREAD_LIMIT",
    "DEFAULT_HTTP_THREAD_LIMIT",
    "AllowedHostsOriginValidator",
    "AuthMiddleware",
    "AuthMiddlewareStack",
    "BaseMiddleware",
    "BridgeConfig",
    "CookieMiddleware",
    "DatabaseSyncToAsync",
    "DjangoApplication",
    "OriginValidator",
    "SessionMiddleware",
    "SessionMiddlewareStack",
    "SettingsError",
    "StaticFilesHandler",
    "ThreadReentryError",
    "UserLazyObject",
    "WebsocketDenier",
    "WorkerConfig",
    "aclose_old_connections",
    "bridge_config",
    "close_pooled_connections",
    "current_database_limiter",
    "current_database_pool",
    "current_http_limiter",
    "database_run_sync",
    "database_sync_to_async",
    "get_asgi_application",
    "get_default_application",
    "get_user",
    "install_trio_support",
    "login",
    "logout",
    "run_worker",
    "save_session",
    "serve_worker",
    "share_connections",
    "trio_support_installed",
    "uninstall_trio_support",
]
