"""SMPTE timecodes and Rekognition's rounded-down segment times."""
from __future__ import annotations

import pytest

from models.timecode import frame_to_millis, frame_to_timecode, is_drop_frame, segment_times

NTSC = 30000 / 1001


@pytest.mark.parametrize(("frame", "expected"), [
    (0, "00:00:00;00"), (29, "00:00:00;29"), (30, "00:00:01;00"),
    (1799, "00:00:59;29"), (1800, "00:01:00;02"),  # labels ;00 and ;01 of minute 1 are dropped
    (3597, "00:01:59;29"), (3598, "00:02:00;02"),
    (17981, "00:09:59;29"), (17982, "00:10:00;00"),  # every tenth minute keeps them
    (17982 + 1800, "00:11:00;02"),
    (107892, "01:00:00;00"),  # one hour of 29.97 fps video is 107892 frames
    (449, "00:00:14;29"), (149, "00:00:04;29"),  # the service's own example
])  # fmt: skip
def test_drop_frame_at_29_97(frame, expected):
    assert frame_to_timecode(frame, NTSC) == expected
    assert frame_to_timecode(frame, 29.970029830932617) == expected  # as VideoMetadata writes it


def test_drop_frame_at_59_94_drops_four_labels():
    fps = 60000 / 1001
    assert is_drop_frame(fps)
    assert frame_to_timecode(3599, fps) == "00:00:59;59"
    assert frame_to_timecode(3600, fps) == "00:01:00;04"
    assert frame_to_timecode(35964, fps) == "00:10:00;00"


@pytest.mark.parametrize(("frame", "fps", "expected"), [
    (0, 25, "00:00:00:00"), (24, 25, "00:00:00:24"), (25, 25, "00:00:01:00"), (90000, 25, "01:00:00:00"),
    (1800, 30, "00:01:00:00"), (47, 24, "00:00:01:23"),
    (24, 24000 / 1001, "00:00:01:00"),  # 23.976 counts non-drop at a nominal 24
    (12, 12.5, "00:00:00:12"), (13, 12.5, "00:00:01:00"), (25, 12.5, "00:00:02:00"),  # wall-clock seconds
])  # fmt: skip
def test_non_drop_frame(frame, fps, expected):
    assert not is_drop_frame(fps)
    assert frame_to_timecode(frame, fps) == expected


def test_millis_are_rounded_down():
    assert frame_to_millis(300, NTSC) == 10010  # exactly 10010.0: no float slip to 10009
    assert frame_to_millis(449, NTSC) == 14981  # 14981.63
    assert frame_to_millis(299, NTSC) == 9976
    assert frame_to_millis(3, 30) == 100  # 100.0
    assert frame_to_millis(1, 30) == 33  # 33.33


def test_segment_times_match_the_service_example():
    """GetSegmentDetection's documented shot: frames 300..449 of a 29.97 fps video."""
    assert segment_times(300, 449, 29.970029830932617) == {
        "StartTimestampMillis": 10010, "EndTimestampMillis": 14981, "DurationMillis": 4971,
        "StartTimecodeSMPTE": "00:00:10;00", "EndTimecodeSMPTE": "00:00:14;29", "DurationSMPTE": "00:00:04;29",
        "StartFrameNumber": 300, "EndFrameNumber": 449, "DurationFrames": 149,
    }
    black = segment_times(0, 299, NTSC)
    assert (black["EndTimestampMillis"], black["DurationSMPTE"]) == (9976, "00:00:09;29")


def test_rejects_nonsense():
    with pytest.raises(ValueError):
        frame_to_timecode(-1, 25)
    with pytest.raises(ValueError):
        frame_to_timecode(1, 0)
    with pytest.raises(ValueError):
        segment_times(10, 9, 25)
