"""callboard: Django Channels rebuilt as an actor system on Trio structured concurrency.

This module re-exports only the everyday names; each subpackage
(``callboard.actors``, ``callboard.layers``, ...) has the full list.
"""

from callboard.exceptions import ChannelFull as ChannelFull
from callboard.exceptions import DenyConnection as DenyConnection
from callboard.exceptions import StopConsumer as StopConsumer

__version__ = "0.1.0.dev0"

__all__ = ["ChannelFull", "DenyConnection", "StopConsumer", "__version__"]
