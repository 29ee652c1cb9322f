"""A small image-classification dataset cut from the real clips in ../shared/media, labelled by
what each clip shows, and the Ground Truth manifest lines that describe it.

Frames are taken at evenly spaced moments across each clip (different moments, not neighbours);
the last `held` of each label's frames are kept out of the manifest, for DetectCustomLabels."""
from __future__ import annotations

import json

import cv2

from tests.conftest import media

CLIPS = {
    "dog": "objects/pexels_dog_eating_854132.mp4",
    "traffic": "traffic/intel_car-detection.mp4",
    "bottles": "objects/intel_bottle-detection.mp4",
    "bird": "objects/imageio_cockatoo_yuv420.mp4",
}
MAX_SIDE = 320


def frames(clip: str, count: int) -> list[bytes]:
    """`count` JPEG frames of `clip`, evenly spread over it (scaled to MAX_SIDE)."""
    capture = cv2.VideoCapture(str(media(clip)))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    out = []
    for i in range(count):
        capture.set(cv2.CAP_PROP_POS_FRAMES, int((i + 0.5) * total / count))
        ok, image = capture.read()
        assert ok, f"cannot read frame {i} of {clip}"
        scale = MAX_SIDE / max(image.shape[:2])
        image = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)))
        out.append(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
    capture.release()
    return out


def classification_line(source_ref: str, label: str, index: int) -> str:
    """A groundtruth/image-classification manifest line, as Ground Truth writes it."""
    return json.dumps({"source-ref": source_ref, "animal-or-scene": index, "animal-or-scene-metadata": {
        "confidence": 1, "job-name": "labeling-job/framewise-test", "class-name": label,
        "human-annotated": "yes", "creation-date": "2026-11-29T12:00:00", "type": "groundtruth/image-classification"}})


def dataset(per_label: int, held: int):
    """{label: ([manifest frames], [held-apart frames])} for every clip."""
    out = {}
    for label, clip in CLIPS.items():
        images = frames(clip, per_label + held)
        # interleave: held-apart frames are spread over the clip too
        held_apart = images[1::(per_label + held) // held][:held] if held else []
        kept = [image for image in images if image not in held_apart]
        out[label] = (kept, held_apart)
    return out
