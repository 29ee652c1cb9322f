"""Facial expression (7 classes) with human's `emotion` graph (oarriaga's face_classification
mini-Xception, trained on FER-2013), run in PyTorch.

What @vladmandic/human 3.3.6 does (src/gear/emotion.ts) and this module mirrors: the face crop
(models.human_face, values 0..1) is resized to 64x64 (`tf.image.resizeBilinear`, TF legacy
sampling), made grey as 0.2989 R + 0.5870 G + 0.1140 B, then mapped to -1..1 by (grey - 0.5) * 2;
the graph ends in a softmax over angry, disgust, fear, happy, sad, surprise, neutral (the
graph's input has one channel, so human uses that label order).

models.face_detail maps them onto Rekognition's EmotionName (neutral -> CALM); Rekognition's
CONFUSED has no counterpart in this model and is never produced.
"""
from __future__ import annotations

import numpy as np
import torch

from models.human_face import HumanFaceGraph
from models.outputs import ClassScores

INPUT_SIZE = 64
OUTPUT = "Identity"
LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # emotion.ts, 1-channel model
GREY = (0.2989, 0.5870, 0.1140)  # human's constants.rgb


class Emotion(HumanFaceGraph):
    """human's emotion model: `predict(face crops)` -> ClassScores over LABELS, best first."""

    model_file = "emotion.json"
    outputs = (OUTPUT,)

    def prepare(self, crops: torch.Tensor) -> torch.Tensor:
        from models.tfjs_graph import resize_bilinear

        resized = resize_bilinear(crops, (INPUT_SIZE, INPUT_SIZE)) / 255.0
        grey = (resized * torch.tensor(GREY, device=resized.device)).sum(dim=3, keepdim=True)
        return (grey - 0.5) * 2.0

    def results(self, outputs: tuple[np.ndarray, ...]) -> list[ClassScores]:
        (probabilities,) = outputs
        scored = []
        for row in probabilities:
            order = np.argsort(-row, kind="stable")
            scored.append(ClassScores(names=tuple(LABELS[i] for i in order), scores=row[order].astype(np.float32)))
        return scored
