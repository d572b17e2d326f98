"""The actor runtime: addresses, mailboxes, actors, supervisors and the registry.

Imports nothing from the rest of callboard and never Django.
"""

from ._actor import Actor as Actor
from ._actor import ActorStatistics as ActorStatistics
from ._actor import handler_name as handler_name
from ._address import MAX_NAME_LENGTH as MAX_NAME_LENGTH
from ._address import new_address as new_address
from ._address import non_local_name as non_local_name
from ._address import process_name as process_name
from ._address import require_valid_channel_name as require_valid_channel_name
from ._address import require_valid_group_name as require_valid_group_name
from ._isolation import isolated_copy as isolated_copy
from ._mailbox import DEFAULT_CAPACITY as DEFAULT_CAPACITY
from ._mailbox import Mailbox as Mailbox
from ._mailbox import MailboxStatistics as MailboxStatistics
from ._mailbox import Overflowed as Overflowed
from ._mailbox import OverflowPolicy as OverflowPolicy
from ._mailbox import open_mailbox as open_mailbox
from ._registry import Membership as Membership
from ._registry import Registry as Registry
from ._registry import RegistryStatistics as RegistryStatistics
from ._runtime import Runtime as Runtime
from ._runtime import RuntimeStatistics as RuntimeStatistics
from ._runtime import current_registry as current_registry
from ._runtime import current_runtime as current_runtime

__all__ = [
    "DEFAULT_CAPACITY",
    "MAX_NAME_LENGTH",
    "Actor",
    "ActorStatistics",
    "Mailbox",
    "MailboxStatistics",
    "Membership",
    "OverflowPolicy",
    "Overflowed",
    "Registry",
    "RegistryStatistics",
    "Runtime",
    "RuntimeStatistics",
    "current_registry",
    "current_runtime",
    "handler_name",
    "isolated_copy",
    "new_address",
    "non_local_name",
    "open_mailbox",
    "process_name",
    "require_valid_channel_name",
    "require_valid_group_name",
]
