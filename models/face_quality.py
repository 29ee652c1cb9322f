"""A face's image quality (Rekognition's `Quality`: Brightness and Sharpness, 0..100) from the
pixels of its aligned crop.

Both are measured on the 112x112 crop SFace reads (models.sface.align_face), so they describe
the face at one scale whatever its size in the frame, and what the identity model sees:

* Brightness: the crop's mean luma (BT.601, OpenCV's RGB->grey) as a percentage of white.
* Sharpness: the variance of the crop's Laplacian (a standard focus measure), mapped onto
  0..100 by 100 * (1 - exp(-variance / 300)). The scale was set on the shared media: sharp
  press photos (obama.jpg 1893, biden.jpg 866) score 94-100, the stage clip's faces (variance
  30-310) 10-65, and the same photos blurred with a Gaussian of 1, 2 and 4 pixels (at 112
  px) about 40, 12 and 3.

AWS does not define its own scales; these are ours, and `QualityFilter` thresholds on them
should be chosen on them (SHARPNESS_SCALE is the one tuned constant).
"""
from __future__ import annotations

import math

import numpy as np

SHARPNESS_SCALE = 300.0  # Laplacian variance that maps to 63 % sharpness


def brightness(crop: np.ndarray) -> float:
    """Mean luma of a uint8 RGB crop, 0 (black) .. 100 (white)."""
    import cv2

    return float(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).mean()) / 255.0 * 100.0


def sharpness(crop: np.ndarray) -> float:
    """0 (flat) .. 100 (crisp edges): the Laplacian variance of a uint8 RGB crop, saturated."""
    import cv2

    variance = float(cv2.Laplacian(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())
    return 100.0 * (1.0 - math.exp(-variance / SHARPNESS_SCALE))


def quality(crop: np.ndarray) -> dict[str, float]:
    """Rekognition's `ImageQuality` for an aligned face crop: {"Brightness", "Sharpness"}."""
    return {"Brightness": brightness(crop), "Sharpness": sharpness(crop)}
