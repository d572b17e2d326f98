"""The sample project's application, plus a consumer in a group the tests send to."""

from django_project.asgi import application as project_application

from callboard.consumers import AsyncJsonWebsocketConsumer


class AnnouncementConsumer(AsyncJsonWebsocketConsumer):
    """Joins ``announcements``; says ``{"joined": true}``, then relays each ``announce`` event."""

    groups = ["announcements"]

    async def connect(self):
        await self.accept()
        await self.send_json({"joined": True})

    async def announce(self, event):
        await self.send_json({"text": event["text"]})


announcements = AnnouncementConsumer.as_asgi()


async def application(scope, receive, send):
    if scope["type"] == "websocket" and scope["path"] == "/ws/announcements/":
        return await announcements(scope, receive, send)
    return await project_application(scope, receive, send)
