"""Training a Custom Labels project version, on a worker (the `framewise.train_project_version`
task): features of every labelled image from the frozen MobileNetV2 backbone, a linear head fitted
on the TRAIN dataset, evaluated on the TEST dataset (or, when the project has none, on a fifth of
the training images, per label, held apart), and the result written under the version's output
location as files the user owns:

  <prefix><project>/<version>/model.npz    the head (standardisation, weights, bias, label names)
  <prefix><project>/<version>/labels.json  the label map
  <prefix>EvaluationResultSummary-<project>-<version>.json   the evaluation summary

The task is idempotent (a redelivered run writes the same files) and stops when the version is
deleted meanwhile. Datasets with boxes train a detector instead (models/custom_detector.py):
YOLOX proposals re-classified by a head over the user's labels and a background class.
"""
from __future__ import annotations

import io
import json
import logging
import random
import time

import numpy as np
from sqlalchemy import select

from jobs import errors, images, storage
from jobs.custom_manifest import split_s3_uri
from jobs.database import session_scope
from jobs.records import CustomDataset, CustomDatasetEntry, CustomProject, CustomProjectVersion, utcnow

log = logging.getLogger(__name__)

BACKBONE = "mobilenet-v2-imagenet"
MAX_IMAGE_BYTES = 15 * 1024 * 1024
AUTO_TEST_SHARE = 0.2


class TrainingFailed(Exception):
    """A reason the user can act on, shown as the version's StatusMessage."""


def image_features(inference, frames: list[np.ndarray]) -> np.ndarray:
    """(N, 1280) backbone features, one image at a time (they differ in size)."""
    model = inference.model(BACKBONE)
    return np.concatenate([model.embeddings(frame[None]) for frame in frames])


def _load_image(source_ref: str) -> np.ndarray:
    bucket, key = split_s3_uri(source_ref)
    try:
        return images.decode_image(storage.read_object(storage.VideoRef(bucket, key), max_bytes=MAX_IMAGE_BYTES))
    except errors.ClientError as error:
        raise TrainingFailed(f"The image {source_ref} could not be read: {error.message}") from error


def _split(entries: list[tuple], seed: int):
    """A fifth of each label's entries held apart for testing (the same split on every run)."""
    by_label: dict[str, list] = {}
    for entry in entries:
        by_label.setdefault(min(entry[1]), []).append(entry)
    train, test = [], []
    shuffle = random.Random(seed)
    for group in by_label.values():
        shuffle.shuffle(group)
        held = max(1, round(len(group) * AUTO_TEST_SHARE)) if len(group) > 1 else 0
        test.extend(group[:held])
        train.extend(group[held:])
    return train, test


def _progress(version_id: int, stage: str, done: int, total: int) -> None:
    """Say how far training is (StatusMessage); stop when the version was deleted meanwhile."""
    with session_scope() as session:
        version = session.get(CustomProjectVersion, version_id, with_for_update=True)
        if version is None or version.status != "TRAINING_IN_PROGRESS":
            raise TrainingFailed("deleted")
        version.status_message = f"Training in progress: {stage}, {done} of {total} images."
        version.progress_at = utcnow()


def stalled(older_than_seconds: float) -> list[int]:
    """Versions still training that nothing has touched for longer than a task may run (the
    message was never queued, or every worker that took it died); marked as touched now, so the
    caller re-sends each once per period."""
    import datetime as dt

    from sqlalchemy import update

    cutoff = utcnow() - dt.timedelta(seconds=older_than_seconds)
    with session_scope() as session:
        return list(session.scalars(update(CustomProjectVersion).where(
            CustomProjectVersion.status == "TRAINING_IN_PROGRESS", CustomProjectVersion.progress_at < cutoff)
            .values(progress_at=utcnow()).returning(CustomProjectVersion.id)))


def _features(inference, entries, version_id: int, stage: str) -> np.ndarray:
    out = []
    for index, (source_ref, *_rest) in enumerate(entries):
        if index % 16 == 0:
            _progress(version_id, stage, index, len(entries))
        out.append(image_features(inference, [_load_image(source_ref)]))
    return np.concatenate(out) if out else np.zeros((0, 1280), np.float32)


