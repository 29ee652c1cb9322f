"""Custom Labels in this process, with the real backbone, real frames and a real PostgreSQL:
manifests (good and bad), datasets and their 80/20 split, training and evaluation on the
worker's code, DetectCustomLabels' worker half, and the not-ready/in-use errors."""
from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select, update

from jobs import custom_manifest, custom_training, errors, images
from jobs.custom_projects import DETECT_FUNCTION
from jobs.database import session_scope
from jobs.engine import Inference
from jobs.operations import handlers
from jobs.records import CustomProjectVersion
from tests.jobs.custom_label_frames import classification_line, dataset
from tests.jobs.custom_label_frames import frames as frames_of

ACCOUNT = "AKIDUNIT000000000001"
OTHER = "AKIDUNIT000000000002"
PER_LABEL, HELD = 12, 2


def call(op: str, params: dict, account: str = ACCOUNT) -> dict:
    with session_scope() as session:
        return handlers()[op](session, account, params)


@pytest.fixture(scope="module")
def inference(models_dir) -> Inference:
    return Inference(models_dir, "cpu")


@pytest.fixture(scope="module")
def frames():
    return dataset(PER_LABEL, HELD)


@pytest.fixture
def folder(framewise_env):
    name = f"custom-{secrets.token_hex(3)}"
    path = framewise_env.bucket_root / "unit" / name
    path.mkdir()
    return name, path


def write_manifest(folder, lines: list[str], name: str = "train.manifest") -> dict:
    (folder[1] / name).write_text("\n".join(lines) + "\n")
    return {"GroundTruthManifest": {"S3Object": {"Bucket": "unit", "Name": f"{folder[0]}/{name}"}}}


def classification_manifest(folder, frames) -> dict:
    lines = []
    for index, (label, (kept, _held)) in enumerate(sorted(frames.items())):
        for number, jpeg in enumerate(kept):
            (folder[1] / f"{label}-{number}.jpg").write_bytes(jpeg)
            lines.append(classification_line(f"s3://unit/{folder[0]}/{label}-{number}.jpg", label, index))
    return write_manifest(folder, lines)


def detection_line(source_ref: str, boxes: list[tuple], width=320, height=180) -> str:
    return json.dumps({"source-ref": source_ref, "bounding-box": {
        "image_size": [{"width": width, "height": height, "depth": 3}],
        "annotations": [{"class_id": c, "left": l, "top": t, "width": w, "height": h} for c, l, t, w, h in boxes]},
        "bounding-box-metadata": {"objects": [{"confidence": 1} for _ in boxes], "class-map": {"0": "bottle"},
                                  "type": "groundtruth/object-detection", "human-annotated": "yes",
                                  "creation-date": "2026-11-29T12:00:00", "job-name": "labeling-job/boxes"}})


def version_id(arn: str) -> int:
    with session_scope() as session:
        return session.scalar(select(CustomProjectVersion.id).where(CustomProjectVersion.version_arn == arn))


# ---------------------------------------------------------------------------------------------


def test_manifest_errors_are_reported_per_line_with_a_reason():
    lines = [
        classification_line("s3://unit/a.jpg", "dog", 0),
        "{not json",
        classification_line("s3://unit/missing.jpg", "dog", 0),
        json.dumps({"source-ref": "/local/path.jpg"}),
        detection_line("s3://unit/b.jpg", [(0, 300, 10, 50, 50)]),
        detection_line("s3://unit/b.jpg", [(7, 10, 10, 50, 50)]),
        "",
        json.dumps({"source-ref": "s3://unit/c.jpg"}),  # unlabelled: allowed
    ]
    manifest = custom_manifest.parse(lines, lambda bucket, key: key != "missing.jpg")
    assert [e.source_ref for e in manifest.entries] == ["s3://unit/a.jpg", "s3://unit/c.jpg"]
    assert manifest.errors[0].startswith("line 2: not valid JSON")
    assert manifest.errors[1] == "line 3: the image s3://unit/missing.jpg is not there"
    assert manifest.errors[2] == "line 4: source-ref must be an s3://bucket/key URI"
    assert manifest.errors[3].startswith("line 5: box 1 of 'bounding-box' (300, 10, 50x50) is outside the 320x180")
    assert manifest.errors[4].startswith("line 6: box 1 of 'bounding-box' needs class_id (in the class-map)")
    rules = custom_manifest.check_training_rules(manifest.entries)
    assert rules == ["the dataset has 1 label(s); at least 2 are needed",
                     "label 'dog' has 1 image(s); at least 10 are needed"]


