"""Frame numbers <-> Rekognition's segment times: SMPTE timecodes and rounded-down milliseconds.

Rekognition's `SegmentDetection` gives every boundary three ways: a 0-based frame number, a
timestamp in milliseconds rounded down (100.6667 ms -> 100), and an SMPTE timecode
`HH:MM:SS:FF`, written `HH:MM:SS;FF` at the NTSC drop-frame rates (29.97 and 59.94 fps).

Which counting is used:

* NTSC rates 30000/1001 and 60000/1001: drop-frame timecode (SMPTE 12M). Frame *labels* 0 and 1
  (0-3 at 59.94) are skipped at the start of every minute except every tenth, so the timecode
  stays within a frame of the wall clock.
* every other rate whose nominal frame count is an integer (24, 25, 30, 50, 60) and 23.976
  (24000/1001, which SMPTE counts non-drop at a nominal 24): plain counting, FF in 0..nominal-1.
* any other rate (12.5, 15.5 fps, variable-rate files): there is no SMPTE counting for it, so
  the timecode is the wall-clock second of the frame and FF the frame's index within that second.
"""
from __future__ import annotations

import math

NTSC_DROP_FRAME_RATES = (30000 / 1001, 60000 / 1001)
_NTSC_TOLERANCE = 0.005  # 29.97 written as 29.97 or 29.970029830932617 both count


def is_drop_frame(fps: float) -> bool:
    return any(abs(fps - rate) < _NTSC_TOLERANCE for rate in NTSC_DROP_FRAME_RATES)


def _nominal(fps: float) -> int | None:
    """The integer frames-per-second SMPTE counts with at this rate, or None when there is none."""
    if is_drop_frame(fps) or abs(fps - 24000 / 1001) < _NTSC_TOLERANCE:
        return round(fps)
    if abs(fps - round(fps)) < 1e-6:
        return round(fps)
    return None


def frame_to_millis(frame: int, fps: float) -> int:
    """The frame's start time in whole milliseconds, rounded down as Rekognition does."""
    # The tiny epsilon keeps exact products (frame 300 at 30000/1001 = 10010.0 ms) from
    # landing a hair below the integer through float error.
    return math.floor(frame * 1000.0 / fps + 1e-9)


def frame_to_timecode(frame: int, fps: float) -> str:
    """SMPTE timecode of a 0-based frame number (or of a duration in frames)."""
    if frame < 0:
        raise ValueError(f"frame number must be >= 0, got {frame}")
    if fps <= 0:
        raise ValueError(f"frame rate must be > 0, got {fps}")
    nominal = _nominal(fps)
    if nominal is None:
        seconds, ff = _wall_clock(frame, fps)
        separator = ":"
    else:
        label = _drop_frame_label(frame, fps) if is_drop_frame(fps) else frame
        seconds, ff = divmod(label, nominal)
        separator = ";" if is_drop_frame(fps) else ":"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ff:02d}"


def _drop_frame_label(frame: int, fps: float) -> int:
    """The frame count a drop-frame timecode displays for real frame `frame` (SMPTE 12M)."""
    nominal = round(fps)
    dropped = 2 * nominal // 30  # 2 labels a minute at 29.97, 4 at 59.94
    per_minute = nominal * 60 - dropped
    per_ten_minutes = per_minute * 10 + dropped  # the tenth minute keeps its labels
    tens, rest = divmod(frame, per_ten_minutes)
    skipped = dropped * 9 * tens
    if rest >= dropped:
        skipped += dropped * ((rest - dropped) // per_minute)
    return frame + skipped


def _wall_clock(frame: int, fps: float) -> tuple[int, int]:
    seconds = math.floor(frame / fps + 1e-9)
    first_of_second = math.ceil(seconds * fps - 1e-9)
    return seconds, frame - first_of_second


def segment_times(start_frame: int, end_frame: int, fps: float) -> dict:
    """Rekognition's timing members for a segment from `start_frame` to `end_frame` (inclusive).

    As in the service's own example output, durations are end minus start, in frames, in
    milliseconds and as a timecode: a shot of frames 300..449 at 29.97 fps has DurationFrames
    149, DurationMillis 14981 - 10010 = 4971 and DurationSMPTE 00:00:04;29.
    """
    if end_frame < start_frame:
        raise ValueError(f"segment ends ({end_frame}) before it starts ({start_frame})")
    start_ms, end_ms = frame_to_millis(start_frame, fps), frame_to_millis(end_frame, fps)
    return {
        "StartTimestampMillis": start_ms,
        "EndTimestampMillis": end_ms,
        "DurationMillis": end_ms - start_ms,
        "StartTimecodeSMPTE": frame_to_timecode(start_frame, fps),
        "EndTimecodeSMPTE": frame_to_timecode(end_frame, fps),
        "DurationSMPTE": frame_to_timecode(end_frame - start_frame, fps),
        "StartFrameNumber": start_frame,
        "EndFrameNumber": end_frame,
        "DurationFrames": end_frame - start_frame,
    }
