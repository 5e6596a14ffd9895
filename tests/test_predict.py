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


def test_requested_threads_win_up_to_the_cores_and_workers_use_one_each(monkeypatch):
    monkeypatch.setattr(world.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(world.os, "cpu_count", lambda: 8)
    assert world.choose_threads(3) == 3
    assert world.choose_threads(100_000) == 8  # torch's pool crashed when asked for that many
    assert world.choose_threads(None, workers=4) == 1


def test_batches_labelled_on_threads_come_back_in_input_order():
    import time

    def slow_for_even(number):
        time.sleep(0.02 if number % 2 == 0 else 0.0)
        return number * number

    assert list(world.in_threads(slow_for_even, range(9), threads=3)) == [(n, n * n) for n in range(9)]
