"""Prediction settings: how many threads tagging takes when the machine is shared."""

from tagger import world


def test_default_threads_leave_out_busy_cores(monkeypatch):
    monkeypatch.setattr(world.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(world.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(world.os, "getloadavg", lambda: (0.1, 0.1, 0.1))
    assert world.choose_threads() == 2
    monkeypatch.setattr(world.os, "getloadavg", lambda: (1.2, 1.0, 1.0))  # another process is busy
    assert world.choose_threads() == 1
    monkeypatch.setattr(world.os, "getloadavg", lambda: (6.0, 6.0, 6.0))
    assert world.choose_threads() == 1


def test_requested_threads_win_and_workers_use_one_each(monkeypatch):
    monkeypatch.setattr(world.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert world.choose_threads(3) == 3
    assert world.choose_threads(None, workers=4) == 1
