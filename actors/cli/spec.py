"""The spec file: TOML decoded into typed msgspec structs, then checked and compiled.

Loading is two stages. `decode` turns the TOML document into `SpecFile` (msgspec
structs; msgspec reports type errors with the path of the key, e.g.
``Expected `str`, got `int` - at `$.schedules[0].every```). `compile_spec` then
checks what types cannot say (unknown message type or field, one trigger exactly,
duration / time / zone / cron / sink text, duplicate names, values within their
field's width) and builds the runtime objects: a `codec.Protocol` holding every
message type, and one `ScheduleSpec` per schedule with its `ScheduleAt` trigger.
Every problem is collected with its path, and `SpecError` carries them all.
"""

from __future__ import annotations

import datetime as _dt
import keyword
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

import codec
from actors.cli.display import safe
from actors.cli.sinks import SinkSpec, parse_sink
from codec.fields import type_for_name
from codec.validation import explain_float_bound_in
from timekit import Duration, ScheduleAt, Timestamp
from timekit.zones import get_zone
from timekit.zones import zone_name as zone_name_of

__all__ = [
    "FieldInfo",
    "MessageSpec",
    "Problem",
    "ScheduleSpec",
    "Spec",
    "SpecError",
    "SpecFile",
    "compile_spec",
    "load_spec",
    "spec_from_text",
]

TIME_UNITS: dict[str, int] = {"us": 1, "ms": 1_000, "s": 1_000_000}


# --------------------------------------------------------------------------- file structs


