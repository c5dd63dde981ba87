"""``tickwork run SPEC --ray ADDRESS --shards K`` on the local test cluster: the spec's
schedules spread over the shards, durable per shard, resumed by the next run."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from actors.cli import main, ray_run
from actors.cli.spec import spec_from_text
from actors.shards import PostgresPerShard, ShardedScheduler, shard_of
from codec import FrameReader

SPEC = """\
[messages.Heartbeat]
fields = { seq = "int(32)", node = "str" }
""" + "".join(
    f"""
[[schedules]]
name = "hb{i}"
message = "Heartbeat"
values = {{ seq = 0, node = "hb{i}" }}
every = "50ms"
increment = ["seq"]
sink = "file:hb{i}.frames"
"""
    for i in range(4)
)


def _seqs(path: Path) -> list[int]:
    reader = FrameReader(spec_from_text(SPEC).protocol)
    return [m.seq for m in reader.messages([path.read_bytes()])]


def test_run_a_spec_on_ray_and_resume(ray_cluster: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "beats.toml"
    spec.write_text(SPEC)
    assert {shard_of(f"hb{i}", 2) for i in range(4)} == {0, 1}  # both shards have work
    argv = ["run", str(spec), "--ray", ray_cluster, "--shards", "2", "--duration", "1", "--plain"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "4 schedule(s) over 2 shard(s)" in text and "0 restored" in text

    first = {i: _seqs(tmp_path / f"hb{i}.frames") for i in range(4)}
    for i, seqs in first.items():
        assert len(seqs) >= 5 and seqs == list(range(1, len(seqs) + 1)), (i, seqs[:10])
    assert sorted(p.name for p in (tmp_path / "beats.ray-state").iterdir() if p.suffix == ".db") == [
        "tickwork-beats-shard-0-of-2.db", "tickwork-beats-shard-1-of-2.db"]
    out, err = io.StringIO(), io.StringIO()
    code = ray_run.run_on_ray(str(spec), address=ray_cluster, shards=2, state_dir=None, duration=0.6,
                              out=out, err=err, plain=True)
    assert code == 0, err.getvalue()
    assert "4 restored" in out.getvalue()
    for i in range(4):  # the sequence numbers go on where the first run stopped
        seqs = _seqs(tmp_path / f"hb{i}.frames")
        assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > len(first[i])
    assert "sent" in out.getvalue()  # the final summary


def test_ray_run_refuses_a_state_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "beats.toml"
    spec.write_text(SPEC)
    assert main(["run", str(spec), "--ray", "auto", "--state", "x.db"]) == 2
    assert "--state-dir" in capsys.readouterr().err
    assert main(["run", str(spec), "--ray", "auto", "--shards", "0"]) == 2
    assert main(["run", str(spec), "--ray", "auto", "--store", "postgresql://h/db", "--state-dir", "d"]) == 2
    assert "pick one" in capsys.readouterr().err


def test_run_a_spec_on_ray_with_a_postgres_store_and_resume(
    ray_cluster: str, tmp_path: Path, pg_dsn: str, pg_group: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "beats.toml"
    spec.write_text(SPEC)
    argv = ["run", str(spec), "--ray", ray_cluster, "--shards", "2", "--duration", "1", "--plain",
            "--store", pg_dsn, "--group", pg_group]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert f"groups {pg_group}.shard.*: 0 restored" in text, text
    assert not (tmp_path / "beats.ray-state").exists()
    first = {i: _seqs(tmp_path / f"hb{i}.frames") for i in range(4)}
    assert all(len(seqs) >= 5 for seqs in first.values()), first
    assert main(argv[:6] + ["--duration", "0.6"] + argv[8:]) == 0
    assert "4 restored" in capsys.readouterr().out
    for i in range(4):  # resumed from PostgreSQL: the sequence numbers go on
        seqs = _seqs(tmp_path / f"hb{i}.frames")
        assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > len(first[i])
    # An unreachable server: the shards cannot start; said in one line, without Ray's traceback.
    assert main(argv[:9] + ["--store", "postgresql://nobody:pw@127.0.0.1:1/x"]) == 1
    err = capsys.readouterr().err
    assert "a shard failed to start: actors.store.errors.StoreError" in err and "reachable" in err, err
    assert "Traceback" not in err and "pw@" not in err


def test_where_ray_shards_keep_their_schedules(tmp_path: Path) -> None:
    spec = str(tmp_path / "jobs.toml")
    state = tmp_path / "jobs.ray-state"
    assert ray_run._shard_store(spec, None, None, "g", 10.0) == (f"sqlite:{state}", f"state {state}/")
    assert ray_run._shard_store(spec, "elsewhere", None, "g", 10.0) == ("sqlite:elsewhere", "state elsewhere/")
    pytest.importorskip("psycopg")
    where, text = ray_run._shard_store(spec, "ignored", "postgresql://u:pw@h/db", "grp", 3.0)
    assert isinstance(where, PostgresPerShard) and (where.name, where.lease_ttl) == ("grp", 3.0)
    assert text == f"store {where!r}" and "pw@" not in text


def test_detach_then_stop(ray_cluster: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "detached.toml"
    spec.write_text(SPEC)
    base = ["run", str(spec), "--ray", ray_cluster]
    assert main(base + ["--shards", "1", "--detach"]) == 0
    assert f"detached; stop with: tickwork run {spec} --ray {ray_cluster} --stop" in capsys.readouterr().out
    with ShardedScheduler.connect(name="tickwork-detached") as ss:  # still running without this process
        assert ss.shards == 1 and len(ss.rows()) == 4
    assert main(base + ["--stop"]) == 0
    assert "stopped the 1 shard(s) of tickwork-detached" in capsys.readouterr().out
    assert main(base + ["--stop"]) == 1
    assert "no shards named 'tickwork-detached'" in capsys.readouterr().err
