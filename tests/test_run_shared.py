"""Work shared by the pytest-xdist workers of one run (tests.support.run_shared): produced once, by one
process, while the others wait for it and then read the same result."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from tests.support.run_shared import COMPLETE, once_in

PROCESSES = 4


def produce_after_every_caller_started(directory: Path, started: Any) -> None:
    """Records that it ran, then writes the result only once every caller has started (so the others
    are waiting on the lock while it produces, however fast or slow the machine is)."""
    with (directory.parent / "producers.log").open("a") as log:
        log.write("ran\n")
    for _ in range(PROCESSES):
        assert started.acquire(timeout=60), "not every caller started"
    (directory / "result.txt").write_text("made once", encoding="utf-8")


def caller(root: Path, index: int, started: Any, results: Any) -> None:
    """One worker: marks itself started, then asks for the shared result and reports what it read."""
    started.release()
    shared = once_in(root, "thing", lambda directory: produce_after_every_caller_started(directory, started))
    results.put((index, (shared / "result.txt").read_text(encoding="utf-8")))


def test_concurrent_callers_produce_once_and_all_read_the_result(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    started, results = context.Semaphore(0), context.Queue()
    processes = [context.Process(target=caller, args=(tmp_path, i, started, results)) for i in range(PROCESSES)]
    for process in processes:
        process.start()
    seen = dict(results.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    assert seen == {i: "made once" for i in range(PROCESSES)}
    assert (tmp_path / "producers.log").read_text() == "ran\n"
    assert (tmp_path / "shared-thing" / COMPLETE).is_file()


def test_a_failed_producer_leaves_no_result_and_the_next_caller_produces_it(tmp_path: Path) -> None:
    def fail(directory: Path) -> None:
        (directory / "half.txt").write_text("partial", encoding="utf-8")
        raise RuntimeError("producer failed")

    with pytest.raises(RuntimeError, match="producer failed"):
        once_in(tmp_path, "thing", fail)
    assert not (tmp_path / "shared-thing" / COMPLETE).exists()

    shared = once_in(tmp_path, "thing", lambda d: (d / "result.txt").write_text("second try", encoding="utf-8"))
    assert (shared / "result.txt").read_text(encoding="utf-8") == "second try"
    assert not (shared / "half.txt").exists(), "what the failed producer left was discarded"
