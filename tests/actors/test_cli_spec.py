"""`tickwork check` and spec loading: every kind of mistake is reported with its path, exit 2."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from actors.cli import main
from actors.cli.spec import SpecError, spec_from_text
from timekit import Timestamp

HEARTBEAT = """\
[messages.Heartbeat]
fields = { seq = "int(32)", ts = "int(64)", node = "str" }
"""


def schedule(**keys: str) -> str:
    """A [[schedules]] table; values are TOML text (so `every = "5"` vs `every = 5` is explicit)."""
    base = {
        "name": '"hb"',
        "message": '"Heartbeat"',
        "values": '{ seq = 0, ts = 0, node = "edge-1" }',
        "every": '"100ms"',
        "sink": '"udp://127.0.0.1:9999"',
    }
    for k, v in keys.items():
        if v is None:
            base.pop(k, None)
        else:
            base[k] = v
    return "\n[[schedules]]\n" + "".join(f"{k} = {v}\n" for k, v in base.items())


def check(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    spec = tmp_path / "spec.toml"
    spec.write_text(text)
    code = main(["check", str(spec)])
    out, err = capsys.readouterr()
    return code, out, err


def assert_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, path: str, message: str) -> None:
    code, out, err = check(tmp_path, text, capsys)
    assert code == 2, (out, err)
    assert out == ""
    wanted = f"- at `{path}`"
    lines = [ln for ln in err.splitlines() if ln.rstrip().endswith(wanted)]
    assert lines, f"no error at {path}:\n{err}"
    assert any(message in ln for ln in lines), f"{message!r} not in the error at {path}:\n{err}"
    assert "nothing was started" in err


# (spec text, path, message): one case per kind of mistake
CASES = {
    "type error (msgspec)": (HEARTBEAT + schedule(every="5"), "$.schedules[0].every", "Expected `str`, got `int`"),
    "unknown key": (HEARTBEAT + schedule(evry='"1s"'), "$.schedules[0]", "unknown field `evry`"),
    "missing key": (HEARTBEAT + schedule(sink=None), "$.schedules[0]", "missing required field `sink`"),
    "unknown top-level key": ("jobs = 1\n" + HEARTBEAT + schedule(), "$", "unknown field `jobs`"),
    "unknown key in a message": (
        HEARTBEAT + "encoding = 1\n" + schedule(), "$.messages.Heartbeat", "unknown field `encoding`",
    ),
    "unknown message type": (
        HEARTBEAT + schedule(message='"Hartbeat"'), "$.schedules[0].message",
        "unknown message type `Hartbeat` (declared: Heartbeat)",
    ),
    "unknown field in values": (
        HEARTBEAT + schedule(values='{ seq = 0, ts = 0, node = "a", nod = "b" }'), "$.schedules[0].values.nod",
        "unknown field `nod` for message type Heartbeat",
    ),
    "unknown field in increment": (
        HEARTBEAT + schedule(increment='["seq", "sq"]'), "$.schedules[0].increment[1]", "unknown field `sq`",
    ),
    "increment of a str field": (
        HEARTBEAT + schedule(increment='["node"]'), "$.schedules[0].increment[0]", "cannot increment field `node`",
    ),
    "unknown field in now": (
        HEARTBEAT + schedule(now='{ tss = "us" }'), "$.schedules[0].now.tss", "unknown field `tss`",
    ),
    "bad unit in now": (
        HEARTBEAT + schedule(now='{ ts = "ns" }'), "$.schedules[0].now.ts", 'Expected one of "us", "ms", "s"',
    ),
    "time does not fit": (
        HEARTBEAT + schedule(now='{ seq = "us" }'), "$.schedules[0].now.seq", "does not fit field `seq` (int(32))",
    ),
    "no trigger": (HEARTBEAT + schedule(every=None), "$.schedules[0]", "no trigger: give exactly one of every"),
    "two triggers": (
        HEARTBEAT + schedule(cron='"* * * * *"'), "$.schedules[0]", "2 triggers (every, cron): give exactly one",
    ),
    "bad duration": (HEARTBEAT + schedule(every='"5 parsecs"'), "$.schedules[0].every", "Invalid duration '5 parsecs'"),
    "zero duration": (HEARTBEAT + schedule(every='"0s"'), "$.schedules[0].every", "must be positive"),
    "interval firing after year 9999": (  # a valid Duration (~11,000 years) that would never fire
        HEARTBEAT + schedule(every='"4000000d"'), "$.schedules[0].every",
        "would never run: its first firing after",
    ),
    "unknown zone": (
        HEARTBEAT + schedule(every=None, daily='"02:30"', tz='"Europe/Pariss"'), "$.schedules[0].tz",
        "Unknown time zone 'Europe/Pariss'",
    ),
    "tz on an interval": (HEARTBEAT + schedule(tz='"UTC"'), "$.schedules[0].tz", "tz applies to daily and cron only"),
    "bad cron": (HEARTBEAT + schedule(every=None, cron='"61 * * * *"'), "$.schedules[0].cron", "61"),
    "bad daily": (HEARTBEAT + schedule(every=None, daily='"25:00"'), "$.schedules[0].daily", "out of range"),
    "NaN default for a float": (
        '[messages.Heartbeat]\nfields = { seq = "int(32)", ts = "int(64)", node = "str", load = { type = "float", '
        'default = nan } }\n' + schedule(), "$.messages.Heartbeat.fields.load.default", "got NaN (not a number)",
    ),
    "inf value for a float": (
        '[messages.Heartbeat]\nfields = { seq = "int(32)", ts = "int(64)", node = "str", load = "float" }\n'
        + schedule(values='{ seq = 0, ts = 0, node = "edge-1", load = -inf }'), "$.schedules[0].values.load",
        "got -inf (infinity)",
    ),
    "non-ASCII digits in daily": (
        HEARTBEAT + schedule(every=None, daily='"\u0660\u0662:\u0663\u0660"'), "$.schedules[0].daily",
        "expected a time of day",
    ),
    "non-ASCII digits in every": (HEARTBEAT + schedule(every='"\u0665s"'), "$.schedules[0].every", "Invalid duration"),
    "at without offset": (
        HEARTBEAT + schedule(every=None, at="2030-01-01T09:00:00"), "$.schedules[0].at", "has no UTC offset",
    ),
    "bad sink scheme": (
        HEARTBEAT + schedule(sink='"http://x:1"'), "$.schedules[0].sink",
        "expected udp://HOST:PORT, tcp://HOST:PORT, file:PATH or stdout",
    ),
    "sink without port": (HEARTBEAT + schedule(sink='"tcp://127.0.0.1"'), "$.schedules[0].sink", "no port"),
    "sink bad port": (HEARTBEAT + schedule(sink='"udp://127.0.0.1:70000"'), "$.schedules[0].sink", "1 to 65535"),
    "duplicate names": (HEARTBEAT + schedule() + schedule(), "$.schedules[1].name", "duplicate schedule name `hb`"),
    "value out of width": (
        HEARTBEAT + schedule(values='{ seq = 3000000000, ts = 0, node = "a" }'), "$.schedules[0].values.seq",
        "Expected `int` <= 2147483647 (field `seq` is int(32))",
    ),
    "value of the wrong type": (
        HEARTBEAT + schedule(values='{ seq = "one", ts = 0, node = "a" }'), "$.schedules[0].values.seq",
        "Expected `int`, got `str`",
    ),
    "missing value": (
        HEARTBEAT + schedule(values='{ seq = 0 }'), "$.schedules[0].values", "no value for field(s) `ts`, `node`",
    ),
    "bad field type name": (
        '[messages.M]\nfields = { a = "int(33)" }\n' + schedule(message='"M"', values="{ a = 1 }"),
        "$.messages.M.fields.a", "unknown field type name 'int(33)'",
    ),
    "bad default": (
        '[messages.M]\nfields = { a = { type = "uint(8)", default = -1 } }\n' + schedule(message='"M"', values="{}"),
        "$.messages.M.fields.a.default", "Expected `int` >= 0",
    ),
    "bad message name": (
        '[messages."not-a-name"]\nfields = { a = "int(8)" }\n' + schedule(message='"M"'),
        "$.messages.not-a-name", "must be a Python identifier",
    ),
    "no schedules": (HEARTBEAT, "$.schedules", "no schedules"),
    "TOML syntax": ("[[schedules]\nname = 1\n", "$", "not valid TOML"),
    "file sink directory missing": (
        HEARTBEAT + schedule(sink='"file:nope/hb.frames"'), "$.schedules[0].sink",
        "nope/hb.frames does not exist: create it first (mkdir -p ",
    ),
    "file sink directory is a file": (
        HEARTBEAT + schedule(sink='"file:spec.toml/hb.frames"'), "$.schedules[0].sink",
        "spec.toml/hb.frames: spec.toml is a file, not a directory (name a path in a directory)",
    ),
    "file sink deeper under a file": (  # the advice was 'mkdir -p .../spec.toml/a', which fails
        HEARTBEAT + schedule(sink='"file:spec.toml/a/hb.frames"'), "$.schedules[0].sink",
        "spec.toml/a/hb.frames: spec.toml is a file, not a directory (name a path in a directory)",
    ),
    "file sink is a directory": (
        HEARTBEAT + schedule(sink='"file:."'), "$.schedules[0].sink", "is a directory: name a file in it",
    ),
    "arrays nested 5,000 deep": ("x = " + "[" * 5000 + "]" * 5000 + "\n", "$", "nested too deeply"),
    "tables nested 5,000 deep": ("x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n", "$", "nested too deeply"),
    "a value nested 900 deep": (
        HEARTBEAT + schedule(values="{ seq = " + "[" * 900 + "]" * 900 + " }"), "$", "nested too deeply",
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_each_kind_of_mistake_is_reported_with_its_path(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, path, message = CASES[case]
    assert_error(tmp_path, capsys, text, path, message)


def test_all_mistakes_are_reported_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = HEARTBEAT + schedule(every='"5 parsecs"', sink='"udp://x"') + schedule(name='"b"', message='"Nope"')
    code, _out, err = check(tmp_path, text, capsys)
    assert code == 2
    assert "3 error(s)" in err
    for path in ("$.schedules[0].every", "$.schedules[0].sink", "$.schedules[1].message"):
        assert f"- at `{path}`" in err


def test_run_with_a_bad_spec_starts_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "jobs.toml"
    spec.write_text(HEARTBEAT + schedule(every="5"))
    assert main(["run", str(spec), "--duration", "0.2"]) == 2
    _out, err = capsys.readouterr()
    assert "Expected `str`, got `int` - at `$.schedules[0].every`" in err
    assert not (tmp_path / "jobs.state.db").exists()


def test_a_file_sink_that_cannot_be_written_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import actors.cli.spec as spec_module

    (tmp_path / "ro").mkdir()
    (tmp_path / "ro.frames").write_bytes(b"")
    (tmp_path / "ro").chmod(0o500)
    (tmp_path / "ro.frames").chmod(0o400)
    if os.geteuid() == 0:  # root may write anywhere: ask as if it could not
        real = os.access
        monkeypatch.setattr(spec_module.os, "access", lambda p, mode: False if "ro" in str(p) else real(p, mode))
    text = HEARTBEAT + schedule(sink='"file:ro/hb.frames"') + schedule(name='"b"', sink='"file:ro.frames"')
    code, out, err = check(tmp_path, text, capsys)
    assert code == 2 and out == "", err
    assert f"the directory of file sink {tmp_path}/ro/hb.frames is not writable: {tmp_path}/ro" in err
    assert "- at `$.schedules[0].sink`" in err
    assert f"file sink {tmp_path}/ro.frames is not writable (check its permissions) - at `$.schedules[1].sink`" in err
    spec = tmp_path / "spec.toml"
    assert main(["run", str(spec), "--duration", "0.2"]) == 2  # run refuses it the same way
    assert "nothing was started" in capsys.readouterr().err
    assert not (tmp_path / "spec.state.db").exists()
    (tmp_path / "ro").chmod(0o700)


def test_missing_spec_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "nope.toml")]) == 2
    assert "cannot read the spec" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["run"]) == 2
    assert main(["demo", "--seconds", "-1"]) == 2
    assert main(["--help"]) == 0
    assert "run" in capsys.readouterr().out


def test_check_prints_the_next_five_firings_in_the_zone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (
        HEARTBEAT
        + schedule(name='"nightly"', every=None, daily="02:30:00", tz='"Europe/Paris"', sink='"file:out/hb.frames"')
        + schedule(name='"office"', every=None, cron='"*/15 9-17 * * 1-5"', tz='"America/New_York"', sink='"stdout"')
        + schedule(name='"fast"', increment='["seq"]', now='{ ts = "us" }')
        + schedule(name='"once"', every=None, at='"2031-01-01T09:00:00+01:00"', sink='"tcp://localhost:7000"')
    )
    (tmp_path / "out").mkdir()  # a file sink's directory must exist
    code, out, err = check(tmp_path, text, capsys)
    assert code == 0, err
    assert "OK: 1 message type(s), 4 schedule(s)" in out
    blocks = {b.split(":", 1)[0]: b for b in out.split("\n\n")[1:]}
    nightly = re.findall(r"^    (\S+)  (\S+)  in ", blocks["nightly"], re.M)
    assert len(nightly) == 5
    for iso, abbr in nightly:  # 02:30 local time, whatever the season
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT02:30:00\+0[12]:00", iso), iso
        assert abbr in ("CET", "CEST")
    assert "daily 02:30:00 Europe/Paris -> file:out/hb.frames" in blocks["nightly"]
    office = re.findall(r"^    (\S+)  (E[SD]T)  in ", blocks["office"], re.M)
    assert len(office) == 5
    assert all(re.search(r"T(09|1[0-7]):(00|15|30|45):00-0[45]:00$", iso) for iso, _ in office), office
    fast = re.findall(r"^    (\S+)  UTC  in (\S+)$", blocks["fast"], re.M)
    assert [rel for _, rel in fast] == ["100.0ms", "200.0ms", "300.0ms", "400.0ms", "500.0ms"]
    assert "increment seq; now ts=us" in blocks["fast"]
    once = re.findall(r"^    (\S+)  ", blocks["once"], re.M)
    assert once == ["2031-01-01T09:00:00+01:00"]  # shown in its own offset


def test_python_dash_m_actors_is_the_command(tmp_path: Path) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text(HEARTBEAT + schedule())
    proc = subprocess.run(
        [sys.executable, "-m", "actors", "check", str(spec)], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    assert "hb: Heartbeat every 100ms -> udp://127.0.0.1:9999" in proc.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "actors", "check", str(tmp_path / "missing.toml")],
        capture_output=True, text=True, timeout=30,
    )
    assert bad.returncode == 2


def test_messages_are_built_from_the_declared_updates() -> None:
    spec = spec_from_text(
        textwrap.dedent(
            """
            [messages.M]
            fields = { seq = "uint(8)", n = "int(8)", ms = "int(64)", secs = "double", tag = { type = "str", default = "x" } }

            [[schedules]]
            name = "m"
            message = "M"
            values = { seq = 250, n = 127 }
            every = "1s"
            increment = ["seq", "n"]
            now = { ms = "ms", secs = "s" }
            sink = "stdout"
            """
        )
    )
    s = spec.schedules[0]
    now = Timestamp.parse("2026-01-05T00:00:01.500Z").micros
    first = s.build(1, now)
    assert (first.seq, first.n, first.ms, first.secs, first.tag) == (251, -128, now // 1000, now / 1e6, "x")
    assert s.build(6, now).seq == 0  # uint(8) wraps around like the C type
    spec.protocol.check(s.build(1000, now))


def test_spec_error_lists_problems() -> None:
    with pytest.raises(SpecError) as info:
        spec_from_text(HEARTBEAT + schedule(every="5"), source="x.toml")
    assert [(p.path, p.message) for p in info.value.problems] == [
        ("$.schedules[0].every", "Expected `str`, got `int`")
    ]
    assert str(info.value).startswith("x.toml: 1 error(s):")


def test_run_refuses_an_interval_that_never_fires_like_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text(HEARTBEAT + schedule(every='"4000000d"'))
    code = main(["run", str(spec), "--duration", "0.1"])
    _, err = capsys.readouterr()
    assert code == 2
    assert "9999-12-31" in err and "- at `$.schedules[0].every`" in err
    assert not (tmp_path / "spec.state.db").exists()  # nothing started
