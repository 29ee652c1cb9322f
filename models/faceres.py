"""Apparent age and gender of a face with human's `faceres` (HSE-FaceRes), run in PyTorch.

What @vladmandic/human 3.3.6 does (src/face/faceres.ts) and this module mirrors: the face
crop (models.human_face, values 0..1) is resized to 224x224 with `tf.image.resizeBilinear`
(TF legacy sampling) and multiplied by 255; the graph gives `gender_pred/Sigmoid` (one value,
> 0.5 is male), `age_pred/Softmax` (100 bins, one per year of age) and a 1024-d descriptor
(unused: SFace is the identity model). human's point age interpolates between the best bin and
its larger neighbour: `age = argmax ± 10 * p(neighbour)`, kept here as `AgeGender.age`.
"""
from __future__ import annotations

import numpy as np
import torch

from models.human_face import HumanFaceGraph
from models.outputs import AgeGender

INPUT_SIZE = 224
GENDER_OUTPUT = "gender_pred/Sigmoid"
AGE_OUTPUT = "age_pred/Softmax"


def point_age(ages: np.ndarray) -> float:
    """human's age estimate from the 100-bin distribution (faceres.ts, `obj.age`)."""
    best = int(np.argmax(ages))
    below = float(ages[best - 1]) if best > 0 else 0.0
    above = float(ages[best + 1]) if best + 1 < len(ages) else 0.0
    age = 10 * best - 100 * below if below > above else 10 * best + 100 * above
    return round(age) / 10


class FaceRes(HumanFaceGraph):
    """human's faceres: `predict(face crops)` -> one AgeGender per crop (kind "age_gender")."""

    model_file = "faceres.json"
    outputs = (GENDER_OUTPUT, AGE_OUTPUT)

    def prepare(self, crops: torch.Tensor) -> torch.Tensor:
        from models.tfjs_graph import resize_bilinear

        # crop / 255 (human's face tensor), resized, then * 255: the same as resizing the bytes.
        return resize_bilinear(crops, (INPUT_SIZE, INPUT_SIZE))

    def results(self, outputs: tuple[np.ndarray, ...]) -> list[AgeGender]:
        male, ages = outputs
        return [AgeGender(age=point_age(a), ages=a.astype(np.float32), male=float(m[0]))
                for m, a in zip(male, ages, strict=True)]
