"""pytest plugin: run Pykka's own test suite against tickwork's PooledActor too.

Loaded into a pytest run *of Pykka's upstream tests* (see test_pykka_upstream.py)
with ``-p pykka_pooled_plugin``. Pykka's ``tests/conftest.py`` parametrises a
session fixture ``runtime`` over ``RUNTIMES`` (only ``"threading"``); when that
conftest is registered, this plugin adds two runtimes to it and redefines the
fixture over all of them, so every runtime-parametrised upstream test also runs as

* ``pooled``: a `PooledActor` subclass on one shared `Dispatcher` (tickwork's
  default: not registered in ``pykka.ActorRegistry``), and
* ``pooled-registered``: the same, started with ``register=True``.

Both use `PooledFuture` as the runtime's future class. The dispatcher is shut down
at the end of the session (its workers are daemon threads as well, so a test that
leaves a handler blocked cannot keep the run from exiting).

With ``TICKWORK_UPSTREAM_RESULTS=path`` set, the outcome of every test
(``{"nodeid": "passed" | "failed" | "skipped"}``; an error in setup or teardown
counts as failed) is written to ``path`` as JSON when the session ends.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from actors.pool import Dispatcher, PooledActor, PooledFuture

DISPATCHER = Dispatcher(workers=2, name="tickwork-dispatch-upstream", daemon=True)
RESULTS_ENV = "TICKWORK_UPSTREAM_RESULTS"
_outcomes: dict[str, str] = {}


class UpstreamPooledActor(PooledActor):
    """The ``pooled`` runtime's actor class: tickwork's defaults (unregistered)."""

    dispatcher = DISPATCHER


class UpstreamRegisteredPooledActor(PooledActor):
    """The ``pooled-registered`` runtime's actor class: ``start(register=True)``."""

    dispatcher = DISPATCHER

    @classmethod
    def start(cls, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("register", True)
        return super().start(*args, **kwargs)


def _add_runtimes(conftest: Any) -> None:
    runtime_type = conftest.Runtime
    for name, actor_class in (
        ("pooled", UpstreamPooledActor),
        ("pooled-registered", UpstreamRegisteredPooledActor),
    ):
        conftest.RUNTIMES[name] = pytest.param(
            runtime_type(
                name=name,
                actor_class=actor_class,
                event_class=threading.Event,
                future_class=PooledFuture,
                sleep_func=time.sleep,
            ),
            id=name,
        )

    @pytest.fixture(scope="session", params=list(conftest.RUNTIMES.values()))
    def runtime(request: pytest.FixtureRequest) -> Any:
        return request.param

    conftest.runtime = runtime


@pytest.hookimpl(tryfirst=True)
def pytest_plugin_registered(plugin: object) -> None:
    """Patch Pykka's tests/conftest.py before pytest reads its fixtures."""
    file = getattr(plugin, "__file__", None) or ""
    runtimes = getattr(plugin, "RUNTIMES", None)
    is_upstream_conftest = file.replace("\\", "/").endswith("tests/conftest.py")
    if is_upstream_conftest and isinstance(runtimes, dict) and "pooled" not in runtimes:
        _add_runtimes(plugin)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    previous = _outcomes.get(report.nodeid)
    if report.failed:
        _outcomes[report.nodeid] = "failed"
    elif previous is None or (previous == "passed" and report.skipped):
        _outcomes[report.nodeid] = "skipped" if report.skipped else "passed"


def pytest_sessionfinish() -> None:
    DISPATCHER.shutdown(timeout=5)
    path = os.environ.get(RESULTS_ENV)
    if path:
        Path(path).write_text(json.dumps(_outcomes, indent=1, sort_keys=True), encoding="utf-8")
