"""Nearest faces by cosine in PostgreSQL: pgvector's HNSW index finds candidates, numpy re-ranks them exactly.

The HNSW graph (jobs/records.py) answers `ORDER BY embedding <=> q LIMIT k` in roughly
logarithmic time but may miss or misorder true neighbours. So a search asks it for
CANDIDATE_FACTOR times more rows than wanted, with a search list (`hnsw.ef_search`) of at least
EF_SEARCH, recomputes each candidate's cosine exactly in float64 and keeps the best. EF_SEARCH
trades latency for recall: benchmarks/bench_face_search.py measures both. With a filter (one collection
among many) pgvector's iterative index scan keeps reading the graph until enough rows pass it;
on a small collection PostgreSQL's planner reads the collection's rows and sorts them exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

CANDIDATE_FACTOR = 4
MIN_CANDIDATES = 40
EF_SEARCH = 200
MAX_EF_SEARCH = 1000  # pgvector's limit


@dataclass(frozen=True)
class Hit:
    row: object  # the ORM row (IndexedFace, CelebrityFace)
    cosine: float


def unit(vector) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float64).reshape(-1)
    return v / max(float(np.linalg.norm(v)), 1e-12)


def nearest(session: Session, table, vector, *, where=(), limit: int, min_cosine: float = -1.0) -> list[Hit]:
    """The `limit` rows of `table` most similar to `vector` with cosine >= min_cosine, best first."""
    if limit <= 0:
        return []
    query = unit(vector)
    candidates = max(limit * CANDIDATE_FACTOR, MIN_CANDIDATES)
    session.execute(text(f"SET LOCAL hnsw.ef_search = {min(max(candidates, EF_SEARCH), MAX_EF_SEARCH)}"))
    session.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
    distance = table.embedding.cosine_distance(query.astype(np.float32))
    rows = session.scalars(select(table).where(*where).order_by(distance).limit(candidates)).all()
    if not rows:
        return []
    vectors = np.stack([unit(row.embedding) for row in rows])
    cosines = vectors @ query
    order = np.argsort(-cosines, kind="stable")
    return [Hit(rows[i], float(cosines[i])) for i in order[:limit] if cosines[i] >= min_cosine]
