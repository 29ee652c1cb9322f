"""Collection search latency: pgvector HNSW + exact re-rank (what SearchFaces runs) against an
exact scan, over a collection of N synthetic face vectors.

    python benchmarks/bench_face_search.py [--faces 1000000] [--queries 200]

Starts its own embedded PostgreSQL 18 + pgvector in a temporary folder, migrates it, loads N
synthetic SFace-like vectors into one collection of the real `indexed_faces` table (binary COPY),
builds the shipped HNSW index (m 16, ef_construction 64), then times, for the same queries:

* `jobs.face_index.nearest` as shipped (an exact scan up to EXACT_MAX_ROWS faces, above that
  HNSW candidates, 4x the 10 wanted, re-ranked exactly in numpy), and HNSW at other
  `hnsw.ef_search` values (the search list: recall against latency);
* the exact answer: the same ORDER BY with index scans turned off (a full scan and top-N sort).

Vectors are clustered like faces: N/5 identities, each a random unit centre; a face is its
identity's centre plus noise, renormalised, at cosine ~0.85 to the centre (SFace's genuine pairs
run at a median of 0.87). A query is a fresh face of a random identity. Reports load and build
times, p50/p99 latency of each, and recall@10 of the approximate search against the exact one.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DIM = 128
FACES_PER_IDENTITY = 5
NOISE = 0.62  # per-dimension noise x sqrt(DIM) against a unit centre: cosine ~0.85


def faces(rng: np.random.Generator, centres: np.ndarray, identities: np.ndarray) -> np.ndarray:
    noisy = centres[identities] + rng.normal(scale=NOISE / np.sqrt(DIM), size=(len(identities), DIM))
    return (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--ef-search", default="100,800",
                        help="hnsw.ef_search values to measure (jobs.face_index.EF_SEARCH is the shipped one)")
    args = parser.parse_args()

    import os

    from jobs import embedded

    folder = Path(tempfile.mkdtemp(prefix="bench-face-search-"))
    servers = embedded.start(folder, broker=False)
    try:
        os.environ["FRAMEWISE_DATABASE_URL"] = servers.database_url
        from jobs import face_index
        from jobs.cli import migrate
        from jobs.database import new_session
        from jobs.face_frames import face_model_version
        from jobs.face_index import nearest
        from jobs.records import FaceCollection, IndexedFace
        from models.face_similarity import cosine_threshold

        migrate()
        session = new_session()
        collection = FaceCollection(account="bench", collection_id="bench", face_model_version=face_model_version())
        session.add(collection)
        session.commit()
        pk = collection.id

        rng = np.random.default_rng(0)
        identities = max(1, args.faces // FACES_PER_IDENTITY)
        centres = rng.normal(size=(identities, DIM))
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)

        started = time.perf_counter()
        import psycopg
        from pgvector.psycopg import register_vector

        url = servers.database_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url, autocommit=True) as connection:
            register_vector(connection)
            connection.execute("DROP INDEX ix_indexed_faces_embedding")
            connection.execute("CREATE UNLOGGED TABLE staging (embedding vector(128))")
            with connection.cursor() as cursor, cursor.copy("COPY staging (embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
                copy.set_types(["vector"])
                for start in range(0, args.faces, 50_000):
                    stop = min(args.faces, start + 50_000)
                    for vector in faces(rng, centres, np.arange(start, stop) % identities):
                        copy.write_row([vector])
            connection.execute(
                "INSERT INTO indexed_faces (face_id, collection_pk, image_id, bounding_box, confidence, embedding, "
                "created_at) SELECT gen_random_uuid()::text, %s, gen_random_uuid()::text, '{}'::jsonb, 99.0, "
                "embedding, now() FROM staging", (pk,))
            connection.execute("DROP TABLE staging")
            connection.execute("UPDATE face_collections SET face_count = %s WHERE id = %s", (args.faces, pk))
            loaded = time.perf_counter() - started
            started = time.perf_counter()
            connection.execute("SET maintenance_work_mem = '2GB'")
            connection.execute(
                "CREATE INDEX ix_indexed_faces_embedding ON indexed_faces USING hnsw (embedding vector_cosine_ops) "
                "WITH (m = 16, ef_construction = 64)")
            connection.execute("VACUUM ANALYZE indexed_faces")
            built = time.perf_counter() - started
        print(f"{args.faces} faces ({identities} identities): loaded in {loaded:.0f} s, HNSW built in {built:.0f} s")

        queries = faces(rng, centres, rng.integers(0, identities, size=args.queries))
        where = [IndexedFace.collection_pk == pk]
        from sqlalchemy import select, text

        def approximate(query, rows_filtered=None):
            hits = nearest(session, IndexedFace, query, where=where, limit=args.k, rows_filtered=rows_filtered)
            session.commit()
            return [hit.row.face_id for hit in hits]

        shipped_ef = face_index.EF_SEARCH

        def shipped(query):
            face_index.EF_SEARCH = shipped_ef
            return approximate(query, rows_filtered=args.faces)

        def exact(query):
            session.execute(text("SET LOCAL enable_indexscan = off"))
            session.execute(text("SET LOCAL enable_bitmapscan = off"))
            ids = session.scalars(select(IndexedFace.face_id).where(*where)
                                  .order_by(IndexedFace.embedding.cosine_distance(query)).limit(args.k)).all()
            session.commit()
            return list(ids)

        plan = session.execute(text("EXPLAIN SELECT face_id FROM indexed_faces WHERE collection_pk = :pk "
                                    "ORDER BY embedding <=> CAST(:q AS vector) LIMIT 40"),
                               {"pk": pk, "q": str(queries[0].tolist())}).scalars().all()
        session.commit()
        print("plan:", " / ".join(line.strip()[:90] for line in plan[:2]))
        results = {}
        searches = []
        for ef in (int(v) for v in args.ef_search.split(",")):
            def with_ef(query, ef=ef):
                face_index.EF_SEARCH = ef
                return approximate(query)
            searches.append((f"HNSW ef_search {ef}", with_ef))
        policy = ("exact" if args.faces <= face_index.EXACT_MAX_ROWS else f"HNSW ef_search {shipped_ef}")
        for name, search in ((f"shipped ({policy})", shipped), *searches, ("exact scan", exact)):
            search(queries[0])  # warm the cache
            times, answers = [], []
            for query in queries:
                started = time.perf_counter()
                answers.append(search(query))
                times.append((time.perf_counter() - started) * 1000)
            results[name] = (times, answers)
        truth = results["exact scan"][1]
        # The faces a FaceMatchThreshold of 80 returns, by the exact answer: what users see.
        bound = cosine_threshold(80.0)
        matching = []
        for query, ids in zip(queries, truth, strict=True):
            rows = session.scalars(select(IndexedFace).where(IndexedFace.face_id.in_(ids))).all()
            matching.append({row.face_id for row in rows if float(np.dot(row.embedding, query)) >= bound})
        session.commit()
        for name, (times, answers) in results.items():
            recall = statistics.mean(len(set(a) & set(t)) / len(t) for a, t in zip(answers, truth, strict=True))
            found = sum(len(set(a) & m) for a, m in zip(answers, matching, strict=True))
            print(f"{name:<32} p50 {percentile(times, 50):8.1f} ms   p99 {percentile(times, 99):8.1f} ms   "
                  f"recall@{args.k} {recall:.3f}   matches at threshold 80 found "
                  f"{found}/{sum(len(m) for m in matching)}")
        scan = percentile(results["exact scan"][0], 50)
        for name, (times, _) in results.items():
            print(f"{name:<32} {scan / percentile(times, 50):6.1f}x faster than the exact scan at p50")
        session.close()
    finally:
        servers.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
