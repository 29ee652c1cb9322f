"""Model scores -> Rekognition moderation labels (`ModerationLabel`), honestly and with parents.

Rekognition's moderation taxonomy (version 7) has three levels; `TAXONOMY` below lists every
label with its parent. A model here reports only what it really detects:

* Open NSFW (models/nsfw.py) scores "pornographic or not". It cannot tell nudity from sexual
  activity or from sex toys (the level-2 labels under Explicit), so it reports the level-1 label
  `Explicit` alone, never a more specific child it cannot see.

Everything else in the taxonomy is covered by no packaged model we may use (`NOT_COVERED`) and
is never reported: no faked zeros, no guesses from unrelated labels. `ContentTypes` (Animated,
Illustrated) likewise has no model and is returned empty.

Confidence. The network's output is a posterior under its training data's class balance. On
everyday footage explicit content is far rarer, and the measured tail of everyday frames
reaches P = 0.83 (handheld close-ups of a cockatoo; a dim audience shot at 0.80). The reported
confidence therefore re-weights the posterior for prior odds of 1:9 (Bayes' rule: the logit
moves by -ln 9), so P = 0.9 is 50 %, P = 0.99 is 92 %, P = 0.999 is 99 %, and every everyday
frame measured stays below the default MinConfidence of 50 (the highest at 35 %). There is no
labelled explicit set in any reachable package to fit this further.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from models.outputs import ClassScores

# Rekognition moderation taxonomy v7: label -> parent ("" for the top level).
TAXONOMY: dict[str, str] = {
    "Explicit": "",
    "Explicit Nudity": "Explicit",
    "Exposed Male Genitalia": "Explicit Nudity",
    "Exposed Female Genitalia": "Explicit Nudity",
    "Exposed Buttocks or Anus": "Explicit Nudity",
    "Exposed Female Nipple": "Explicit Nudity",
    "Explicit Sexual Activity": "Explicit",
    "Sex Toys": "Explicit",
    "Non-Explicit Nudity of Intimate parts and Kissing": "",
    "Non-Explicit Nudity": "Non-Explicit Nudity of Intimate parts and Kissing",
    "Bare Back": "Non-Explicit Nudity",
    "Exposed Male Nipple": "Non-Explicit Nudity",
    "Partially Exposed Buttocks": "Non-Explicit Nudity",
    "Partially Exposed Female Breast": "Non-Explicit Nudity",
    "Implied Nudity": "Non-Explicit Nudity",
    "Obstructed Intimate Parts": "Non-Explicit Nudity of Intimate parts and Kissing",
    "Obstructed Female Nipple": "Obstructed Intimate Parts",
    "Obstructed Male Genitalia": "Obstructed Intimate Parts",
    "Kissing on the Lips": "Non-Explicit Nudity of Intimate parts and Kissing",
    "Swimwear or Underwear": "",
    "Female Swimwear or Underwear": "Swimwear or Underwear",
    "Male Swimwear or Underwear": "Swimwear or Underwear",
    "Violence": "",
    "Weapons": "Violence",
    "Graphic Violence": "Violence",
    "Weapon Violence": "Graphic Violence",
    "Physical Violence": "Graphic Violence",
    "Self-Harm": "Graphic Violence",
    "Blood & Gore": "Graphic Violence",
    "Explosions and Blasts": "Graphic Violence",
    "Visually Disturbing": "",
    "Death and Emaciation": "Visually Disturbing",
    "Emaciated Bodies": "Death and Emaciation",
    "Corpses": "Death and Emaciation",
    "Crashes": "Visually Disturbing",
    "Air Crash": "Crashes",
    "Drugs & Tobacco": "",
    "Products": "Drugs & Tobacco",
    "Pills": "Products",
    "Drugs & Tobacco Paraphernalia & Use": "Drugs & Tobacco",
    "Smoking": "Drugs & Tobacco Paraphernalia & Use",
    "Alcohol": "",
    "Alcohol Use": "Alcohol",
    "Drinking": "Alcohol Use",
    "Alcoholic Beverages": "Alcohol",
    "Rude Gestures": "",
    "Middle Finger": "Rude Gestures",
    "Gambling": "",
    "Hate Symbols": "",
    "Nazi Party": "Hate Symbols",
    "White Supremacy": "Hate Symbols",
    "Extremist": "Hate Symbols",
}

# What each model's score is reported as.
OPEN_NSFW_LABEL = "Explicit"
COVERED = frozenset({OPEN_NSFW_LABEL})
NOT_COVERED = tuple(name for name in TAXONOMY if name not in COVERED)

# Prior odds of explicit content assumed for the calibration above (1 in 10 frames).
EXPLICIT_PRIOR_ODDS = 1 / 9


def taxonomy_level(name: str) -> int:
    level = 1
    while TAXONOMY[name]:
        name = TAXONOMY[name]
        level += 1
    return level


def calibrated_confidence(probability: float, prior_odds: float = EXPLICIT_PRIOR_ODDS) -> float:
    """Percent confidence from a posterior trained on balanced classes, for the given prior odds."""
    p = min(max(float(probability), 1e-7), 1 - 1e-7)
    logit = math.log(p / (1 - p)) + math.log(prior_odds)
    return 100.0 / (1.0 + math.exp(-logit))


def open_nsfw_confidences(scores: ClassScores) -> dict[str, float]:
    """Open NSFW's ClassScores -> {moderation label: percent confidence}."""
    return {OPEN_NSFW_LABEL: calibrated_confidence(scores.get("nsfw"))}


def moderation_labels(confidences: Mapping[str, float], min_confidence: float = 50.0) -> list[dict]:
    """`ModerationLabel` dicts for detected labels and all their ancestors, at or above min_confidence.

    An ancestor is reported with the highest confidence among its detected descendants (as the
    service pairs `Male Swimwear Or Underwear` with `Suggestive` at the same confidence). Most
    specific first, then by name.
    """
    unknown = [name for name in confidences if name not in TAXONOMY]
    if unknown:
        raise KeyError(f"not in the moderation taxonomy: {unknown}")
    best: dict[str, float] = {}
    for name, confidence in confidences.items():
        while name:
            best[name] = max(best.get(name, 0.0), float(confidence))
            name = TAXONOMY[name]
    labels = [{"Name": name, "ParentName": TAXONOMY[name], "TaxonomyLevel": taxonomy_level(name),
               "Confidence": confidence} for name, confidence in best.items() if confidence >= min_confidence]
    return sorted(labels, key=lambda label: (-label["TaxonomyLevel"], label["Name"]))


def frame_moderation_labels(scores: Iterable[ClassScores], min_confidence: float = 50.0) -> list[list[dict]]:
    """Per frame of an Open NSFW batch, the frame's `ModerationLabel` dicts."""
    return [moderation_labels(open_nsfw_confidences(s), min_confidence) for s in scores]
