"""Channel layers: Channels' layer API, the in-memory and Redis layers, and layers by alias.

Builds on ``callboard.actors``; never imports Django (``callboard.django_bridge``
feeds :func:`configure_channel_layers` from settings).
"""

from ._base import BaseChannelLayer as BaseChannelLayer
from ._config import CapacityPatterns as CapacityPatterns
from ._config import ChannelCapacity as ChannelCapacity
from ._config import LayerConfig as LayerConfig
from ._config import compile_capacities as compile_capacities
from ._inmemory import InMemoryChannelLayer as InMemoryChannelLayer
from ._manager import DEFAULT_CHANNEL_LAYER as DEFAULT_CHANNEL_LAYER
from ._manager import ChannelLayerManager as ChannelLayerManager
from ._manager import channel_layers as channel_layers
from ._manager import configure_channel_layers as configure_channel_layers
from ._manager import get_channel_layer as get_channel_layer
from ._manager import reset_channel_layers as reset_channel_layers
from ._owned import InMemoryLayerStatistics as InMemoryLayerStatistics
from ._protocol import ChannelLayer as ChannelLayer
from ._protocol import PresenceLayer as PresenceLayer
from ._redis_core import RedisChannelLayer as RedisChannelLayer
from ._redis_pubsub import RedisPubSubChannelLayer as RedisPubSubChannelLayer
from ._redis_stats import LatencyStatistics as LatencyStatistics
from ._redis_stats import RedisLayerStatistics as RedisLayerStatistics

__all__ = [
    "DEFAULT_CHANNEL_LAYER",
    "BaseChannelLayer",
    "CapacityPatterns",
    "ChannelCapacity",
    "ChannelLayer",
    "ChannelLayerManager",
    "InMemoryChannelLayer",
    "InMemoryLayerStatistics",
    "LatencyStatistics",
    "LayerConfig",
    "PresenceLayer",
    "RedisChannelLayer",
    "RedisLayerStatistics",
    "RedisPubSubChannelLayer",
    "channel_layers",
    "compile_capacities",
    "configure_channel_layers",
    "get_channel_layer",
    "reset_channel_layers",
]
