"""An async-only middleware in a sync chain: Django adapts it with ``async_to_sync``."""

from asgiref.sync import markcoroutinefunction


def stamp_middleware(get_response):
    """Add ``X-Stamp: async`` to every response, from async code."""

    async def middleware(request):
        response = await get_response(request)
        response["X-Stamp"] = "async"
        return response

    markcoroutinefunction(middleware)
    return middleware


stamp_middleware.async_capable = True
stamp_middleware.sync_capable = False
