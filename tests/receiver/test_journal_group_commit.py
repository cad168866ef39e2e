"""The JSON-lines journal: group commit, replay, torn lines, and the receiver's bounded memory."""
from __future__ import annotations

import json
import os
import threading

import pytest
import requests

from rchelpers.receiver.journal import Journal, read_journal


def test_concurrent_appends_share_flushes_and_all_land(tmp_path, monkeypatch):
    flushes = []
    real_fdatasync = os.fdatasync

    def counting_fdatasync(fd):
        flushes.append(fd)
        real_fdatasync(fd)

    monkeypatch.setattr(os, "fdatasync", counting_fdatasync)
    journal = Journal(tmp_path / "j.jsonl")
    barrier = threading.Barrier(8)

    def writer(index: int) -> None:
        barrier.wait(5)
        for n in range(50):
            journal.append({"writer": index, "n": n})

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    journal.close()
    records = list(read_journal(tmp_path / "j.jsonl"))
    assert len(records) == 400
    for index in range(8):
        assert [r["n"] for r in records if r["writer"] == index] == list(range(50))
    assert 0 < len(flushes) <= 400
    print(f"400 appends from 8 threads took {len(flushes)} disk flushes")


def test_append_batch_is_one_flush(tmp_path, monkeypatch):
    flushes = []
    monkeypatch.setattr(os, "fdatasync", lambda fd: flushes.append(fd))
    with Journal(tmp_path / "j.jsonl") as journal:
        journal.append_batch([{"n": n} for n in range(10)])
        journal.append_batch([])
    assert len(flushes) == 1
    assert [r["n"] for r in read_journal(tmp_path / "j.jsonl")] == list(range(10))


def test_append_after_close_raises(tmp_path):
    journal = Journal(tmp_path / "j.jsonl")
    journal.close()
    with pytest.raises(OSError, match="closed"):
        journal.append({"a": 1})
    assert "closed=True" in repr(journal)


def test_torn_last_line_and_corrupt_lines_are_skipped(tmp_path, caplog):
    path = tmp_path / "j.jsonl"
    path.write_bytes(b'{"n": 1}\nnot json\n[1]\n{"n": 2}\n{"n": 3, "cut')
    assert [r["n"] for r in read_journal(path)] == [1, 2]
    assert "torn last line 5" in caplog.text and "corrupt line 2" in caplog.text


def test_unicode_and_newlines_in_values_stay_on_one_line(tmp_path):
    with Journal(tmp_path / "j.jsonl") as journal:
        journal.append({"text": "line1\nline2 – ünïcode ✓"})
    lines = (tmp_path / "j.jsonl").read_bytes().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["text"] == "line1\nline2 – ünïcode ✓"


def test_memory_is_bounded_but_the_journal_keeps_everything(make_receiver, presence_envelope):
    rx = make_receiver(max_events=5)
    with requests.Session() as session:
        for n in range(20):
            assert session.post(rx.url, json=presence_envelope(f"e{n}"), timeout=5).status_code == 200
    assert [e.uuid for e in rx.events] == [f"e{n}" for n in range(15, 20)]
    replayed = rx.replay_journal(rx.journal_path)
    assert [e.uuid for e in replayed] == [f"e{n}" for n in range(20)]
    assert replayed[0].event == presence_envelope()["event"]
    assert replayed[0].body["presenceStatus"] == "Busy"
    assert replayed[0].received_at <= replayed[-1].received_at
    assert rx.stats.received == 20


def test_a_write_that_fails_part_way_does_not_corrupt_the_next_record(tmp_path, monkeypatch, caplog):
    real_write = os.write
    calls = []

    def write_half_then_fail(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            real_write(fd, bytes(data[:len(data) // 2]))
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write_half_then_fail)
    with Journal(tmp_path / "j.jsonl") as journal:
        with pytest.raises(OSError, match="No space"):
            journal.append_batch([{"n": "lost, never acknowledged"}])
        journal.append_batch([{"n": 1}, {"n": 2}])
    assert [r["n"] for r in read_journal(tmp_path / "j.jsonl")] == [1, 2]
    assert "corrupt line 1" in caplog.text
