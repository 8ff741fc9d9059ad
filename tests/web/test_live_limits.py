"""Stream cap settings: anything but a positive count is refused at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli import SPARE_FILES, raise_open_files, worker_backpressure
from settings import Settings, SettingsError


@pytest.mark.parametrize("value", ["0", "-1", "ten", "1.5", "9" * 4301])
def test_stream_caps_refuse_anything_but_a_positive_count(value: str, tmp_path: Path) -> None:
    for name in ("MAX_STREAMS_PER_WORKER", "MAX_STREAMS_PER_CLIENT"):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: value, "DATA_DIR": str(tmp_path)}, env_file=None)


def test_serve_raises_the_open_file_limit_to_hold_every_request_slot(tmp_path: Path) -> None:
    """A soft limit of 1,024 descriptors would refuse connections long before 10,000 streams."""
    import resource

    settings = Settings.from_env({"DATA_DIR": str(tmp_path)}, env_file=None)
    assert worker_backpressure(settings) > 10_000  # the default stream cap, plus room for the rest
    saved = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, saved[1]))
        limit = raise_open_files(2, settings)
        wanted = 2 * (worker_backpressure(settings) + SPARE_FILES)
        expected = wanted if saved[1] == resource.RLIM_INFINITY else min(wanted, saved[1])
        assert limit == expected == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, saved)