def test_a_bad_manifest_imports_nothing_and_says_why(folder, frames):
    project = call("CreateProject", {"ProjectName": folder[0]})["ProjectArn"]
    good = classification_manifest(folder, frames)
    lines = (folder[1] / "train.manifest").read_text().splitlines()
    lines[3] = lines[3].replace(".jpg", "-gone.jpg")
    source = write_manifest(folder, lines, "bad.manifest")
    arn = call("CreateDataset", {"ProjectArn": project, "DatasetType": "TRAIN", "DatasetSource": source})["DatasetArn"]
    described = call("DescribeDataset", {"DatasetArn": arn})["DatasetDescription"]
    assert described["Status"] == "CREATE_FAILED" and described["StatusMessageCode"] == "CLIENT_ERROR"
    assert "line 4: the image s3://unit/" in described["StatusMessage"] and "-gone.jpg is not there" in \
        described["StatusMessage"]
    assert described["DatasetStats"]["TotalEntries"] == 0
    call("DeleteDataset", {"DatasetArn": arn})
    with pytest.raises(errors.ResourceNotFound):
        call("DescribeDataset", {"DatasetArn": arn})
    # Too few images of one label for training: refused as a whole, too.
    good_lines = (folder[1] / "train.manifest").read_text().splitlines()
    dogs = [line for line in good_lines if '"class-name": "dog"' in line]
    few = write_manifest(folder, [line for line in good_lines if line not in dogs] + dogs[:4], "few.manifest")
    arn = call("CreateDataset", {"ProjectArn": project, "DatasetType": "TRAIN", "DatasetSource": few})["DatasetArn"]
    message = call("DescribeDataset", {"DatasetArn": arn})["DatasetDescription"]["StatusMessage"]
    assert "label 'dog' has 4 image(s); at least 10 are needed" in message
    call("DeleteDataset", {"DatasetArn": arn})
    ok = call("CreateDataset", {"ProjectArn": project, "DatasetType": "TRAIN", "DatasetSource": good})["DatasetArn"]
    assert call("DescribeDataset", {"DatasetArn": ok})["DatasetDescription"]["Status"] == "CREATE_COMPLETE"
    call("DeleteProject", {"ProjectArn": project})


