"""Timer slack: tickwork's timing threads ask Linux for 1 µs instead of 50 µs."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from actors import Scheduler, timerslack

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl timer slack is Linux-only")


def _slack_ns(native_id: int) -> int:
    return int(Path(f"/proc/{native_id}/timerslack_ns").read_text())


@linux
def test_tighten_sets_only_the_calling_threads_slack() -> None:
    out: dict[str, int | bool] = {}

    def worker() -> None:
        out["ok"] = timerslack.tighten_timer_slack()
        out["mine"] = _slack_ns(threading.get_native_id())

    before = _slack_ns(threading.get_native_id())
    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert out == {"ok": True, "mine": timerslack.SLACK_NS}
    assert _slack_ns(threading.get_native_id()) == before  # the caller's thread is untouched


@linux
def test_the_clock_and_execution_threads_run_with_tight_slack() -> None:
    seen: list[int] = []
    done = threading.Event()
    with Scheduler() as s:
        s.schedule_in_seconds(lambda: (seen.append(_slack_ns(threading.get_native_id())), done.set()), (), 0.01)
        assert done.wait(5)
        clock = [t for t in threading.enumerate() if t.name.endswith("-clock")]
        assert clock and clock[0].native_id is not None
        assert _slack_ns(clock[0].native_id) == timerslack.SLACK_NS
    assert seen == [timerslack.SLACK_NS]


def test_without_prctl_it_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timerslack, "_prctl", None)
    assert timerslack.tighten_timer_slack() is False
