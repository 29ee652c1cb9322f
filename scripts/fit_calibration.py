"""Fit the confidence curves in models/data/calibration.json on the hand-labelled image set.

    python scripts/fit_calibration.py [--write]

Runs each label model over benchmarks/label_set.json, turns its output into per-label raw
evidence (models/label_fusion.py: a detector's best box score per label, a classifier's summed
class probability per label), marks each label right or wrong against the hand labels (an
expected or allowed label, or an ancestor of one, is right) and fits an isotonic curve per model
(models/calibration.py). Prints each curve, and how well a curve fitted on one fold of the set
predicts the other fold (share of right labels per confidence band); --write stores the curves
fitted on both folds.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import label_set
from models.calibration import fit_isotonic

OUTPUT = REPO / "models" / "data" / "calibration.json"
MODELS = ("centernet-coco", "yolox-nano-coco", "efficientnet-lite3-imagenet", "mobilenet-v2-imagenet")
DETECTOR_MIN_SCORE = 0.05  # keep weak boxes too: the curve, not the model's default, decides


def run_models(names=MODELS, threads: int = 2) -> dict[str, dict]:
    """Model name -> {item: its output} over the whole labelled set (no downloads)."""
    import torch

    from jobs.settings import Settings
    from models.catalog import spec
    from models.fetch import missing
    from models.registry import load

    torch.set_num_threads(threads)
    models_dir = Settings().models_dir
    absent = missing([spec(name) for name in names], models_dir)
    if absent:
        raise SystemExit(f"models not fetched: {', '.join(absent)}; run `framewise models fetch` first")
    outputs: dict[str, dict] = {}
    for name in names:
        model = load(name, models_dir, "cpu")
        if spec(name).kind == "boxes":
            model.min_score = DETECTOR_MIN_SCORE
        outputs[name] = {item: model.predict(label_set.image(item)[None])[0] for item in label_set.items()}
    return outputs


def reliability(curve, raws, rights) -> list[str]:
    """Rows of (confidence band, labels in it, share right) for samples scored by `curve`."""
    rows = []
    for low in range(0, 100, 20):
        high = low + 20
        band = [r for raw, r in zip(raws, rights, strict=True) if low <= curve(raw) < high or (high == 100 and curve(raw) == 100)]
        if band:
            rows.append(f"    {low:3d}-{high:<3d} n={len(band):4d} right={sum(band) / len(band):.2f}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="store the curves in models/data/calibration.json")
    args = parser.parse_args()
    outputs = run_models()
    fitted = {}
    for name, by_item in outputs.items():
        raws, rights = label_set.samples(by_item)
        curve = fit_isotonic(raws, rights)
        fitted[name] = {"method": "isotonic", "samples": len(raws), "right": int(sum(rights)),
                        "raw": list(curve.raw), "confidence": list(curve.confidence)}
        print(f"{name}: {len(raws)} label samples, {int(sum(rights))} right; MinConfidence 50 = raw "
              f"{curve.raw_for(50):.3f}")
        print("  knots:", ", ".join(f"{r:.3f}->{c:.0f}" for r, c in zip(curve.raw, curve.confidence, strict=True)))
        held_out = []  # (confidence from a curve that never saw the image, right)
        for fold in label_set.FOLDS:
            train = {item: out for item, out in by_item.items() if item.fold != fold}
            test_raws, test_rights = label_set.samples({item: o for item, o in by_item.items() if item.fold == fold})
            fold_curve = fit_isotonic(*label_set.samples(train))
            held_out += [(fold_curve(raw) / 100, right) for raw, right in zip(test_raws, test_rights, strict=True)]
            print(f"  fitted without fold {fold}, scored on it:")
            print("\n".join(reliability(fold_curve, test_raws, test_rights)))
        print("  both folds, each scored by the curve fitted on the other:")
        print("\n".join(reliability(lambda p: 100 * p, *zip(*held_out, strict=True))))
    if args.write:
        about = ("Isotonic confidence curves (raw score knots -> percent right, linear between knots, flat "
                 "beyond), fitted by scripts/fit_calibration.py on benchmarks/label_set.json. See "
                 "models/data/CALIBRATION.md.")
        text = json.dumps({"_about": about, "models": fitted}, indent=1)
        OUTPUT.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
