"""Tests for timekit.metrics: PrecisionTimer and TimeMetrics."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from timekit import Duration, PrecisionTimer, TimeMetrics
from timekit.metrics import MeasurementToken, _ns_to_us


def busy(ns: int) -> None:
    t0 = time.perf_counter_ns()
    while time.perf_counter_ns() - t0 < ns:
        pass


# =========================================================================== PrecisionTimer


def test_timer_measures_at_least_the_busy_time() -> None:
    t = PrecisionTimer()
    t.start()
    assert t.running
    busy(2_000_000)
    d = t.stop()
    assert isinstance(d, Duration)
    assert d >= Duration(1_999)
    assert t.elapsed() == d  # frozen once stopped
    assert not t.running


def test_timer_elapsed_while_running_grows() -> None:
    t = PrecisionTimer().start()
    a = t.elapsed()
    busy(200_000)
    b = t.elapsed()
    assert b > a >= Duration(0)


def test_timer_context_manager() -> None:
    with PrecisionTimer() as t:
        busy(100_000)
    assert not t.running
    assert t.elapsed() >= Duration(99)
    with pytest.raises(ValueError), PrecisionTimer() as t2:
        raise ValueError("boom")
    assert not t2.running and t2.elapsed() >= Duration(0)


def test_timer_errors() -> None:
    t = PrecisionTimer()
    with pytest.raises(RuntimeError, match="stop\\(\\) called before start\\(\\): call start\\(\\) first"):
        t.stop()
    with pytest.raises(RuntimeError, match="elapsed\\(\\) called before start\\(\\)"):
        t.elapsed()
    t.start()
    with pytest.raises(RuntimeError, match="already running: call stop\\(\\) or reset\\(\\)"):
        t.start()
    t.stop()
    with pytest.raises(RuntimeError, match="stopped timer: call start\\(\\) to measure again"):
        t.stop()
    t.reset()
    with pytest.raises(RuntimeError, match="before start"):
        t.elapsed()
    assert repr(t) == "PrecisionTimer(not started)"


def test_timer_restart_and_repr() -> None:
    t = PrecisionTimer()
    t.start()
    busy(1_000_000)
    first = t.stop()
    t.start()  # a new measurement after stop
    second = t.stop()
    assert second < first
    assert repr(t).startswith("PrecisionTimer(stopped, elapsed=")
    t.start()
    assert repr(t).startswith("PrecisionTimer(running, elapsed=")


@given(st.integers(-(10**15), 10**15))
def test_ns_to_us_rounds_half_even(ns: int) -> None:
    us = _ns_to_us(ns)
    assert abs(us * 1000 - ns) <= 500
    if abs(us * 1000 - ns) == 500:
        assert us % 2 == 0


# =========================================================================== TimeMetrics


def test_measure_and_queries() -> None:
    m = TimeMetrics()
    assert m.get_measurements("a") == []
    assert m.get_average_duration("a") is None
    assert m.get_total_duration("a") == Duration(0)
    assert m.names() == []
    with m.measure("a") as token:
        assert isinstance(token, MeasurementToken) and token.name == "a"
        busy(500_000)
    with m.measure("b"):
        pass
    with pytest.raises(KeyError), m.measure("a"):
        raise KeyError("recorded anyway")
    got = m.get_measurements("a")
    assert len(got) == 2 and got[0] >= Duration(499)
    assert m.get_total_duration("a") == got[0] + got[1]
    assert m.names() == ["a", "b"]
    assert "in_flight=0" in repr(m)


def test_average_is_exact_half_even() -> None:
    m = TimeMetrics()
    m._durations["x"] = [1, 2]  # white-box: exact values
    assert m.get_average_duration("x") == Duration(2)  # 1.5 -> 2
    m._durations["x"] = [2, 3]
    assert m.get_average_duration("x") == Duration(2)  # 2.5 -> 2
    m._durations["x"] = [1, 1, 2]
    assert m.get_average_duration("x") == Duration(1)
    assert m.get_total_duration("x") == Duration(4)


def test_overlapping_measurements_of_one_name() -> None:
    m = TimeMetrics()
    outer = m.start_measurement("job")
    busy(300_000)
    inner = m.start_measurement("job")
    d_inner = m.end_measurement(inner)
    busy(300_000)
    d_outer = m.end_measurement(outer)
    assert d_outer > d_inner
    assert m.get_measurements("job") == [d_inner, d_outer]


def test_token_errors() -> None:
    m, other = TimeMetrics(), TimeMetrics()
    tok = m.start_measurement("a")
    m.end_measurement(tok)
    with pytest.raises(ValueError, match="already ended; start a new one"):
        m.end_measurement(tok)
    with pytest.raises(ValueError, match="started by another TimeMetrics"):
        other.end_measurement(m.start_measurement("a"))
    with pytest.raises(TypeError, match="needs the token returned by start_measurement"):
        m.end_measurement("a")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs a str measurement name"):
        m.start_measurement(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs a str measurement name"):
        m.get_measurements(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs a str measurement name"):
        m.clear(3)  # type: ignore[arg-type]
    assert len(m.get_measurements("a")) == 1


def test_clear() -> None:
    m = TimeMetrics()
    for name in ("a", "b", "c"):
        with m.measure(name):
            pass
    in_flight = m.start_measurement("a")
    m.clear("a")
    m.clear("missing")  # no-op
    assert m.names() == ["b", "c"]
    m.end_measurement(in_flight)  # still valid after clear
    assert len(m.get_measurements("a")) == 1
    m.clear()
    assert m.names() == [] and m.get_measurements("b") == []


def test_thread_safety() -> None:
    m = TimeMetrics()
    n_threads, n_each = 8, 300
    barrier = threading.Barrier(n_threads)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(10)
            for k in range(n_each):
                name = "shared" if k % 2 else f"own-{i}"
                tok = m.start_measurement(name)
                if k % 3 == 0:
                    with m.measure("nested"):
                        pass
                m.end_measurement(tok)
                m.get_average_duration("shared")
                m.names()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
        assert not t.is_alive()
    assert errors == []
    assert len(m.get_measurements("shared")) == n_threads * n_each // 2
    assert len(m.get_measurements("nested")) == n_threads * len(range(0, n_each, 3))
    for i in range(n_threads):
        assert len(m.get_measurements(f"own-{i}")) == n_each - n_each // 2
    assert all(d >= Duration(0) for d in m.get_measurements("shared"))
    assert "in_flight=0" in repr(m)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=30))
def test_total_and_average_agree(values: list[int]) -> None:
    m = TimeMetrics()
    m._durations["v"] = list(values)
    assert m.get_total_duration("v") == Duration(sum(values))
    avg = m.get_average_duration("v")
    assert avg is not None and abs(avg.micros * len(values) - sum(values)) * 2 <= len(values)