def test_object_detection_manifest_counts_boxes(folder, frames):
    project = call("CreateProject", {"ProjectName": folder[0]})["ProjectArn"]
    lines = []
    for number, jpeg in enumerate(frames["bottles"][0][:3]):
        (folder[1] / f"b{number}.jpg").write_bytes(jpeg)
        lines.append(detection_line(f"s3://unit/{folder[0]}/b{number}.jpg", [(0, 60, 40, 40, 90), (0, 150, 40, 40, 90)]))
    arn = call("CreateDataset", {"ProjectArn": project, "DatasetType": "TEST",
                                 "DatasetSource": write_manifest(folder, lines)})["DatasetArn"]
    assert call("ListDatasetLabels", {"DatasetArn": arn})["DatasetLabelDescriptions"] == [
        {"LabelName": "bottle", "LabelStats": {"EntryCount": 3, "BoundingBoxCount": 6}}]
    entries = call("ListDatasetEntries", {"DatasetArn": arn, "MaxResults": 2})
    assert len(entries["DatasetEntries"]) == 2 and "NextToken" in entries
    assert json.loads(entries["DatasetEntries"][0])["bounding-box-metadata"]["class-map"] == {"0": "bottle"}
    rest = call("ListDatasetEntries", {"DatasetArn": arn, "NextToken": entries["NextToken"]})
    assert len(rest["DatasetEntries"]) == 1 and "NextToken" not in rest
    # UpdateDatasetEntries: one entry replaced (same source-ref, one box now), one bad change refused whole.
    change = detection_line(f"s3://unit/{folder[0]}/b0.jpg", [(0, 60, 40, 40, 90)])
    call("UpdateDatasetEntries", {"DatasetArn": arn, "Changes": {"GroundTruth": base64.b64encode(
        change.encode()).decode()}})
    assert call("ListDatasetLabels", {"DatasetArn": arn})["DatasetLabelDescriptions"][0]["LabelStats"] == {
        "EntryCount": 3, "BoundingBoxCount": 5}
    bad = change + "\n" + detection_line(f"s3://unit/{folder[0]}/b1.jpg", [(0, 300, 40, 40, 90)])
    call("UpdateDatasetEntries", {"DatasetArn": arn, "Changes": {"GroundTruth": base64.b64encode(
        bad.encode()).decode()}})
    described = call("DescribeDataset", {"DatasetArn": arn})["DatasetDescription"]
    assert described["Status"] == "UPDATE_FAILED" and "line 2: box 1 of 'bounding-box'" in described["StatusMessage"]
    assert described["DatasetStats"]["TotalEntries"] == 3
    call("DeleteProject", {"ProjectArn": project})


