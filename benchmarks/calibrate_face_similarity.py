"""Measure SFace's cosine scores on real same-person and different-person face pairs, fit the
different-person (impostor) distribution, and print what models/face_similarity.py and
models/data/FACE_SIMILARITY.md record.

    python benchmarks/calibrate_face_similarity.py [--json out.json]

Identities (each face labelled by where it comes from, never by the model):
  photos   obama.jpg, obama2.jpg, the left face of two_people.jpg (Obama); biden.jpg and the
           right face of two_people.jpg (Biden); lin-manuel-miranda.png; alex-lacamoire.png;
           skimage's astronaut (Eileen Collins)
  party    every face in the group photo of human 3.3.6's assets/samples.jpg (below its strip
           of thumbnails, one of which is the same photo): one person each
  tracks   faces followed across frames (IoU > 0.5 between consecutive sampled frames, 0.1 s
           apart, every track ended at a shot cut) in faces/short_hamilton_clip.mp4 and
           faces/videoretalking_face2.mp4: one person per track
Genuine pairs: two faces of one identity (photo/photo, or two frames of one track at least
0.5 s apart). Impostor pairs: faces of two identities known to differ. The Hamilton clip was
filmed at the White House: Lin-Manuel Miranda and Alex Lacamoire perform and Barack Obama is
in the audience, so its tracks are paired only with identities that are not in it (Collins,
the talking head, the party), never with each other nor with the Obama, Biden, Miranda and
Lacamoire photos.
"""
from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MEDIA = REPO.parent / "shared" / "media" / "faces"
SAMPLES_JPG = ("package/assets/samples.jpg", "cc08cc353cbb38beb0ac32a0900a92e78a3656acb477212ac360e3da6331bb9e")
STRIP_BOTTOM = 0.14  # samples.jpg: the thumbnails end 14 % down the picture
CUT_DIFFERENCE = 25.0  # mean grey-level change between sampled frames that marks a shot cut
# Identities that may appear in the Hamilton clip (see the docstring): never impostors for it.
IN_HAMILTON = {"obama", "biden", "lin", "alex"}


