"""Fixtures for the in-process service and lifecycle tests."""
from __future__ import annotations

import secrets
import shutil

import pytest


@pytest.fixture
def video(framewise_env, photo_video) -> dict:
    """The 9 s photo video under a fresh name in the local bucket "unit", as a Video request member."""
    name = f"photos-{secrets.token_hex(3)}.mp4"
    shutil.copyfile(photo_video, framewise_env.bucket_root / "unit" / name)
    return {"S3Object": {"Bucket": "unit", "Name": name}}
