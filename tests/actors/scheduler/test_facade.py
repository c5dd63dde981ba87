"""`actors.scheduler` as a package: `Scheduler` keeps its whole public API, each method
documented where help(Scheduler) finds it, whichever concern class it comes from."""

from __future__ import annotations

import inspect
import pydoc

import actors
from actors.scheduler import DEFAULT_MAX_CONCURRENT, Scheduler
from actors.scheduler.core import SchedulerCore

#: The public API as it was when Scheduler was one class (actors/scheduler.py).
PUBLIC = {
    "add_error_callback", "add_execution_callback", "batch", "cancel_all", "cancel_all_scheduled_messages",
    "cancel_schedule", "cancel_scheduled_message", "clear_completed_schedules", "clock", "get_execution_metrics",
    "get_execution_stats", "get_next_execution_time", "get_schedule", "get_scheduled_messages", "list_schedules",
    "now", "pause", "register", "remove_error_callback", "remove_execution_callback", "reschedule", "resume",
    "running", "schedule", "schedule_at_interval", "schedule_at_time", "schedule_cron", "schedule_daily",
    "schedule_in_seconds", "schedule_message", "start", "stop", "update", "wait_idle",
}


def test_public_api_is_whole_and_documented() -> None:
    assert actors.Scheduler is Scheduler
    public = {n for n in dir(Scheduler) if not n.startswith("_")}
    assert public == PUBLIC
    text = pydoc.render_doc(Scheduler, renderer=pydoc.plaintext)
    for name in PUBLIC - {"clock", "running"}:  # the two properties never had a docstring
        doc = inspect.getdoc(getattr(Scheduler, name))
        assert doc, f"Scheduler.{name} has no docstring"
        assert doc.splitlines()[0] in text, f"help(Scheduler) does not show Scheduler.{name}'s docstring"
    for name in ("__enter__", "__exit__", "__aenter__", "__aexit__"):
        assert name in vars(Scheduler)


def test_every_concern_shares_one_core() -> None:
    concerns = [c for c in Scheduler.__mro__[1:] if c not in (SchedulerCore, object)]
    assert concerns and all(issubclass(c, SchedulerCore) for c in concerns)
    assert [c for c in Scheduler.__mro__ if "__init__" in vars(c)] == [SchedulerCore, object]


def test_default_pool_size_is_exported() -> None:
    """Shards and benchmarks read it from actors.scheduler."""
    s = Scheduler()
    assert s._max_concurrent == DEFAULT_MAX_CONCURRENT
    assert s.stop()