def _rgb(path: Path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"))


def _tracks(video: Path, detector, every: int = 3):
    """(track id, timestamp ms, frame, face) for faces followed by IoU across sampled frames."""
    import av
    import cv2

    open_tracks: dict[int, object] = {}
    next_id = 0
    previous = None
    with av.open(str(video)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index % every:
                continue
            image = frame.to_ndarray(format="rgb24")
            stamp = float(frame.time) * 1000
            thumb = cv2.resize(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), (64, 36), interpolation=cv2.INTER_AREA)
            if previous is not None and float(np.abs(thumb.astype(float) - previous).mean()) > CUT_DIFFERENCE:
                open_tracks = {}  # a shot cut: whoever is at the same place now is someone else
            previous = thumb.astype(float)
            faces = [f for f in detector.detect(image) if f.box.width * image.shape[1] >= 40]
            matched: dict[int, object] = {}
            for face in faces:
                best = max(open_tracks.items(), key=lambda kv: kv[1].box.iou(face.box), default=None)
                if best and best[1].box.iou(face.box) > 0.5 and best[0] not in matched:
                    track = best[0]
                else:
                    track, next_id = next_id, next_id + 1
                matched[track] = face
                yield track, stamp, image, face
            open_tracks = matched


def collect(models_dir: Path):
    """[(identity, group, timestamp, embedding)]; `group` says which identities may be paired."""
    from skimage import data

    from models.catalog import HUMAN
    from models.fetch import fetch_package
    from models.registry import load
    from models.specs import ModelFile

    detector = load("yunet-face", models_dir)
    embedder = load("sface", models_dir)
    rows = []

    def add(identity, group, stamp, image, faces):
        for face, vector in zip(faces, embedder.embed(image, faces), strict=True):
            rows.append((identity, group, stamp, face, vector.vector))

    photos = {"obama.jpg": "obama", "obama2.jpg": "obama", "biden.jpg": "biden",
              "lin-manuel-miranda.png": "lin", "alex-lacamoire.png": "alex"}
    for name, who in photos.items():
        image = _rgb(MEDIA / name)
        add(who, "photos", 0.0, image, detector.detect(image)[:1])
    image = _rgb(MEDIA / "two_people.jpg")
    for face in detector.detect(image):
        add("obama" if face.box.left < 0.5 else "biden", "photos", 0.0, image, [face])
    add("collins", "photos", 0.0, data.astronaut(), detector.detect(data.astronaut())[:1])
    samples = fetch_package(HUMAN, {"samples.jpg": ModelFile(*SAMPLES_JPG)}, models_dir)["samples.jpg"]
    party = _rgb(samples)
    for i, face in enumerate(f for f in detector.detect(party) if f.box.top > STRIP_BOTTOM):
        add(f"party-{i}", "party", 0.0, party, [face])
    for clip, group in (("short_hamilton_clip.mp4", "hamilton"), ("videoretalking_face2.mp4", "talking")):
        for track, stamp, frame, face in _tracks(MEDIA / clip, detector):
            add(f"{group}-track-{track}", group, stamp, frame, [face])
    return rows


def pairs(rows, min_gap_ms: float = 500.0) -> tuple[np.ndarray, np.ndarray]:
    """Cosines of the genuine and impostor pairs among `rows` (see the module docstring)."""
    genuine, impostor = [], []
    for (id_a, group_a, t_a, _, v_a), (id_b, group_b, t_b, _, v_b) in itertools.combinations(rows, 2):
        cosine = float(np.dot(v_a, v_b))
        if id_a == id_b:
            if "track" not in id_a or abs(t_a - t_b) >= min_gap_ms:
                genuine.append(cosine)
            continue
        hamilton = [identity for identity, group in ((id_a, group_a), (id_b, group_b)) if group == "hamilton"]
        others = {id_a, id_b} - set(hamilton)
        if not hamilton or (len(hamilton) == 1 and not others & IN_HAMILTON):
            impostor.append(cosine)
    return np.array(genuine), np.array(impostor)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from jobs.settings import Settings
    from models.face_similarity import THRESHOLDS, SimilarityScale

    rows = collect(Settings().models_dir)
    genuine, impostor = pairs(rows)
    fit = statistics.NormalDist.from_samples(impostor.tolist())
    scale = SimilarityScale(impostor_mean=fit.mean, impostor_std=fit.stdev)
    identities = sorted({r[0] for r in rows})
    # AUC as the probability that a genuine pair outscores an impostor pair (Mann-Whitney).
    auc = float(np.mean(genuine[:, None] > impostor[None, :]) + 0.5 * np.mean(genuine[:, None] == impostor[None, :]))
    at_1_percent = float(np.quantile(impostor, 0.99))
    report = {
        "faces": len(rows), "identities": len(identities), "genuine_pairs": len(genuine),
        "impostor_pairs": len(impostor), "impostor_mean": round(fit.mean, 4), "impostor_std": round(fit.stdev, 4),
        "impostor_max": round(float(impostor.max()), 4), "genuine_min": round(float(genuine.min()), 4),
        "genuine_median": round(float(np.median(genuine)), 4), "auc": round(auc, 4),
        "true_match_rate_at_1pct_false_matches": round(float(np.mean(genuine > at_1_percent)), 4),
        "table": [],
    }
    for threshold in THRESHOLDS:
        cosine = scale.cosine_threshold(threshold)
        report["table"].append({
            "FaceMatchThreshold": threshold, "cosine": round(cosine, 4),
            "modelled_false_match_rate": scale.false_match_rate(cosine),
            "measured_false_matches": int(np.sum(impostor >= cosine)),
            "measured_true_match_rate": round(float(np.mean(genuine >= cosine)), 4),
        })
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
