"""Codec throughput: tickwork's Protocol beside struct, json and pickle.

Encodes and decodes one small heartbeat-like message (an Int64 timestamp, an
Int32 sequence, a short str). Every codec starts from / ends with the same
Message instance. The struct row is the fixed binary layout ``>qi`` plus a
2-byte length-prefixed UTF-8 string; its decode builds the same Message.
tickwork's encode includes its validation (ranges, types, unset fields).

Run: ``python benchmarks/codec_bench.py`` (from a checkout or with tickwork installed).
"""

from __future__ import annotations

import json
import pickle
import struct
import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[1]
if (_ROOT / "codec" / "__init__.py").exists() and str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import msgspec

from codec import Encoding, Int32, Int64, Message, Protocol, protocol

P = Protocol()


@protocol(P)
class Heartbeat(Message):
    timestamp: Int64
    sequence: Int32
    name: str


@protocol(P)
class DeclaredHeartbeat(Message):
    encoding = Encoding.BIG_ENDIAN
    fields = {
        "timestamp": {"type": "int(64)"},
        "sequence": {"type": "int(32)"},
        "name": {"type": "str"},
    }


_LAYOUT = struct.Struct(">qiH")
_pack = _LAYOUT.pack
_unpack_from = _LAYOUT.unpack_from
_SIZE = _LAYOUT.size


def struct_encode(m: Heartbeat) -> bytes:
    name = m.name.encode()
    return _pack(m.timestamp, m.sequence, len(name)) + name


def struct_decode(data: bytes) -> Heartbeat:
    ts, seq, n = _unpack_from(data)
    return Heartbeat(ts, seq, data[_SIZE : _SIZE + n].decode())


def json_encode(m: Heartbeat) -> bytes:
    return json.dumps({"timestamp": m.timestamp, "sequence": m.sequence, "name": m.name}).encode()


def json_decode(data: bytes) -> Heartbeat:
    return Heartbeat(**json.loads(data))


def pickle_encode(m: Heartbeat) -> bytes:
    return pickle.dumps(m, protocol=pickle.HIGHEST_PROTOCOL)


_raw_encode = msgspec.msgpack.Encoder().encode
_raw_decode = msgspec.msgpack.Decoder(Heartbeat).decode


def _best_per_call(jobs: list[tuple[Callable[[Any], Any], Any]], rounds: int = 15) -> list[float]:
    """Best seconds per call of each ``fn(arg)``, timing the jobs round-robin.

    Interleaving the jobs and keeping each one's best round makes the ratios
    robust against other load on the machine.
    """
    timers = [timeit.Timer("fn(arg)", globals={"fn": fn, "arg": arg}) for fn, arg in jobs]
    numbers = []
    for timer in timers:
        number, elapsed = timer.autorange()  # at least 0.2 s
        numbers.append(max(1, int(number * 0.05 / elapsed)))  # batches of about 50 ms
    best = [float("inf")] * len(jobs)
    for _ in range(rounds):
        for i, (timer, number) in enumerate(zip(timers, numbers, strict=True)):
            best[i] = min(best[i], timer.timeit(number) / number)
    return best


def main() -> None:
    hb = Heartbeat(timestamp=1_700_000_000_123_456, sequence=424_242, name="node-a1")
    declared = DeclaredHeartbeat(timestamp=hb.timestamp, sequence=hb.sequence, name=hb.name)

    rows: list[tuple[str, Callable[[Any], bytes], Callable[[bytes], Any], Any]] = [
        ("struct >qi + str", struct_encode, struct_decode, hb),
        ("tickwork Protocol", P.encode, P.decode, hb),
        ("tickwork, declared style", P.encode, P.decode, declared),
        ("msgspec unchecked (ref.)", _raw_encode, _raw_decode, hb),
        ("json", json_encode, json_decode, hb),
        ("pickle", pickle_encode, pickle.loads, hb),
    ]
    jobs: list[tuple[Callable[[Any], Any], Any]] = []
    sizes = []
    for label, enc, dec, msg in rows:
        data = enc(msg)
        assert dec(data) == msg, label
        jobs += [(enc, msg), (dec, data)]
        sizes.append(len(data))
    best = _best_per_call(jobs)
    results = [
        (label, best[2 * i], best[2 * i + 1], sizes[i]) for i, (label, *_) in enumerate(rows)
    ]

    base_enc, base_dec = results[0][1], results[0][2]
    print(f"Python {sys.version.split()[0]}, msgspec {msgspec.__version__}")
    print("message: Heartbeat(timestamp: Int64, sequence: Int32, name: str = 'node-a1')")
    print("ratio = time per op / struct's time per op (lower is faster)\n")
    header = (
        f"{'codec':<26} {'encode/s':>11} {'ns':>6} {'ratio':>6}   "
        f"{'decode/s':>11} {'ns':>6} {'ratio':>6}   {'bytes':>5}"
    )
    print(header)
    print("-" * len(header))
    for label, enc_t, dec_t, size in results:
        print(
            f"{label:<26} {1 / enc_t:>11,.0f} {enc_t * 1e9:>6.0f} {enc_t / base_enc:>5.2f}x   "
            f"{1 / dec_t:>11,.0f} {dec_t * 1e9:>6.0f} {dec_t / base_dec:>5.2f}x   {size:>5}"
        )
    tick_enc = results[1][1]
    json_enc, pickle_enc = results[4][1], results[5][1]
    ok = tick_enc <= 2 * base_enc and tick_enc < json_enc and tick_enc < pickle_enc
    print(
        f"\ntarget (validated encode within 2x of struct.pack, ahead of json and pickle): "
        f"{'met' if ok else 'NOT met'} ({tick_enc / base_enc:.2f}x struct, "
        f"{json_enc / tick_enc:.1f}x faster than json, {pickle_enc / tick_enc:.1f}x faster than pickle)"
    )


if __name__ == "__main__":
    main()
