"""move label detections into results (data only)

Every label job gets its job_analyses row (its MinConfidence and label filters, the 2 fps it was
sampled at, the model version it recorded), each label_detections row becomes a TIMESTAMPS result,
and a finished job's SEGMENTS rows are built once here, as finalize builds them for new jobs: a
label's sightings stay in one segment while they are at most 1.5 sampling intervals apart, with
the segment's highest-confidence Label less its Instances.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 08:55:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SAMPLE_FPS = 2.0  # what every job before this revision ran at (the default; the setting was never changed per job)
MAX_GAP_MILLIS = int(1000 / SAMPLE_FPS * 1.5)


def upgrade() -> None:
    op.execute(f"""
        INSERT INTO job_analyses (job_id, analysis, options, sample_fps, model_versions)
        SELECT id, 'labels',
               jsonb_strip_nulls(jsonb_build_object(
                   'MinConfidence', COALESCE((params->>'MinConfidence')::float, 50.0),
                   'Settings', params->'Settings')),
               {SAMPLE_FPS},
               CASE WHEN model_version IS NULL THEN '{{}}'::jsonb
                    ELSE jsonb_build_object('centernet-coco', model_version) END
        FROM jobs WHERE operation = 'StartLabelDetection'
    """)
    op.execute("""
        INSERT INTO results (job_id, analysis, chunk_index, aggregate, timestamp_millis, group_key, rank, item)
        SELECT job_id, 'labels', chunk_index, 'TIMESTAMPS', timestamp_millis, name, 100.0 - confidence,
               jsonb_build_object('Timestamp', timestamp_millis, 'Label', label::jsonb)
        FROM label_detections ORDER BY id
    """)
    op.execute(f"""
        WITH sightings AS (
            SELECT d.job_id, d.name, d.timestamp_millis AS ts, d.confidence, d.id, d.label::jsonb AS label,
                   CASE WHEN d.timestamp_millis - lag(d.timestamp_millis) OVER w > {MAX_GAP_MILLIS}
                        THEN 1 ELSE 0 END AS starts_segment
            FROM label_detections d JOIN jobs j ON j.id = d.job_id
            WHERE j.phase = 'succeeded'
            WINDOW w AS (PARTITION BY d.job_id, d.name ORDER BY d.timestamp_millis, d.id)
        ), numbered AS (
            SELECT *, sum(starts_segment) OVER (PARTITION BY job_id, name ORDER BY ts, id) AS segment
            FROM sightings
        ), segments AS (
            SELECT job_id, name, min(ts) AS start_ms, max(ts) AS end_ms,
                   (array_agg(label - 'Instances' ORDER BY confidence DESC, ts, id))[1] AS label,
                   max(confidence) AS confidence
            FROM numbered GROUP BY job_id, name, segment
        )
        INSERT INTO results (job_id, analysis, chunk_index, aggregate, timestamp_millis, group_key, rank, item)
        SELECT job_id, 'labels', NULL, 'SEGMENTS', start_ms, name, 100.0 - confidence,
               jsonb_build_object('Timestamp', start_ms, 'Label', label, 'StartTimestampMillis', start_ms,
                                  'EndTimestampMillis', end_ms, 'DurationMillis', end_ms - start_ms)
        FROM segments ORDER BY job_id, start_ms, name
    """)


def downgrade() -> None:
    op.execute("""
        INSERT INTO label_detections (job_id, chunk_index, timestamp_millis, name, confidence, label)
        SELECT job_id, chunk_index, timestamp_millis, group_key, 100.0 - rank, (item->'Label')::json
        FROM results WHERE analysis = 'labels' AND aggregate = 'TIMESTAMPS' ORDER BY id
    """)
    op.execute("DELETE FROM results WHERE analysis = 'labels'")
    op.execute("""
        UPDATE jobs SET model_version = a.model_versions->>'centernet-coco'
        FROM job_analyses a WHERE a.job_id = jobs.id AND a.analysis = 'labels'
    """)
    op.execute("DELETE FROM job_analyses WHERE analysis = 'labels'")
