"""Shared test helpers: where the real media lives, free ports, sample videos."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_MEDIA = REPO.parent / "shared" / "media"


def media(relative: str) -> Path:
    """A file from the shared real-media folder, or skip when this clone has none."""
    path = SHARED_MEDIA / relative
    if not path.exists():
        pytest.skip(f"real test media not present ({SHARED_MEDIA} is absent in this clone)")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def photo_video(tmp_path_factory) -> Path:
    """9 s of real photos: an astronaut (0-3 s), a motorcycle (3-6 s), a cup of coffee (6-9 s)."""
    from jobs.samples import write_photo_video

    return write_photo_video(tmp_path_factory.mktemp("videos") / "photos.mp4")


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """The configured models directory (FRAMEWISE_MODELS_DIR), fetched and verified."""
    from jobs.settings import Settings
    from models.catalog import SPECS
    from models.fetch import fetch

    directory = Settings().models_dir
    fetch(SPECS.values(), directory)
    return directory
