"""A constant-velocity Kalman filter over boxes, as SORT, DeepSORT and ByteTrack use it.

State (8): box centre x, centre y, aspect ratio w/h, height, and their velocities per step.
Measurement (4): the first four. Noise scales with the box height, so one set of weights works
for near and far people alike (ByteTrack's `KalmanFilter`, std 1/20 of the height for
position, 1/160 for velocity). Boxes here are in ratios of the frame, which only rescales
everything: the filter is scale-free.
"""
from __future__ import annotations

import numpy as np

from models.outputs import BoundingBox

_STD_POSITION = 1.0 / 20
_STD_VELOCITY = 1.0 / 160
_MOTION = np.eye(8)
_MOTION[:4, 4:] = np.eye(4)  # x' = x + v, once per step
_OBSERVE = np.eye(4, 8)


def to_xyah(box: BoundingBox) -> np.ndarray:
    height = max(box.height, 1e-6)
    return np.array([box.left + box.width / 2, box.top + box.height / 2, box.width / height, height])


def from_xyah(xyah: np.ndarray) -> BoundingBox:
    x, y, aspect, height = (float(v) for v in xyah[:4])
    width = aspect * height
    return BoundingBox(left=x - width / 2, top=y - height / 2, width=width, height=height)


def initiate(measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of a new track from its first box (xyah), velocity unknown (0)."""
    mean = np.r_[measurement, np.zeros(4)]
    h = measurement[3]
    std = [2 * _STD_POSITION * h, 2 * _STD_POSITION * h, 1e-2, 2 * _STD_POSITION * h,
           10 * _STD_VELOCITY * h, 10 * _STD_VELOCITY * h, 1e-5, 10 * _STD_VELOCITY * h]
    return mean, np.diag(np.square(std))


def predict(mean: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One step ahead."""
    h = mean[3]
    std = [_STD_POSITION * h, _STD_POSITION * h, 1e-2, _STD_POSITION * h,
           _STD_VELOCITY * h, _STD_VELOCITY * h, 1e-5, _STD_VELOCITY * h]
    mean = _MOTION @ mean
    covariance = _MOTION @ covariance @ _MOTION.T + np.diag(np.square(std))
    return mean, covariance


def update(mean: np.ndarray, covariance: np.ndarray, measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Correct the state with a measured box (xyah)."""
    h = mean[3]
    std = [_STD_POSITION * h, _STD_POSITION * h, 1e-1, _STD_POSITION * h]
    projected_cov = _OBSERVE @ covariance @ _OBSERVE.T + np.diag(np.square(std))
    gain = np.linalg.solve(projected_cov, (covariance @ _OBSERVE.T).T).T
    mean = mean + gain @ (measurement - _OBSERVE @ mean)
    covariance = covariance - gain @ projected_cov @ gain.T
    return mean, covariance
