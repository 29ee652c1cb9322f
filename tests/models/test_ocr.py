"""PP-OCRv6 (rapidocr 3.10.0 files) on a real sign and on text we draw, and the TextDetection shapes."""
from __future__ import annotations

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from models.catalog import spec
from models.ocr import PaddleOCR, split_words
from models.outputs import TextLine, TextWord
from models.registry import load
from models.text_results import TextFilters, text_detections
from tests.conftest import media

DRAWN = [((40, 60), "EXIT 42 Main Street"), ((40, 200), "Framewise reads 7 words")]


@pytest.fixture(scope="module")
def ocr(models_dir) -> PaddleOCR:
    return load("ppocr-v6", models_dir)


@pytest.fixture(scope="module")
def drawn():
    """White 640x360 image with two lines in Pillow's bundled font, and each word's pixel box."""
    image = Image.new("RGB", (640, 360), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=40)
    boxes = {}
    for (x, y), text in DRAWN:
        draw.text((x, y), text, fill=(0, 0, 0), font=font)
        for word in text.split():
            offset = draw.textlength(text[: text.index(word)], font=font)
            boxes[word] = draw.textbbox((x + offset, y), word, font=font)
    return np.asarray(image), boxes


@pytest.fixture(scope="module")
def drawn_lines(ocr, drawn):
    return ocr.predict(drawn[0][None])[0]


def test_reads_drawn_text_back_exactly(drawn_lines):
    assert [line.text for line in drawn_lines] == [text for _, text in DRAWN]
    assert all(line.score > 0.95 for line in drawn_lines)
    assert [[w.text for w in line.words] for line in drawn_lines] == [text.split() for _, text in DRAWN]


def test_word_boxes_sit_on_the_drawn_words(drawn_lines, drawn):
    _, boxes = drawn
    for line in drawn_lines:
        for word in line.words:
            left, top, right, bottom = boxes[word.text]
            xs = [x * 640 for x, _ in word.polygon]
            ys = [y * 360 for _, y in word.polygon]
            # the recogniser's character columns are 8 px apart at this size: a few px of slack
            assert min(xs) == pytest.approx(left, abs=12) and max(xs) == pytest.approx(right, abs=12), word.text
            assert min(ys) <= top + 4 and max(ys) >= bottom - 4, word.text
            assert word.score > 0.9


def test_reads_the_lightbox_sign(ocr):
    """cuts_text/vfe_text_lightbox_sign.mp4 at 4 s: a lightbox reading "#BLACK LIVES MATTER"."""
    with av.open(str(media("cuts_text/vfe_text_lightbox_sign.mp4"))) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index == 100:
                image = frame.to_ndarray(format="rgb24")
                break
    lines = ocr.predict(image[None])[0]
    assert [line.text for line in lines] == ["#BLACK", "LIVES", "MATTER"]
    assert all(line.score > 0.9 for line in lines)
    # three rows of the sign, stacked top to bottom in the left half of the frame
    tops = [min(y for _, y in line.polygon) for line in lines]
    assert tops == sorted(tops) and all(max(x for x, _ in line.polygon) < 0.65 for line in lines)
    items = text_detections(lines)
    assert [(i["Type"], i["DetectedText"], i.get("ParentId")) for i in items] == [
        ("LINE", "#BLACK", None), ("LINE", "LIVES", None), ("LINE", "MATTER", None),
        ("WORD", "#BLACK", 0), ("WORD", "LIVES", 1), ("WORD", "MATTER", 2)]


def test_blank_frame_has_no_text(ocr):
    assert ocr.predict(np.full((2, 120, 160, 3), 255, np.uint8)) == [[], []]


def test_never_downloads(models_dir, monkeypatch, drawn):
    """Built on the catalog's files only: any attempt to fetch a model or alphabet fails the test."""
    import rapidocr.utils.download_file as download

    def refuse(*args, **kwargs):
        raise AssertionError("rapidocr tried to download something")

    monkeypatch.setattr(download.DownloadFile, "run", staticmethod(refuse))
    model_spec = spec("ppocr-v6")
    fresh = PaddleOCR(model_spec, model_spec.paths(models_dir), "cpu", 1)
    lines = fresh.predict([drawn[0][:150]])[0]
    assert [line.text for line in lines] == ["EXIT 42 Main Street"]
    sessions = [fresh.built.text_det.session, fresh.built.text_rec.session, fresh.built.text_cls.session]
    assert all(str(models_dir) in s.session._model_path for s in sessions)


