"""The benchmark's own arithmetic (no rendering)."""

from headless.bench import median_frame_seconds


def test_median_frame_time_ignores_a_few_slowed_frames():
    """Frames every second, two of them held up by another job for 8 s: the median frame
    time is still 1 s (the throughput-based ratio would count the 8 s)."""
    done = [0.0, 1.0, 2.0, 10.0, 11.0, 12.0, 20.0, 21.0, 22.0]
    assert median_frame_seconds([{"finished_unix": t} for t in done]) == 1.0
    assert median_frame_seconds([{"finished_unix": 5.0}]) is None
    assert median_frame_seconds([{"finished_unix": 5.0}, {"finished_unix": 6.5}]) == 1.5
