"""Text in frames (kind "text"): PaddleOCR PP-OCRv6 detector + recogniser, run by rapidocr.

The weights are the catalog's files (`ppocr-v6`: det.onnx, cls.onnx, rec.onnx, taken out of the
pinned rapidocr 3.10.0 wheel and sha-checked). rapidocr itself is used as a library for what it
does well and what would otherwise be re-implemented line for line: the DB detector's
post-processing (threshold map -> minimum-area boxes, unclipped with pyclipper), the cropping
and 0/180 degree classification of each line, the CTC decode of the recogniser (whose alphabet
is stored in rec.onnx's metadata) and its per-word boxes from the CTC character positions.
Every model path is given explicitly, so rapidocr never resolves or downloads a model of its own
(tests/models/test_ocr.py checks that).

Output: per frame, `TextLine`s in reading order (top to bottom, then left to right), each with
its `TextWord`s; polygons are 4 points clockwise from top-left, as ratios of the frame.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.base import LazyModel, check_frames
from models.outputs import TextLine, TextWord

# The detector's input size: rapidocr's default ("min" side 736) upscales a 960x506 frame to
# 1396x736 for no gain in what it reads on the project's clips and ~2x the time; "max" 960
# leaves SD/HD-ready frames at their size and brings 1080p down to 960 wide.
DET_LIMIT_TYPE = "max"
DET_LIMIT_SIDE = 960
MIN_LINE_SCORE = 0.5  # rapidocr's text_score: lines the recogniser reads worse than this are dropped


def _polygon(points, width: int, height: int) -> tuple[tuple[float, float], ...]:
    return tuple((float(x) / width, float(y) / height) for x, y in np.asarray(points, dtype=np.float64).reshape(-1, 2))


def split_words(text: str, score: float, polygon: tuple[tuple[float, float], ...]) -> tuple[TextWord, ...]:
    """Words of a line whose recogniser gave no word boxes: cut the line's quadrilateral in
    proportion to character counts (a space counts as a character)."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = polygon
    words, position, total = [], 0, max(len(text), 1)
    for word in text.split(" "):
        if word:
            a, b = position / total, (position + len(word)) / total
            top = ((x0 + (x1 - x0) * a, y0 + (y1 - y0) * a), (x0 + (x1 - x0) * b, y0 + (y1 - y0) * b))
            bottom = ((x3 + (x2 - x3) * b, y3 + (y2 - y3) * b), (x3 + (x2 - x3) * a, y3 + (y2 - y3) * a))
            words.append(TextWord(word, score, (*top, *bottom)))
        position += len(word) + 1
    return tuple(words)


class PaddleOCR(LazyModel):
    """PP-OCRv6 small det + rec and the mobile 0/180 classifier, on onnxruntime (CPU)."""

    def build(self):
        from rapidocr import RapidOCR

        return RapidOCR(params={
            "Det.model_path": str(self.files["det.onnx"]),
            "Cls.model_path": str(self.files["cls.onnx"]),
            "Rec.model_path": str(self.files["rec.onnx"]),
            "Det.limit_type": DET_LIMIT_TYPE,
            "Det.limit_side_len": DET_LIMIT_SIDE,
            "Global.text_score": MIN_LINE_SCORE,
            "Global.return_word_box": True,
            "Global.log_level": "error",
        })

    def read(self, frame: np.ndarray) -> list[TextLine]:
        """The text lines of one uint8 RGB frame."""
        height, width = frame.shape[:2]
        result = self.built(np.ascontiguousarray(frame[..., ::-1]))  # rapidocr takes arrays as BGR
        if result.boxes is None or result.txts is None or len(result.txts) == 0:
            return []
        # rapidocr drops the word tuple of a line it has none for, so pair them by content.
        word_lists = list(result.word_results or ())
        lines = []
        for box, text, score in zip(result.boxes, result.txts, result.scores, strict=True):
            polygon = _polygon(box, width, height)
            words: tuple[TextWord, ...] = ()
            if word_lists and "".join(w[0] for w in word_lists[0]) == text.replace(" ", ""):
                words = tuple(TextWord(w[0], float(w[1]), _polygon(w[2], width, height)) for w in word_lists.pop(0))
            if not words:
                words = split_words(text, float(score), polygon)
            lines.append(TextLine(text=text, score=float(score), polygon=polygon, words=words))
        return lines

    def predict(self, frames: np.ndarray | Sequence[np.ndarray]) -> list[list[TextLine]]:
        if isinstance(frames, np.ndarray):
            frames = check_frames(frames)
        return [self.read(frame) for frame in frames]