def test_train_evaluate_and_detect_custom_labels(folder, frames, inference):
    project = call("CreateProject", {"ProjectName": folder[0]})["ProjectArn"]
    with pytest.raises(errors.ResourceInUse):
        call("CreateProject", {"ProjectName": folder[0]})
    with pytest.raises(errors.ResourceNotFound):  # another tenant's project is as absent as none
        call("DescribeProjectVersions", {"ProjectArn": project}, account=OTHER)
    train = call("CreateDataset", {"ProjectArn": project, "DatasetType": "TRAIN",
                                   "DatasetSource": classification_manifest(folder, frames)})["DatasetArn"]
    test = call("CreateDataset", {"ProjectArn": project, "DatasetType": "TEST"})["DatasetArn"]
    assert call("DescribeDataset", {"DatasetArn": train})["DatasetDescription"]["DatasetStats"] == {
        "LabeledEntries": 48, "TotalEntries": 48, "TotalLabels": 4, "ErrorEntries": 0}
    call("DistributeDatasetEntries", {"Datasets": [{"Arn": train}, {"Arn": test}]})
    labels = call("ListDatasetLabels", {"DatasetArn": test})["DatasetLabelDescriptions"]
    assert {d["LabelName"]: d["LabelStats"]["EntryCount"] for d in labels} == \
        {"bird": 2, "bottles": 2, "dog": 2, "traffic": 2}
    assert call("DescribeDataset", {"DatasetArn": train})["DatasetDescription"]["DatasetStats"]["TotalEntries"] == 40
    described = call("DescribeProjects", {"ProjectNames": [folder[0]]})["ProjectDescriptions"]
    assert [d["DatasetType"] for d in described[0]["Datasets"]] == ["TRAIN", "TEST"]

    arn = call("CreateProjectVersion", {"ProjectArn": project, "VersionName": "v1",
                                        "OutputConfig": {"S3Bucket": "unit", "S3KeyPrefix": f"{folder[0]}/out/"}})[
        "ProjectVersionArn"]
    held = {label: apart for label, (_kept, apart) in frames.items()}
    image = {"Image": {"Bytes": base64.b64encode(held["dog"][0]).decode()}}
    with pytest.raises(errors.ResourceNotReady):  # still training
        call("DetectCustomLabels", {"ProjectVersionArn": arn, **image})
    with pytest.raises(errors.ResourceInUse):
        call("StartProjectVersion", {"ProjectVersionArn": arn, "MinInferenceUnits": 1})

    started = time.monotonic()
    custom_training.train(version_id(arn), inference)
    seconds = time.monotonic() - started
    (version,) = call("DescribeProjectVersions", {"ProjectArn": project})["ProjectVersionDescriptions"]
    assert version["Status"] == "TRAINING_COMPLETED", version.get("StatusMessage")
    summary_ref = version["EvaluationResult"]["Summary"]["S3Object"]
    summary = json.loads((folder[1].parent / summary_ref["Name"]).read_text())
    per_label = {r["Label"]: r["Metrics"] for r in summary["LabelEvaluationResults"]}
    print(f"\ntrained 40 images, tested 8 in {seconds:.1f} s; F1 {version['EvaluationResult']['F1Score']:.3f}; "
          + ", ".join(f"{k}: P {m['Precision']:.2f} R {m['Recall']:.2f} F1 {m['F1Score']:.2f} "
                      f"t {m['Threshold']:.2f}" for k, m in per_label.items()))
    assert set(per_label) == {"bird", "bottles", "dog", "traffic"}
    for metrics in per_label.values():
        assert metrics["TruePositives"] + metrics["FalseNegatives"] == 2
        assert {"Precision", "Recall", "F1Score", "Threshold", "FalsePositives"} <= set(metrics)
    assert version["EvaluationResult"]["F1Score"] >= 0.9
    assert summary["EvaluationDetails"]["NumberOfTestingImages"] == 8
    assert (folder[1] / "out" / folder[0] / "v1" / "model.npz").is_file()

    assert call("StartProjectVersion", {"ProjectVersionArn": arn, "MinInferenceUnits": 1})["Status"] == "RUNNING"
    model = {"Bucket": "unit", "Name": f"{folder[0]}/out/{folder[0]}/v1/model.npz", "Arn": arn}
    correct, total, started = 0, 0, time.monotonic()
    for label, apart in held.items():
        for jpeg in apart:
            reply = images.run(DETECT_FUNCTION, {"Model": model, "MinConfidence": 0},
                               {"Image": {"bytes": base64.b64encode(jpeg).decode()}}, inference)
            found = reply["body"]["CustomLabels"]
            assert len(found) == 4 and found[0]["Confidence"] >= found[-1]["Confidence"]
            correct += found[0]["Name"] == label
            total += 1
    rate = total / (time.monotonic() - started)
    print(f"DetectCustomLabels: {correct}/{total} held-apart frames named right, {rate:.1f} images/s on CPU")
    assert correct == total
    reply = images.run(DETECT_FUNCTION, {"Model": model, "MaxResults": 1, "MinConfidence": 0},
                       {"Image": {"bytes": base64.b64encode(held["traffic"][0]).decode()}}, inference)
    assert [label["Name"] for label in reply["body"]["CustomLabels"]] == ["traffic"]
    # Files at this place made by another version (deleted, made again under the same name) are refused.
    reply = images.run(DETECT_FUNCTION, {"Model": {**model, "Arn": arn + "0"}},
                       {"Image": {"bytes": base64.b64encode(held["traffic"][0]).decode()}}, inference)
    assert reply["error"]["code"] == "ResourceNotReadyException"

    with pytest.raises(errors.ResourceInUse):
        call("DeleteProjectVersion", {"ProjectVersionArn": arn})
    assert call("StopProjectVersion", {"ProjectVersionArn": arn})["Status"] == "STOPPED"
    with pytest.raises(errors.ResourceNotReady):
        call("DetectCustomLabels", {"ProjectVersionArn": arn, **image})
    with pytest.raises(errors.ResourceInUse):  # versions first
        call("DeleteProject", {"ProjectArn": project})
    call("DeleteProjectVersion", {"ProjectVersionArn": arn})
    call("DeleteProject", {"ProjectArn": project})


