"""Stream cap settings: anything but a positive count is refused at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from settings import Settings, SettingsError


@pytest.mark.parametrize("value", ["0", "-1", "ten", "1.5", "9" * 4301])
def test_stream_caps_refuse_anything_but_a_positive_count(value: str, tmp_path: Path) -> None:
    for name in ("MAX_STREAMS_PER_WORKER", "MAX_STREAMS_PER_CLIENT"):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: value, "DATA_DIR": str(tmp_path)}, env_file=None)
