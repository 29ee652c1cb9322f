"""Nearest faces by cosine in PostgreSQL: pgvector's HNSW index finds candidates, numpy re-ranks them exactly.

The HNSW graph (jobs/records.py) answers `ORDER BY embedding <=> q LIMIT k` in roughly
logarithmic time but may miss or misorder true neighbours. So a search asks it for
CANDIDATE_FACTOR times more rows than wanted, with a search list (`hnsw.ef_search`) of at least
EF_SEARCH, recomputes each candidate's cosine exactly in float64 and keeps the best. EF_SEARCH
trades latency for recall: benchmarks/bench_face_search.py measures both.

Below EXACT_MAX_ROWS rows an exact search is fast enough and never misses, so a caller that knows
how many rows its filter leaves (a collection's face count) gets an exact scan there: on 1M
synthetic faces HNSW at the shipped settings found ~80 % of the matches an exact scan finds (the
synthetic clusters are a worst case for graph search), on 100k all of them. With a filter (one collection
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
EF_SEARCH = 400
EXACT_MAX_ROWS = 200_000  # an exact scan of this many faces took ~100 ms on the 2-core test box
MAX_EF_SEARCH = 1000  # pgvector's limit


@dataclass(frozen=True)
class Hit:
    row: object  # the ORM row (IndexedFace, CelebrityFace)
    cosine: float


def unit(vector) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float64).reshape(-1)
    return v / max(float(np.linalg.norm(v)), 1e-12)


def nearest(session: Session, table, vector, *, where=(), limit: int, min_cosine: float = -1.0,
            rows_filtered: int | None = None) -> list[Hit]:
    """The `limit` rows of `table` most similar to `vector` with cosine >= min_cosine, best first.
    `rows_filtered`: how many rows `where` leaves, if known (small sets are searched exactly)."""
    if limit <= 0:
        return []
    query = unit(vector)
    distance = table.embedding.cosine_distance(query.astype(np.float32))
    if rows_filtered is not None and rows_filtered <= EXACT_MAX_ROWS:
        # `+ 0` hides the ordering from the HNSW index: the filter's own index, then a top-N sort.
        rows = session.scalars(select(table).where(*where).order_by(distance + 0).limit(limit)).all()
    else:
        candidates = max(limit * CANDIDATE_FACTOR, MIN_CANDIDATES)
        session.execute(text(f"SET LOCAL hnsw.ef_search = {min(max(candidates, EF_SEARCH), MAX_EF_SEARCH)}"))
        session.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
        rows = session.scalars(select(table).where(*where).order_by(distance).limit(candidates)).all()
    if not rows:
        return []
    vectors = np.stack([unit(row.embedding) for row in rows])
    cosines = vectors @ query
    order = np.argsort(-cosines, kind="stable")
    return [Hit(rows[i], float(cosines[i])) for i in order[:limit] if cosines[i] >= min_cosine]