def test_a_single_label_version_fails_with_a_status_message(folder, frames, inference):
    project = call("CreateProject", {"ProjectName": folder[0]})["ProjectArn"]
    lines = []
    for number, jpeg in enumerate(frames["dog"][0][:2]):
        (folder[1] / f"d{number}.jpg").write_bytes(jpeg)
        lines.append(classification_line(f"s3://unit/{folder[0]}/d{number}.jpg", "dog", 0))
    # A TEST-type import has no label rules; copy it to TRAIN to reach training with one label.
    test = call("CreateDataset", {"ProjectArn": project, "DatasetType": "TEST",
                                  "DatasetSource": write_manifest(folder, lines)})["DatasetArn"]
    call("CreateDataset", {"ProjectArn": project, "DatasetType": "TRAIN", "DatasetSource": {"DatasetArn": test}})
    arn = call("CreateProjectVersion", {"ProjectArn": project, "VersionName": "one",
                                        "OutputConfig": {"S3Bucket": "unit"}})["ProjectVersionArn"]
    # Training nothing has touched for longer than a task may run is re-sent by the sweep, once a period.
    with session_scope() as session:
        session.execute(update(CustomProjectVersion).where(CustomProjectVersion.version_arn == arn)
                        .values(progress_at=func.now() - dt.timedelta(hours=1)))
    assert version_id(arn) in custom_training.stalled(600)
    assert version_id(arn) not in custom_training.stalled(600)
    custom_training.train(version_id(arn), inference)
    (version,) = call("DescribeProjectVersions", {"ProjectArn": project})["ProjectVersionDescriptions"]
    assert version["Status"] == "TRAINING_FAILED"
    assert version["StatusMessage"] == "The training dataset has 1 label(s); at least 2 are needed."
    with pytest.raises(errors.ResourceNotReady):
        call("DetectCustomLabels", {"ProjectVersionArn": arn, "Image": {"Bytes": "AAAA"}})


BOTTLE_CLIP = "objects/intel_bottle-detection.mp4"
BOTTLE_HELD = (6, 21, 38, 49)  # frames of the hand-made manifest kept out of training


def test_detector_trains_on_hand_drawn_boxes_and_finds_bottles(folder, inference):
    """tests/jobs/data/bottles.manifest: boxes drawn by hand on 53 frames (of 60 spread over the
    clip; frames with a bottle in mid-air left out) around the bottles standing on the table."""
    from models.custom_detector import iou

    shots = frames_of(BOTTLE_CLIP, 60)
    lines, held = [], {}
    for raw in (Path(__file__).parent / "data" / "bottles.manifest").read_text().splitlines():
        line = json.loads(raw.replace("s3://BUCKET/", f"s3://unit/{folder[0]}/"))
        index = int(line["source-ref"][-6:-4])
        (folder[1] / "bottles").mkdir(exist_ok=True)
        (folder[1] / "bottles" / f"frame-{index:02d}.jpg").write_bytes(shots[index])
        if index in BOTTLE_HELD:
            held[index] = [(a["left"] / 320, a["top"] / 180, (a["left"] + a["width"]) / 320,
                            (a["top"] + a["height"]) / 180) for a in line["bounding-box"]["annotations"]]
        else:
            lines.append(json.dumps(line))
    project = call("CreateProject", {"ProjectName": folder[0]})["ProjectArn"]
    call("CreateDataset", {"ProjectArn": project, "DatasetType": "TRAIN",
                           "DatasetSource": write_manifest(folder, lines)})
    arn = call("CreateProjectVersion", {"ProjectArn": project, "VersionName": "boxes",
                                        "OutputConfig": {"S3Bucket": "unit", "S3KeyPrefix": f"{folder[0]}/out/"}})[
        "ProjectVersionArn"]
    started = time.monotonic()
    custom_training.train(version_id(arn), inference)
    seconds = time.monotonic() - started
    (version,) = call("DescribeProjectVersions", {"ProjectArn": project})["ProjectVersionDescriptions"]
    assert version["Status"] == "TRAINING_COMPLETED", version.get("StatusMessage")
    summary = json.loads((folder[1].parent / version["EvaluationResult"]["Summary"]["S3Object"]["Name"]).read_text())
    (bottle,) = summary["LabelEvaluationResults"]
    print(f"\ndetector: {len(lines)} images ({summary['EvaluationDetails']['NumberOfTestingImages']} held for its "
          f"test) trained in {seconds:.1f} s; bottle {bottle['Metrics']}")
    assert bottle["Label"] == "bottle" and bottle["Metrics"]["F1Score"] >= 0.9

    model = {"Bucket": "unit", "Name": f"{folder[0]}/out/{folder[0]}/boxes/model.npz", "Arn": arn}
    found_right, truths, extra, started = 0, 0, 0, time.monotonic()
    for index, truth in held.items():
        reply = images.run(DETECT_FUNCTION, {"Model": model}, {"Image": {"bytes": base64.b64encode(
            shots[index]).decode()}}, inference)
        found = reply["body"]["CustomLabels"]
        boxes = [(g["Left"], g["Top"], g["Left"] + g["Width"], g["Top"] + g["Height"])
                 for g in (label["Geometry"]["BoundingBox"] for label in found)]
        assert all(label["Name"] == "bottle" for label in found)
        overlaps = iou(truth, boxes) if boxes else np.zeros((len(truth), 0))
        found_right += int((overlaps.max(axis=1, initial=0) >= 0.5).sum())
        extra += int((overlaps.max(axis=0, initial=0) < 0.5).sum()) if boxes else 0
        truths += len(truth)
    rate = len(held) / (time.monotonic() - started)
    print(f"held-apart frames: {found_right}/{truths} bottles found at IoU>=0.5, {extra} extra boxes; "
          f"{rate:.1f} images/s")
    assert found_right == truths and extra <= 1


