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
from ._child import Child as Child
from ._child import ChildFactory as ChildFactory
from ._child import ChildSpec as ChildSpec
from ._child import ChildState as ChildState
from ._child import RestartType as RestartType
from ._child import Stoppable as Stoppable
from ._child import TaskChild as TaskChild
from ._gc import DEFAULT_GC_THRESHOLD as DEFAULT_GC_THRESHOLD
from ._gc import tune_gc as tune_gc
from ._handle import ChildHandle as ChildHandle
from ._isolation import isolated_copy as isolated_copy
from ._mailbox import DEFAULT_CAPACITY as DEFAULT_CAPACITY
from ._mailbox import Mailbox as Mailbox
from ._mailbox import MailboxStatistics as MailboxStatistics
from ._mailbox import Overflowed as Overflowed
from ._mailbox import OverflowPolicy as OverflowPolicy
from ._mailbox import open_mailbox as open_mailbox
from ._offload import DEFAULT_THREAD_LIMIT as DEFAULT_THREAD_LIMIT
from ._offload import Home as Home
from ._offload import OffloadWrapper as OffloadWrapper
from ._offload import bind_home as bind_home
from ._offload import call_at_home as call_at_home
from ._offload import call_sync_at_home as call_sync_at_home
from ._offload import current_home as current_home
from ._offload import current_offload_pool as current_offload_pool
from ._offload import current_thread_limiter as current_thread_limiter
from ._offload import in_trio_task as in_trio_task
from ._offload import primary_home as primary_home
from ._offload import run_in_pool as run_in_pool
from ._offload import run_sync as run_sync
from ._offload import runs_at_home as runs_at_home
from ._offload import set_offload_wrapper as set_offload_wrapper
from ._offload import set_primary_home as set_primary_home
from ._pool import PoolStatistics as PoolStatistics
from ._pool import WorkerPool as WorkerPool
from ._presence import PRESENCE_EVENT as PRESENCE_EVENT
from ._presence import PresenceMember as PresenceMember
from ._presence import presence_event as presence_event
from ._presence import presence_events_group as presence_events_group
from ._registry import Membership as Membership
from ._registry import Registry as Registry
from ._registry import RegistryStatistics as RegistryStatistics
from ._restart import RestartStrategy as RestartStrategy
from ._restart import SupervisorConfig as SupervisorConfig
from ._runtime import Runtime as Runtime
from ._runtime import RuntimeStatistics as RuntimeStatistics
from ._runtime import current_registry as current_registry
from ._runtime import current_runtime as current_runtime
from ._stats import ChildStatistics as ChildStatistics
from ._stats import SupervisorStatistics as SupervisorStatistics
from ._supervisor import Supervisor as Supervisor
from ._supervisor import open_supervisor as open_supervisor
from ._supervisor import start_supervisor as start_supervisor
from ._supervisor import supervisor_spec as supervisor_spec
from ._totals import MailboxTotals as MailboxTotals

__all__ = [
    "DEFAULT_CAPACITY",
    "DEFAULT_GC_THRESHOLD",
    "DEFAULT_THREAD_LIMIT",
    "MAX_NAME_LENGTH",
    "PRESENCE_EVENT",
    "Actor",
    "ActorStatistics",
    "Child",
    "ChildFactory",
    "ChildHandle",
    "ChildSpec",
    "ChildState",
    "ChildStatistics",
    "Home",
    "Mailbox",
    "MailboxStatistics",
    "MailboxTotals",
    "Membership",
    "OffloadWrapper",
    "OverflowPolicy",
    "Overflowed",
    "PoolStatistics",
    "PresenceMember",
    "Registry",
    "RegistryStatistics",
    "RestartStrategy",
    "RestartType",
    "Runtime",
    "RuntimeStatistics",
    "Stoppable",
    "Supervisor",
    "SupervisorConfig",
    "SupervisorStatistics",
    "TaskChild",
    "WorkerPool",
    "bind_home",
    "call_at_home",
    "call_sync_at_home",
    "current_home",
    "current_offload_pool",
    "current_registry",
    "current_runtime",
    "current_thread_limiter",
    "handler_name",
    "in_trio_task",
    "isolated_copy",
    "new_address",
    "non_local_name",
    "open_mailbox",
    "open_supervisor",
    "presence_event",
    "presence_events_group",
    "primary_home",
    "process_name",
    "require_valid_channel_name",
    "require_valid_group_name",
    "run_in_pool",
    "run_sync",
    "runs_at_home",
    "set_offload_wrapper",
    "set_primary_home",
    "start_supervisor",
    "supervisor_spec",
    "tune_gc",
]
