"""P.frame and FrameReader: length-prefixed streams."""

import tracemalloc

import pytest

from codec import DecodeError, FrameReader, Int32, Message, Protocol, protocol

P = Protocol()


@protocol(P)
class Note(Message):
    seq: Int32
    text: str = ""


def test_frame_is_length_prefixed_encoding() -> None:
    msg = Note(7, "hi")
    data = P.encode(msg)
    assert P.frame(msg) == len(data).to_bytes(4, "big") + data


def test_frame_validates_like_encode() -> None:
    with pytest.raises(ValueError, match=r"Note\.seq"):
        P.frame(Note(2**31))


def test_feed_byte_by_byte_and_all_at_once() -> None:
    sent = [Note(i, "x" * i) for i in range(20)]
    stream = b"".join(P.frame(m) for m in sent)
    reader = FrameReader(P)
    got = [m for b in stream for m in reader.feed(bytes([b]))]
    assert got == sent
    assert FrameReader(P).feed(stream) == sent
    assert FrameReader(P).feed(bytearray(stream)) == sent
    assert FrameReader(P).feed(memoryview(stream)) == sent


def test_partial_frames_are_buffered() -> None:
    frame = P.frame(Note(1, "abc"))
    reader = FrameReader(P)
    assert reader.feed(frame[:3]) == []
    assert reader.buffered == 3
    assert reader.feed(frame[3:-1]) == []
    assert reader.feed(frame[-1:] + frame[:5]) == [Note(1, "abc")]
    assert reader.buffered == 5


def test_huge_declared_length_refused_without_allocating() -> None:
    reader = FrameReader(P)
    tracemalloc.start()
    try:
        with pytest.raises(DecodeError, match="4294967295 bytes, more than max_frame_size=1048576"):
            reader.feed(b"\xff\xff\xff\xff" + b"\x00" * 10)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100_000
    assert reader.poisoned


def test_max_frame_size_is_inclusive_and_configurable() -> None:
    msg = Note(1, "x" * 100)
    frame = P.frame(msg)
    limit = len(frame) - 4
    assert FrameReader(P, max_frame_size=limit).feed(frame) == [msg]
    with pytest.raises(DecodeError, match="max_frame_size"):
        FrameReader(P, max_frame_size=limit - 1).feed(frame[:4])  # refused on the header alone
    with pytest.raises(ValueError):
        FrameReader(P, max_frame_size=-1)
    with pytest.raises(TypeError):
        FrameReader(P, max_frame_size=1.5)  # type: ignore[arg-type]


def test_bad_frame_poisons_reader_and_keeps_earlier_messages() -> None:
    good = [Note(1), Note(2)]
    bad_payload = b"\x93\xa4Note\xa1x\xa0"  # seq is a str
    stream = b"".join(P.frame(m) for m in good) + len(bad_payload).to_bytes(4, "big") + bad_payload
    stream += P.frame(Note(3))
    reader = FrameReader(P)
    with pytest.raises(DecodeError, match=r"bad frame at stream offset \d+: .*\$\[1\]") as info:
        reader.feed(stream)
    assert info.value.messages == good
    assert reader.poisoned and reader.buffered == 0
    with pytest.raises(DecodeError, match="poisoned"):
        reader.feed(P.frame(Note(4)))
    reader.reset()
    assert not reader.poisoned
    assert reader.feed(P.frame(Note(4))) == [Note(4)]


def test_empty_frame_is_an_error() -> None:
    with pytest.raises(DecodeError):
        FrameReader(P).feed(b"\x00\x00\x00\x00")


def test_messages_iterates_over_chunks() -> None:
    sent = [Note(i) for i in range(5)]
    stream = b"".join(P.frame(m) for m in sent)
    chunks = [stream[i : i + 7] for i in range(0, len(stream), 7)]
    assert list(FrameReader(P).messages(chunks)) == sent
    with pytest.raises(DecodeError, match="stream ended inside a frame"):
        list(FrameReader(P).messages(chunks[:-1]))


def test_non_bytes_chunk_is_type_error() -> None:
    with pytest.raises(TypeError):
        FrameReader(P).feed("text")  # type: ignore[arg-type]
