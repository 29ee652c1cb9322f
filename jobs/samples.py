"""Sample videos made from real photos that scikit-image ships (no download needed)."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np


def write_video(path: Path, scenes: Sequence[tuple[np.ndarray, float]], fps: int = 10,
                size: tuple[int, int] = (640, 480)) -> Path:
    """Write an H.264 MP4 showing each (RGB photo, seconds) scene in turn, letterboxed to size."""
    width, height = size
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for photo, seconds in scenes:
            frame = av.VideoFrame.from_ndarray(_letterbox(photo, width, height), format="rgb24")
            for _ in range(round(seconds * fps)):
                for packet in stream.encode(frame):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _letterbox(photo: np.ndarray, width: int, height: int) -> np.ndarray:
    if photo.ndim == 2:
        photo = np.stack([photo] * 3, axis=-1)
    photo = photo[..., :3]
    scale = min(width / photo.shape[1], height / photo.shape[0])
    new_w, new_h = int(photo.shape[1] * scale) // 2 * 2, int(photo.shape[0] * scale) // 2 * 2
    resized = av.VideoFrame.from_ndarray(np.ascontiguousarray(photo), format="rgb24").to_ndarray(
        width=new_w, height=new_h, format="rgb24")
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    canvas[top:top + new_h, left:left + new_w] = resized
    return canvas


def photo_scenes(seconds_each: float = 3.0) -> list[tuple[str, np.ndarray, float]]:
    """(what is in it, photo, seconds): an astronaut (a person), a motorcycle, a cup of coffee."""
    from skimage import data

    return [("Person", data.astronaut(), seconds_each), ("Motorcycle", data.stereo_motorcycle()[0], seconds_each),
            ("Cup", data.coffee(), seconds_each)]


def write_photo_video(path: Path, seconds_each: float = 3.0, fps: int = 10) -> Path:
    return write_video(path, [(photo, seconds) for _, photo, seconds in photo_scenes(seconds_each)], fps=fps)
