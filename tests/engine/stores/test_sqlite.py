"""What only the SQLite store does: one file shared by several processes."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from engine.stores import SqliteCheckpointStore

ROOT = Path(__file__).resolve().parents[3]

WRITER = """
import asyncio, sys
from engine.stores import SqliteCheckpointStore
from tests.engine.stores.sample import SampleRun

async def main(path, run_id, count):
    store = SqliteCheckpointStore(path)
    run = SampleRun(run_id)
    print("ready", flush=True)
    sys.stdin.readline()  # start together, so the writes interleave
    try:
        for _ in range(count):
            await store.save(run.next())
    finally:
        store.close()
    print(len(run.saved))

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


async def test_two_processes_saving_to_one_file_leave_every_checkpoint_intact(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared.sqlite3"
    writers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WRITER,
            str(path),
            run_id,
            "40",
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for run_id in ("left", "right")
    ]
    for writer in writers:
        assert writer.stdout is not None
        if await writer.stdout.readline() != b"ready\n":
            pytest.fail(f"a writer did not start: {(await writer.communicate())[1].decode()}")
    for writer in writers:
        assert writer.stdin is not None
        writer.stdin.write(b"go\n")
    for writer in writers:
        out, err = await writer.communicate()
        assert writer.returncode == 0, err.decode()
        assert out.decode().strip() == "40"
    store = SqliteCheckpointStore(path)
    try:
        assert sorted(await store.list_runs()) == ["left", "right"]
        for run_id in ("left", "right"):
            infos = await store.list_checkpoints(run_id)
            assert [info.superstep for info in infos] == list(range(40))
            for info in infos:
                loaded = await store.load(info.checkpoint_id)
                assert set(loaded.blobs) == loaded.blob_keys
                assert loaded.parent_id == (
                    infos[info.superstep - 1].checkpoint_id if info.superstep else None
                )
    finally:
        store.close()
