"""Odd containers and codecs through three of the new analyses in one job: every file in
containers/ analyses with monotonic timestamps (HEVC, VP9/WebM, MJPEG and XviD AVI, MKV,
variable frame rate, two video streams); a cut-off file fails with a clear StatusMessage."""
from __future__ import annotations

import itertools

import pytest

from jobs.database import session_scope
from jobs.records import Chunk
from tests.jobs.vision_jobs import get, run_job

CONTAINERS = ["containers/derived_dog_hevc_libx265.mp4", "containers/derived_dog_vp9.webm",
              "containers/derived_dog_mjpeg.avi", "containers/derived_dog_mpeg4_xvid.avi",
              "containers/derived_dog_vfr_h264.mp4", "containers/intel_asl_thanks.mkv",
              "containers/torchcodec_nasa_13013_multistream_subs.mp4",
              "containers/imageio_realshort_phone_1.2s_aac.mp4"]


@pytest.mark.parametrize("clip", CONTAINERS)
def test_odd_containers_analyse_or_fail_clearly(framewise_env, clip):
    job_id = run_job(framewise_env, clip, {"moderation": {"MinConfidence": 0}, "text": {},
                                           "segments": {"SegmentTypes": ["SHOT", "TECHNICAL_CUE"]}},
                     SampleFps=1.0)
    moderation = get("moderation", job_id)
    assert moderation["JobStatus"] == "SUCCEEDED", moderation.get("StatusMessage")
    duration = moderation["VideoMetadata"]["DurationMillis"]
    stamps = [i["Timestamp"] for i in moderation["ModerationLabels"]]
    assert stamps and stamps == sorted(set(stamps)) and stamps[-1] < duration, "one per sampled frame, in order"
    assert all(i["ModerationLabel"]["Confidence"] < 50 for i in moderation["ModerationLabels"])
    segments = get("segments", job_id)
    shots = [s for s in segments["Segments"] if s["Type"] == "SHOT"]
    assert shots[0]["StartFrameNumber"] == 0
    assert all(a["EndFrameNumber"] + 1 == b["StartFrameNumber"] for a, b in itertools.pairwise(shots))
    assert all(a["StartTimestampMillis"] < b["StartTimestampMillis"] for a, b in itertools.pairwise(shots))
    assert shots[-1]["EndTimestampMillis"] <= duration
    with session_scope() as session:
        decodes = [c.decodes for c in session.query(Chunk).filter(Chunk.job_id == job_id)]
    assert decodes and all(d == 1 for d in decodes), "one decode per chunk for the three analyses"
    audio = {"containers/torchcodec_nasa_13013_multistream_subs.mp4": [("aac", 8000, 2), ("aac", 16000, 2)],
             "containers/imageio_realshort_phone_1.2s_aac.mp4": [("aac", 48000, 1)]}.get(clip, [])
    assert [(a["Codec"], a["SampleRate"], a["NumberOfChannels"]) for a in segments["AudioMetadata"]] == audio
    assert all(a["DurationMillis"] > 1000 for a in segments["AudioMetadata"])


def test_a_cut_off_file_fails_with_a_clear_message(framewise_env, tmp_path):
    from tests.conftest import media

    whole = media("containers/derived_dog_mpeg4_xvid.avi").read_bytes()
    (framewise_env.bucket_root / "unit" / "cut.avi").write_bytes(whole[: len(whole) // 2])
    from jobs import lifecycle, services
    from tests.jobs.vision_jobs import ACCOUNT

    with session_scope() as session:
        job_id = services.start_analysis_job(
            session, ACCOUNT, {"Video": {"S3Object": {"Bucket": "unit", "Name": "cut.avi"}},
                               "SegmentTypes": ["SHOT"]}, analysis="segments")["JobId"]
    assert lifecycle.plan(job_id).chunk_indexes == []
    answer = get("segments", job_id)
    assert answer["JobStatus"] == "FAILED" and "truncated" in answer["StatusMessage"], answer