def test_a_running_version_labels_a_video_along_its_timeline(folder, frames, inference, framewise_env):
    """The `custom_labels` analysis in a REST-style job over the dog clip, with a version trained
    on the four clips: dog along the timeline, nothing else above its threshold."""
    from jobs import services
    from tests.jobs.vision_jobs import get, run_job, upload

    project = call("CreateProject", {"ProjectName": folder[0]})["ProjectArn"]
    call("CreateDataset", {"ProjectArn": project, "DatasetType": "TRAIN",
                           "DatasetSource": classification_manifest(folder, frames)})
    arn = call("CreateProjectVersion", {"ProjectArn": project, "VersionName": "video",
                                        "OutputConfig": {"S3Bucket": "unit", "S3KeyPrefix": f"{folder[0]}/"}})[
        "ProjectVersionArn"]
    custom_training.train(version_id(arn), inference)
    video = upload(framewise_env, "objects/pexels_dog_eating_854132.mp4")
    with session_scope() as session, pytest.raises(errors.ResourceNotReady):  # not started yet
        services.start_rest_job(session, ACCOUNT, video=video, wanted={"custom_labels": {"ProjectVersionArn": arn}})
    with session_scope() as session, pytest.raises(errors.ResourceNotFound):  # another tenant's
        services.start_rest_job(session, OTHER, video=video, wanted={"custom_labels": {"ProjectVersionArn": arn}})
    call("StartProjectVersion", {"ProjectVersionArn": arn, "MinInferenceUnits": 1})
    job_id = run_job(framewise_env, "objects/pexels_dog_eating_854132.mp4",
                     {"custom_labels": {"ProjectVersionArn": arn}}, SampleFps=0.5)
    items = get("custom_labels", job_id)["CustomLabels"]
    names = [item["CustomLabel"]["Name"] for item in items]
    assert len(names) >= 5 and set(names) == {"dog"}, names
    assert [item["Timestamp"] for item in items] == sorted(item["Timestamp"] for item in items)


def test_detect_custom_labels_takes_at_most_4_mb_of_image_bytes(framewise_env):
    # 4.5 MB: within other image calls' 5 MB, over DetectCustomLabels' 4 MB
    jpeg = b"\xff\xd8\xff" + bytes(4 * 1024 * 1024 + 512 * 1024)
    with pytest.raises(errors.ImageTooLarge):
        call("DetectCustomLabels", {"ProjectVersionArn": "arn:aws:rekognition:us-east-1:0:project/p/version/v/1",
                                    "Image": {"Bytes": base64.b64encode(jpeg).decode()}})