class FieldDecl(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``{ type = "int(32)", default = 0 }``: a field with a default."""

    type: str
    default: Any = UNSET


class MessageDecl(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[messages.Name]``: ``fields = { seq = "int(32)", ... }`` (packet-library style)."""

    fields: dict[str, Any] = {}  # each checked on its own, so errors name the field


class ScheduleDecl(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One ``[[schedules]]`` entry."""

    name: str
    message: str
    sink: str
    values: dict[str, Any] = {}
    every: str | UnsetType = UNSET
    at: str | UnsetType = UNSET
    daily: str | UnsetType = UNSET
    cron: str | UnsetType = UNSET
    tz: str | UnsetType = UNSET
    increment: list[str] = []
    now: dict[str, Any] = {}  # field -> "us" | "ms" | "s", checked per key


class SpecFile(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The whole document."""

    messages: dict[str, Any] = {}
    schedules: list[Any] = []


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class Problem:
    """One mistake in a spec: where (``$.schedules[0].every``) and what."""

    path: str
    message: str

    def __str__(self) -> str:  # safe to print: the spec's text may hold control characters
        return f"{safe(self.message)} - at `{safe(self.path)}`"


class SpecError(ValueError):
    """A spec that cannot run; ``problems`` lists every mistake found, each with its path."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = [f"{safe(source)}: {len(self.problems)} error(s):"] + [f"  {p}" for p in self.problems]
        super().__init__("\n".join(lines))


def key_path(parent: str, key: str) -> str:
    """``$.messages`` + ``Heartbeat`` -> ``$.messages.Heartbeat`` (quoted when not a plain name)."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", key):
        return f"{parent}.{key}"
    return f"{parent}[{msgspec.json.encode(key).decode()}]"


def _convert(value: Any, tp: Any, path: str, problems: list[Problem]) -> Any:
    """``msgspec.convert(value, tp)``; on failure record the error at ``path`` + msgspec's sub-path."""
    try:
        return msgspec.convert(value, tp)
    except msgspec.ValidationError as exc:
        text = explain_float_bound_in(value, str(exc)) or str(exc)  # NaN/inf named as such
        where = path
        m = re.search(r" - at `\$(.*)`$", text)
        if m is not None:
            text = text[: m.start()]
            where = path + m.group(1)
        problems.append(Problem(where, text))
        return UNSET


# --------------------------------------------------------------------------- compiled spec


@dataclass(frozen=True)
class FieldInfo:
    """A message field as declared: its type name, type, kind and integer range."""

    name: str
    type_name: str
    tp: Any
    kind: str  # "int", "float", "bool", "str", "bytes"
    lo: int | float | None = None
    hi: int | float | None = None
    has_default: bool = False


@dataclass(frozen=True)
class MessageSpec:
    name: str
    cls: type[codec.Message]
    fields: dict[str, FieldInfo]


@dataclass(frozen=True)
class ScheduleSpec:
    """One schedule, checked: everything the runtime needs to send its messages."""

    index: int
    name: str
    message: MessageSpec
    values: dict[str, Any]
    trigger: ScheduleAt
    trigger_text: str
    zone: str | None  # the zone its firing times are shown in (None: UTC; `at`: its offset)
    increment: tuple[str, ...]
    now: dict[str, str]
    sink: SinkSpec

    def build(self, count: int, now_us: int) -> codec.Message:
        """The message of send number ``count`` (1 = first): increments applied
        ``count`` times to the initial values, ``now`` fields set from ``now_us``."""
        vals = dict(self.values)
        for name in self.increment:
            f = self.message.fields[name]
            vals[name] = _wrap(vals[name] + count, f)
        for name, unit in self.now.items():
            f = self.message.fields[name]
            if f.kind == "float":
                vals[name] = now_us / TIME_UNITS[unit]
            else:
                vals[name] = now_us // TIME_UNITS[unit]
        return self.message.cls(**vals)


def _wrap(value: int, f: FieldInfo) -> int:
    """An incremented counter wraps around within its field's width (like the C type)."""
    lo, hi = f.lo, f.hi
    assert isinstance(lo, int) and isinstance(hi, int)
    if lo <= value <= hi:
        return value
    return lo + (value - lo) % (hi - lo + 1)


@dataclass
class Spec:
    """A checked spec: the protocol with its message types, and the schedules in order."""

    source: str
    base_dir: Path
    protocol: codec.Protocol
    messages: dict[str, MessageSpec]
    schedules: list[ScheduleSpec] = field(default_factory=list)

    def schedule(self, name: str) -> ScheduleSpec | None:
        for s in self.schedules:
            if s.name == name:
                return s
        return None


# --------------------------------------------------------------------------- loading


def load_spec(path: str | Path) -> Spec:
    """Read, decode and check the spec at ``path``; `SpecError` with every problem found.

    Relative ``file:`` sink paths are relative to the spec's directory.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(str(p), [Problem("$", f"cannot read the spec: {exc}")]) from None
    return spec_from_text(text, source=str(p), base_dir=p.resolve().parent)


def spec_from_text(text: str, *, source: str = "<spec>", base_dir: Path | None = None) -> Spec:
    """Decode and check a spec given as TOML text."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(source, [Problem("$", f"not valid TOML: {exc}")]) from None
    except RecursionError:  # the TOML reader is recursive: thousands of nested [ or {
        raise SpecError(source, [Problem("$", _TOO_DEEP)]) from None
    problems: list[Problem] = []
    try:
        doc = _convert(raw, SpecFile, "$", problems)
        if problems:
            raise SpecError(source, problems)
        spec = compile_spec(doc, source=source, base_dir=base_dir or Path.cwd(), problems=problems)
    except RecursionError:  # a value nested deeper than msgspec or Python converts
        raise SpecError(source, [*problems, Problem("$", _TOO_DEEP)]) from None
    if problems:
        raise SpecError(source, problems)
    return spec


_TOO_DEEP = "nested too deeply (hundreds of arrays or tables inside each other): a spec needs only a few levels"


def compile_spec(doc: SpecFile, *, source: str, base_dir: Path, problems: list[Problem]) -> Spec:
    """Check ``doc`` and build its runtime objects; mistakes are appended to ``problems``."""
    proto = codec.Protocol()
    messages: dict[str, MessageSpec] = {}
    for mname, mraw in doc.messages.items():
        m = _compile_message(mname, mraw, key_path("$.messages", mname), proto, problems)
        if m is not None:
            messages[mname] = m
    spec = Spec(source=source, base_dir=base_dir, protocol=proto, messages=messages)
    if not doc.schedules:
        problems.append(Problem("$.schedules", "no schedules: add at least one [[schedules]] entry"))
    seen: dict[str, str] = {}
    for i, sraw in enumerate(doc.schedules):
        path = f"$.schedules[{i}]"
        name = sraw.get("name") if isinstance(sraw, dict) else None
        if isinstance(name, str):  # names identify stored schedules: each must be unique
            if name in seen:
                problems.append(
                    Problem(f"{path}.name", f"duplicate schedule name `{name}` (first used at `{seen[name]}`)")
                )
            else:
                seen[name] = path
        s = _compile_schedule(i, sraw, path, doc.messages, messages, proto, base_dir, problems)
        if s is not None:
            spec.schedules.append(s)
    return spec


def _field_info(fname: str, type_name: str, has_default: bool) -> FieldInfo:
    tp = type_for_name(type_name)
    base = getattr(tp, "__origin__", tp)
    lo = hi = None
    for meta in getattr(tp, "__metadata__", ()):
        lo = getattr(meta, "ge", None)
        hi = getattr(meta, "le", None)
    if base is int:
        kind = "int"
        if hi is None:  # uint(64): msgspec cannot express the bound
            hi = 2**64 - 1
        if lo is None:
            lo = -(2**63)
    elif base is float:
        kind = "float"
    else:
        kind = base.__name__
    return FieldInfo(fname, "".join(type_name.split()), tp, kind, lo, hi, has_default)


def _compile_message(
    mname: str, mraw: Any, path: str, proto: codec.Protocol, problems: list[Problem]
) -> MessageSpec | None:
    before = len(problems)
    if not mname.isidentifier() or keyword.iskeyword(mname):
        problems.append(Problem(path, f"message type name `{mname}` must be a Python identifier (e.g. Heartbeat)"))
    decl = _convert(mraw, MessageDecl, path, problems)
    if decl is UNSET:
        return None
    fields_decl: dict[str, Any] = {}
    infos: dict[str, FieldInfo] = {}
    for fname, fraw in decl.fields.items():
        fpath = key_path(f"{path}.fields", fname)
        if not fname.isidentifier() or keyword.iskeyword(fname) or fname.startswith("__"):
            problems.append(Problem(fpath, f"field name `{fname}` must be a Python identifier, not a keyword"))
            continue
        if isinstance(fraw, str):
            type_name, default = fraw, UNSET
        else:
            fd = _convert(fraw, FieldDecl, fpath, problems)
            if fd is UNSET:
                continue
            type_name, default = fd.type, fd.default
        try:
            info = _field_info(fname, type_name, default is not UNSET)
        except ValueError as exc:
            problems.append(Problem(fpath if isinstance(fraw, str) else f"{fpath}.type", str(exc)))
            continue
        if default is not UNSET:
            default = _convert(default, info.tp, f"{fpath}.default", problems)
            if default is UNSET:
                continue
            fields_decl[fname] = {"type": info.type_name, "default": default}
        else:
            fields_decl[fname] = info.type_name
        infos[fname] = info
    if len(problems) > before:
        return None
    try:
        cls = codec.make_message_type(mname, fields_decl, proto)
    except (ValueError, TypeError) as exc:
        text = str(exc)
        where = path
        m = re.match(rf"{re.escape(mname)}\.(\w+): ", text)
        if m is not None and m.group(1) in infos:
            where = key_path(f"{path}.fields", m.group(1))
        problems.append(Problem(where, text))
        return None
    return MessageSpec(mname, cls, infos)


_DAILY = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")  # ASCII digits (\d takes any script's)


def _preprocess_schedule(sraw: Any) -> Any:
    """TOML's own date-time and time values for ``at`` / ``daily`` become their ISO text."""
    if not isinstance(sraw, dict):
        return sraw
    out = dict(sraw)
    at = out.get("at")
    if isinstance(at, _dt.datetime):
        out["at"] = at.isoformat()  # a naive one is refused below with the fix to make
    daily = out.get("daily")
    if isinstance(daily, _dt.time) and daily.tzinfo is None:
        out["daily"] = daily.isoformat()
    return out


def _compile_schedule(
    index: int,
    sraw: Any,
    path: str,
    declared: dict[str, Any],
    messages: dict[str, MessageSpec],
    proto: codec.Protocol,
    base_dir: Path,
    problems: list[Problem],
) -> ScheduleSpec | None:
    before = len(problems)
    decl: ScheduleDecl | UnsetType = _convert(_preprocess_schedule(sraw), ScheduleDecl, path, problems)
    if decl is UNSET:
        return None
    if not decl.name.strip():
        problems.append(Problem(f"{path}.name", "a schedule name must not be empty"))
    msg = _schedule_message(decl, path, declared, messages, problems)
    trigger, text, zone = _trigger(decl, path, problems)  # exactly one trigger
    sink = _schedule_sink(decl, path, base_dir, problems)
    if msg is None:
        return None
    values = _schedule_values(decl, msg, path, problems)
    increment = _schedule_increment(decl, msg, path, problems)
    now_us = Timestamp.now().micros
    now = _schedule_now(decl, msg, path, increment, now_us, problems)
    if len(problems) > before or not _fill_defaults(msg, values, now, path, problems):
        return None
    assert trigger is not None and sink is not None
    s = ScheduleSpec(
        index=index,
        name=decl.name,
        message=msg,
        values=values,
        trigger=trigger,
        trigger_text=text,
        zone=zone,
        increment=tuple(increment),
        now=now,
        sink=sink,
    )
    try:  # the whole message, as it will be sent first, must encode
        proto.check(s.build(1, now_us))
    except (ValueError, TypeError) as exc:
        problems.append(Problem(f"{path}.values", str(exc)))
        return None
    return s


def _schedule_message(
    decl: ScheduleDecl,
    path: str,
    declared: dict[str, Any],
    messages: dict[str, MessageSpec],
    problems: list[Problem],
) -> MessageSpec | None:
    """The schedule's compiled message type (None, and a problem unless it was declared with errors)."""
    msg = messages.get(decl.message)
    if msg is None and decl.message not in declared:  # (a declared one with errors is reported there)
        known = ", ".join(declared) or "none declared"
        problems.append(
            Problem(f"{path}.message", f"unknown message type `{decl.message}` (declared: {known})")
        )
    return msg


def _schedule_sink(decl: ScheduleDecl, path: str, base_dir: Path, problems: list[Problem]) -> SinkSpec | None:
    """The parsed sink (None if it cannot be parsed); a file sink that cannot be written is a problem."""
    sink: SinkSpec | None
    try:
        sink = parse_sink(decl.sink, base_dir)
    except ValueError as exc:
        problems.append(Problem(f"{path}.sink", str(exc)))
        sink = None
    if sink is not None and sink.path is not None:
        why = file_sink_problem(sink.path)
        if why is not None:
            problems.append(Problem(f"{path}.sink", why))
    return sink


def _schedule_values(decl: ScheduleDecl, msg: MessageSpec, path: str, problems: list[Problem]) -> dict[str, Any]:
    """``values``, each converted to its field's type (the ones that fail are left out, with a problem)."""
    values: dict[str, Any] = {}
    for fname, v in decl.values.items():
        vpath = key_path(f"{path}.values", fname)
        f = msg.fields.get(fname)
        if f is None:
            problems.append(Problem(vpath, _unknown_field(fname, msg)))
            continue
        conv = _convert(v, f.tp, vpath, problems)
        if conv is not UNSET:
            values[fname] = conv
        elif problems and problems[-1].path == vpath:
            problems[-1] = Problem(vpath, f"{problems[-1].message} (field `{fname}` is {f.type_name})")
    return values


def _schedule_increment(decl: ScheduleDecl, msg: MessageSpec, path: str, problems: list[Problem]) -> list[str]:
    """``increment``: integer fields of the message, each once."""
    increment: list[str] = []
    for j, fname in enumerate(decl.increment):
        ipath = f"{path}.increment[{j}]"
        f = msg.fields.get(fname)
        if f is None:
            problems.append(Problem(ipath, _unknown_field(fname, msg)))
        elif f.kind != "int":
            problems.append(Problem(ipath, f"cannot increment field `{fname}`: it is {f.type_name}, not an integer"))
        elif fname in increment:
            problems.append(Problem(ipath, f"field `{fname}` is listed twice"))
        else:
            increment.append(fname)
    return increment


def _schedule_now(
    decl: ScheduleDecl,
    msg: MessageSpec,
    path: str,
    increment: list[str],
    now_us: int,
    problems: list[Problem],
) -> dict[str, str]:
    """``now``: field -> time unit, for number fields not in ``increment`` that hold the time in that unit."""
    now: dict[str, str] = {}
    for fname, unit in decl.now.items():
        npath = key_path(f"{path}.now", fname)
        f = msg.fields.get(fname)
        if f is None:
            problems.append(Problem(npath, _unknown_field(fname, msg)))
            continue
        if not isinstance(unit, str) or unit not in TIME_UNITS:
            problems.append(Problem(npath, f"Expected one of \"us\", \"ms\", \"s\", got {unit!r}"))
            continue
        if fname in increment:
            problems.append(Problem(npath, f"field `{fname}` is also in increment: give it one update"))
            continue
        if f.kind == "int":
            value = now_us // TIME_UNITS[unit]
            assert f.lo is not None and f.hi is not None
            if not f.lo <= value <= f.hi:
                problems.append(
                    Problem(npath, f"the current time in {unit} ({value}) does not fit field `{fname}` "
                            f"({f.type_name}): use int(64)")
                )
                continue
        elif f.kind != "float":
            problems.append(
                Problem(npath, f"cannot put the time in field `{fname}`: it is {f.type_name}, not a number")
            )
            continue
        now[fname] = unit
    return now


def _fill_defaults(
    msg: MessageSpec, values: dict[str, Any], now: dict[str, str], path: str, problems: list[Problem]
) -> bool:
    """Add the defaults of the fields given no value to ``values`` (increments start from them);
    False, with a problem, if a field has neither a value nor a default."""
    missing = [
        n for n, f in msg.fields.items() if n not in values and n not in now and not f.has_default
    ]
    if missing:
        problems.append(
            Problem(f"{path}.values", f"no value for field(s) {', '.join(f'`{n}`' for n in missing)} "
                    f"of {msg.name} (they have no default): give them in values")
        )
        return False
    defaults = msg.cls()
    for n in msg.fields:  # defaults are values too: increments start from them
        if n not in values and n not in now:
            values[n] = getattr(defaults, n)
    return True


def file_sink_problem(p: Path) -> str | None:
    """Why frames could not be appended to ``p`` (its directory missing or not
    writable, or ``p`` not a writable file), or None if they can."""
    d = p.parent
    if p.is_dir():
        return f"file sink {p} is a directory: name a file in it"
    if p.exists():
        if not os.access(p, os.W_OK):
            return f"file sink {p} is not writable (check its permissions)"
        return None
    if not d.is_dir():
        above = next((a for a in (d, *d.parents) if a.exists()), None)
        if above is not None and not above.is_dir():  # mkdir -p could not help
            return f"file sink {p}: {above.name} is a file, not a directory (name a path in a directory)"
        return f"the directory of file sink {p} does not exist: create it first (mkdir -p {d})"
    if not os.access(d, os.W_OK | os.X_OK):
        return f"the directory of file sink {p} is not writable: {d} (check its permissions)"
    return None


def _unknown_field(fname: str, msg: MessageSpec) -> str:
    return f"unknown field `{fname}` for message type {msg.name} (fields: {', '.join(msg.fields) or 'none'})"


def _trigger(decl: ScheduleDecl, path: str, problems: list[Problem]) -> tuple[ScheduleAt | None, str, str | None]:
    given = [k for k in ("every", "at", "daily", "cron") if getattr(decl, k) is not UNSET]
    if len(given) != 1:
        what = "no trigger" if not given else f"{len(given)} triggers ({', '.join(given)})"
        problems.append(Problem(path, f"{what}: give exactly one of every, at, daily, cron"))
        return None, "", None
    kind = given[0]
    value: str = getattr(decl, kind)
    vpath = f"{path}.{kind}"
    zone_name: str | None = None
    if decl.tz is not UNSET:
        if kind in ("every", "at"):
            why = "an `at` time carries its own UTC offset" if kind == "at" else "an interval has no wall clock"
            problems.append(Problem(f"{path}.tz", f"tz applies to daily and cron only ({why})"))
            return None, "", None
        try:
            get_zone(decl.tz)
        except ValueError as exc:
            problems.append(Problem(f"{path}.tz", str(exc)))
            return None, "", None
        zone_name = decl.tz
    try:
        trigger, text, zone = _make_trigger(kind, value, zone_name)
        # The scheduler's own check (it would refuse this schedule at `run` anyway):
        # a repeating trigger whose first firing falls beyond year 9999 never runs.
        trigger.first_fire_us(Timestamp.now().micros)
        return trigger, text, zone
    except ValueError as exc:
        problems.append(Problem(vpath, str(exc)))
        return None, "", None


def _make_trigger(kind: str, value: str, zone_name: str | None) -> tuple[ScheduleAt, str, str | None]:
    """The trigger of ``kind = value`` (ValueError saying what is wrong with the text)."""
    if kind == "every":
        d = Duration.coerce(value, "the interval", minimum=1)
        return ScheduleAt.at_interval(d), f"every {value.strip()}", None
    if kind == "at":
        t = Timestamp.parse(value)
        return ScheduleAt.at_time(t), f"at {t.isoformat()}", zone_name_of(t.tz) if t.tz is not None else "UTC"
    if kind == "daily":
        m = _DAILY.fullmatch(value.strip())
        if m is None:
            raise ValueError(f"expected a time of day as \"HH:MM\" or \"HH:MM:SS\", got {value!r}")
        h, mi, se = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        if h > 23 or mi > 59 or se > 59:
            raise ValueError(f"time of day out of range: {value!r} (hours 00-23, minutes and seconds 00-59)")
        z = zone_name or "UTC"
        return ScheduleAt.daily(h, mi, se, tz=z), f"daily {h:02d}:{mi:02d}:{se:02d} {z}", z
    z = zone_name or "UTC"
    c = ScheduleAt.cron(value, tz=z)
    return c, f"cron {c.expression} {z}", z
