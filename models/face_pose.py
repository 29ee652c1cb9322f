"""A face's head pose (Rekognition's `Pose`: Roll, Yaw, Pitch in degrees) from its five landmarks.

The five points are fitted to a generic 3D face (average adult proportions, millimetres) with
OpenCV's `solvePnP` under a weak-perspective camera (a very long focal length): the pose is then
the face's rotation against the image plane, the same wherever in the frame the face is and
whatever lens took it (neither is known). Roll is read straight off the eye line. Signs follow the reference's examples:
Roll is positive when the image-right eye is lower than the image-left one (the example with
`eyeRight.Y < eyeLeft.Y` has Roll -15.5), Yaw is positive when the nose sits to the image-right
of the eyes (Yaw +11.3 there), Pitch is positive when the nose rises towards the eyes (the
head tilted back; +16.0 there).

Five points pin yaw and pitch only as well as the generic face fits the real one, and AWS does
not say how it measures them: on the reference's one example with all five landmarks this gives
Roll -14.9 (AWS -15.5), Pitch +11 (AWS +16) and Yaw +34 (AWS +11): signs agree, and yaw here
runs about twice as large as AWS's on that face.
"""
from __future__ import annotations

import math

import numpy as np

from models.outputs import Face

# A generic face, in OpenCV camera axes (x to the image's right, y down, z away from the camera),
# origin at the nose tip: eye centres 64 mm apart and 32 mm above the nose tip, set 25 mm back;
# mouth corners 50 mm apart, 28 mm below, 20 mm back. Order as models.sface.LANDMARK_ORDER.
FACE_3D = np.array([[-32.0, -32.0, 25.0], [32.0, -32.0, 25.0], [0.0, 0.0, 0.0],
                    [-25.0, 28.0, 20.0], [25.0, 28.0, 20.0]], dtype=np.float64)
# Weak perspective: a focal length this many image widths long makes the projection
# practically orthographic (perspective changes the angles by < 0.1 degree).
WEAK_PERSPECTIVE = 100.0
LANDMARK_ORDER = ("eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight")


def _clamp(degrees: float) -> float:
    return max(-180.0, min(180.0, degrees))


def pose(face: Face, width: int, height: int) -> dict[str, float]:
    """`{"Roll", "Yaw", "Pitch"}` in degrees for a face found in an image of width x height."""
    import cv2

    points = np.array([(face.landmarks[n][0] * width, face.landmarks[n][1] * height) for n in LANDMARK_ORDER],
                      dtype=np.float64)
    # Roll straight from the eye line: it needs no 3D model and is what a viewer sees.
    (lx, ly), (rx, ry) = points[0], points[1]
    roll = math.degrees(math.atan2(ry - ly, rx - lx))

    focal = WEAK_PERSPECTIVE * width
    camera = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]], dtype=np.float64)
    # Start from a frontal face at a plausible distance so the solver does not flip behind the camera.
    eye_distance = max(math.hypot(rx - lx, ry - ly), 1e-6)
    distance = focal * 64.0 / eye_distance
    centre = points[2]
    start_t = np.array([(centre[0] - width / 2) * distance / focal, (centre[1] - height / 2) * distance / focal,
                        distance], dtype=np.float64)
    start_r = np.array([0.0, 0.0, math.radians(roll)], dtype=np.float64)
    ok, rvec, _ = cv2.solvePnP(FACE_3D, points, camera, None, start_r.copy(), start_t.copy(),
                               useExtrinsicGuess=True, flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        return {"Roll": _clamp(roll), "Yaw": 0.0, "Pitch": 0.0}
    rotation, _ = cv2.Rodrigues(rvec)
    # The face's forward axis (towards the camera is -z) in camera coordinates.
    forward = rotation @ np.array([0.0, 0.0, -1.0])
    yaw = math.degrees(math.atan2(forward[0], -forward[2]))
    pitch = math.degrees(math.atan2(-forward[1], math.hypot(forward[0], forward[2])))
    return {"Roll": _clamp(roll), "Yaw": _clamp(yaw), "Pitch": _clamp(pitch)}
