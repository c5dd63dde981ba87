"""The `Scheduler` facade: spawns the runtime's actors and messages them.

Every public method is safe to call from any thread, including from inside a
target or callback that the scheduler itself is running.

One module per concern, each a class over the shared `SchedulerCore` (`core`):
`creation` (``schedule*``), `changes` (cancel, pause, resume, reschedule, update,
clear), `inspection` (snapshots, statistics, history); `facade` composes them into
`Scheduler` with its life cycle (start, stop, targets, callbacks). `restore` (at
start, from a store) and `remote` (a change travelling to the process of a shared
store's group that runs the schedule) are plain functions.
"""

from actors.scheduler.core import DEFAULT_MAX_CONCURRENT
from actors.scheduler.facade import Scheduler

__all__ = ["DEFAULT_MAX_CONCURRENT", "Scheduler"]