def _npz(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def train(version_id: int, inference) -> None:
    """Train, evaluate and store one version; its row ends TRAINING_COMPLETED or TRAINING_FAILED."""
    started = time.monotonic()
    with session_scope() as session:
        version = session.get(CustomProjectVersion, version_id)
        if version is None or version.status != "TRAINING_IN_PROGRESS":
            return
        project = session.get(CustomProject, version.project_pk)
        datasets = {d.dataset_type: d.id for d in session.scalars(
            select(CustomDataset).where(CustomDataset.project_pk == project.id))}
        rows = {kind: [(e.source_ref, tuple(e.labels), e.boxes, e.entry) for e in session.scalars(
            select(CustomDatasetEntry).where(CustomDatasetEntry.dataset_pk == pk).order_by(CustomDatasetEntry.id))]
            for kind, pk in datasets.items()}
        where = (version.output_bucket, version.output_prefix, project.name, version.version_name, version.version_arn)
    bucket, prefix, project_name, version_name, arn = where
    try:
        if any(boxes for entries in rows.values() for _, _, boxes, _ in entries):
            head, metrics, kind, counts = _train_detector(rows, version_id, inference)
        else:
            head, metrics, kind, counts = _train_classifier(rows, version_id, inference)
    except TrainingFailed as failure:
        if str(failure) != "deleted":
            _finish(version_id, "TRAINING_FAILED", str(failure), None, time.monotonic() - started)
        return
    folder = f"{prefix}{project_name}/{version_name}/"
    model_key, summary_key = folder + "model.npz", f"{prefix}EvaluationResultSummary-{project_name}-{version_name}.json"
    thresholds = {m["Label"]: m["Metrics"]["Threshold"] for m in metrics["LabelEvaluationResults"]}
    summary = {"Version": 1, **metrics, "EvaluationDetails": {
        "EvaluationEndTimestamp": utcnow().isoformat(), "Labels": sorted(thresholds), "ProjectVersionArn": arn,
        "NumberOfTrainingImages": counts[0], "NumberOfTestingImages": counts[1], "BackboneModel": BACKBONE}}
    storage.write_object(storage.VideoRef(bucket, model_key), _npz(head.to_arrays()))
    storage.write_object(storage.VideoRef(bucket, folder + "labels.json"),
                         json.dumps({"Kind": kind, "Labels": sorted(thresholds), "Thresholds": thresholds,
                                     "ProjectVersionArn": arn}).encode())
    storage.write_object(storage.VideoRef(bucket, summary_key), json.dumps(summary, indent=1).encode())
    evaluation = {"F1Score": metrics["AggregatedEvaluationResults"]["F1Score"],
                  "Summary": {"Bucket": bucket, "Name": summary_key}, "Model": model_key}
    _finish(version_id, "TRAINING_COMPLETED", "The model is ready to run.", evaluation, time.monotonic() - started)
    log.info("trained %s (%s): %d train / %d test images, F1 %.3f, %.1f s", arn, kind, *counts,
             evaluation["F1Score"], time.monotonic() - started)


def _sets(rows: dict):
    """(train, test) entries, the test set held apart from the training set when there is none."""
    labelled = {kind: [entry for entry in entries if entry[1]] for kind, entries in rows.items()}
    train_set, test_set = labelled.get("TRAIN", []), labelled.get("TEST", [])
    if not test_set:
        train_set, test_set = _split(train_set, len(train_set))
    return train_set, test_set


def _train_classifier(rows: dict, version_id: int, inference):
    from models.custom_head import evaluate, fit

    train_set, test_set = _sets(rows)
    names = sorted({label for _, labels, *_ in train_set for label in labels})
    if len(names) < 2:
        raise TrainingFailed(f"The training dataset has {len(names)} label(s); at least 2 are needed.")
    train_features = _features(inference, train_set, version_id, "training images")
    test_features = _features(inference, test_set, version_id, "testing images")
    rows_x = [train_features[i] for i, (_, labels, *_) in enumerate(train_set) for _ in labels]
    rows_y = [label for _, labels, *_ in train_set for label in labels]
    head = fit(np.stack(rows_x), rows_y, seed=version_id)
    metrics = evaluate(head, head.probabilities(test_features), [set(labels) for _, labels, *_ in test_set])
    return head, metrics, "classification", (len(train_set), len(test_set))


def _train_detector(rows: dict, version_id: int, inference):
    """Proposals of every training image labelled by the true boxes they overlap (or background),
    a head fitted on their crops, evaluated as a detector on the test images."""
    from jobs.custom_manifest import boxes_of
    from models import custom_detector
    from models.custom_head import fit

    train_set, test_set = _sets(rows)
    yolox = inference.model(custom_detector.PROPOSER)
    examples_x, examples_y = [], []
    for index, (source_ref, _labels, _boxes, line) in enumerate(train_set):
        if index % 8 == 0:
            _progress(version_id, "training images", index, len(train_set))
        frame = _load_image(source_ref)
        truth = boxes_of(line)
        examples = custom_detector.training_examples(
            custom_detector.proposals(yolox, frame), np.array([box for box, _ in truth]).reshape(-1, 4),
            [label for _, label in truth])
        crops = [custom_detector.square_crop(frame, box) for box, _ in examples]
        examples_x.extend(image_features(inference, crops))
        examples_y.extend(label for _, label in examples)
    if len(set(examples_y) - {custom_detector.BACKGROUND}) < 1:
        raise TrainingFailed("The training dataset has no labelled boxes.")
    head = fit(np.stack(examples_x), examples_y, seed=version_id)
    predicted, truth = [], []
    _progress(version_id, "testing images", 0, len(test_set))
    for source_ref, _labels, _boxes, line in test_set:
        frame = _load_image(source_ref)
        predicted.append(detect_objects(inference, head, frame))
        truth.append([(np.array(box), label) for box, label in boxes_of(line)])
    labels = [name for name in head.labels if name != custom_detector.BACKGROUND]
    return head, custom_detector.evaluate(labels, predicted, truth), "detection", (len(train_set), len(test_set))


def detect_objects(inference, head, frame: np.ndarray) -> list[tuple]:
    """(box, label, probability) of one frame: proposals re-classified by the trained head."""
    from models import custom_detector

    candidates = custom_detector.proposals(inference.model(custom_detector.PROPOSER), frame)
    if not len(candidates):
        return []
    features = image_features(inference, [custom_detector.square_crop(frame, box) for box in candidates])
    return custom_detector.detections(head, candidates, features)


def _finish(version_id: int, status: str, message: str, evaluation: dict | None, seconds: float) -> None:
    with session_scope() as session:
        version = session.get(CustomProjectVersion, version_id, with_for_update=True)
        if version is None or version.status != "TRAINING_IN_PROGRESS":
            return
        version.status, version.status_message, version.evaluation = status, message, evaluation
        version.training_seconds, version.training_ended_at = seconds, utcnow()


def fail(version_id: int, message: str) -> None:
    _finish(version_id, "TRAINING_FAILED", message, None, 0.0)
