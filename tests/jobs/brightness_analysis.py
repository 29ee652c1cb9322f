"""A trivial analysis that exists only in the tests: the mean brightness of each frame at 1 fps.

It proves an analysis is one module: registered, it runs beside labels in one job, shares its
decode, and is read back through the generic Get service, with no edit anywhere else."""
from __future__ import annotations

from typing import ClassVar

from jobs.analyses import Analysis, Order, Row, register


@register
class Brightness(Analysis):
    name = "brightness"
    start_op = "StartBrightnessDetection"
    get_op = "GetBrightnessDetection"
    items_key = "Frames"
    sorts: ClassVar = {"TIMESTAMP": Order.TIME}

    def options(self, request: dict, settings) -> dict:
        return {"SampleFps": 1.0}

    def rows(self, frames, infer, options, state) -> list[Row]:
        return [Row(ts, {"Timestamp": ts, "Brightness": float(image.mean() / 2.55)})
                for ts, image in zip(frames.timestamps_millis, frames.images, strict=True)]