# ---------------------------------------------------------------- pure helpers


def _line(text: str, score: float, left: float, top: float, word_scores=None) -> TextLine:
    polygon = ((left, top), (left + 0.5, top), (left + 0.5, top + 0.1), (left, top + 0.1))
    words = split_words(text, score, polygon)
    if word_scores:
        words = tuple(TextWord(w.text, s, w.polygon) for w, s in zip(words, word_scores, strict=True))
    return TextLine(text, score, polygon, words)


def test_split_words_cuts_the_line_by_characters():
    words = split_words("AB CD", 0.9, ((0.0, 0.0), (0.5, 0.0), (0.5, 0.1), (0.0, 0.1)))
    assert [w.text for w in words] == ["AB", "CD"]
    assert np.ravel(words[0].polygon) == pytest.approx([0.0, 0.0, 0.2, 0.0, 0.2, 0.1, 0.0, 0.1])
    assert np.ravel(words[1].polygon) == pytest.approx([0.3, 0.0, 0.5, 0.0, 0.5, 0.1, 0.3, 0.1])


def test_text_detection_shape_and_ids():
    items = text_detections([_line("STOP HERE", 0.99, 0.1, 0.1), _line("EXIT", 0.97, 0.1, 0.5)])
    assert [(i["Type"], i["Id"], i.get("ParentId"), i["DetectedText"]) for i in items] == [
        ("LINE", 0, None, "STOP HERE"), ("LINE", 1, None, "EXIT"),
        ("WORD", 2, 0, "STOP"), ("WORD", 3, 0, "HERE"), ("WORD", 4, 1, "EXIT")]
    line = items[0]
    assert line["Confidence"] == pytest.approx(99.0)
    assert line["Geometry"]["BoundingBox"] == pytest.approx({"Width": 0.5, "Height": 0.1, "Left": 0.1, "Top": 0.1})
    assert [p["X"] for p in line["Geometry"]["Polygon"]] == pytest.approx([0.1, 0.6, 0.6, 0.1])
    assert "ParentId" not in line


def test_word_filter():
    lines = [_line("SALE NOW", 0.95, 0.1, 0.1, word_scores=[0.95, 0.6]), _line("faint", 0.5, 0.1, 0.5)]
    items = text_detections(lines)  # MinConfidence 80 by default
    assert [(i["Type"], i["DetectedText"]) for i in items] == [("LINE", "SALE"), ("WORD", "SALE")]
    assert items[0]["Geometry"]["BoundingBox"]["Width"] == pytest.approx(0.5 * 4 / 8)  # covers the kept word
    assert len(text_detections(lines, TextFilters(min_confidence=0))) == 5
    wide = text_detections(lines, TextFilters(min_confidence=0, min_box_width=0.3))
    assert [i["DetectedText"] for i in wide] == ["faint", "faint"]  # the one word 0.5 wide
    tall = TextFilters.from_request({"WordFilter": {"MinConfidence": 10, "MinBoundingBoxHeight": 0.2}})
    assert text_detections(lines, tall) == []


def test_regions_of_interest_keep_words_mostly_inside():
    lines = [_line("LEFT RIGHT", 0.99, 0.0, 0.0)]  # LEFT spans x 0..0.2, RIGHT x 0.25..0.5
    left_half = TextFilters.from_request({"RegionsOfInterest": [
        {"BoundingBox": {"Left": 0.0, "Top": 0.0, "Width": 0.24, "Height": 1.0}}]})
    assert [i["DetectedText"] for i in text_detections(lines, left_half)] == ["LEFT", "LEFT"]
    triangle = TextFilters.from_request({"RegionsOfInterest": [
        {"Polygon": [{"X": 0.2, "Y": 0.0}, {"X": 1.0, "Y": 0.0}, {"X": 1.0, "Y": 1.0}]}]})
    assert [i["DetectedText"] for i in text_detections(lines, triangle)] == ["RIGHT", "RIGHT"]
    # under half of a word inside: dropped
    sliver = TextFilters.from_request({"RegionsOfInterest": [
        {"BoundingBox": {"Left": 0.0, "Top": 0.0, "Width": 0.09, "Height": 1.0}}]})
    assert text_detections(lines, sliver) == []
