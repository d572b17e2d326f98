"""The applications under test: one fixed protocol, implemented by every server.

``/ws/echo/`` echoes each text frame; ``/ws/group/<room>/`` joins ``<room>``
on connect and sends each text frame it receives to every member of the room,
the sender included, through the framework's group mechanism. ``GET
/bench/stats`` answers a JSON object with whatever delivery counters the
framework keeps (``{}`` when it keeps none), so the load generator can match
lost messages against them.
"""
