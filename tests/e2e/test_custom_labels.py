"""Custom Labels from unmodified boto3 over HTTP: a project, a dataset from a Ground Truth
manifest in S3 (moto), the 80/20 split, training on the worker process, evaluation, a running
model answering DetectCustomLabels on the image worker, and the same version after the image
worker restarts."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import BUCKET, TENANT_A, TENANT_B
from tests.jobs.custom_label_frames import classification_line, dataset

pytestmark = pytest.mark.e2e


def _wait(client, project: str, name: str, until: set[str], timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        (version,) = client.describe_project_versions(ProjectArn=project, VersionNames=[name])[
            "ProjectVersionDescriptions"]
        if version["Status"] in until:
            return version
        time.sleep(1)
    raise TimeoutError(f"version {name} still {version['Status']}")


def test_custom_labels_train_evaluate_detect(stack, tmp_path):
    frames = dataset(12, 2)
    s3, client = stack.s3(), stack.client()
    lines = []
    for index, (label, (kept, _held)) in enumerate(sorted(frames.items())):
        for number, jpeg in enumerate(kept):
            key = f"custom/images/{label}-{number}.jpg"
            s3.put_object(Bucket=BUCKET, Key=key, Body=jpeg)
            lines.append(classification_line(f"s3://{BUCKET}/{key}", label, index))
    s3.put_object(Bucket=BUCKET, Key="custom/train.manifest", Body="\n".join(lines).encode())
    s3.put_object(Bucket=BUCKET, Key="custom/bad.manifest", Body=(lines[0] + "\n{oops\n").encode())

    project = client.create_project(ProjectName="clips")["ProjectArn"]
    with pytest.raises(client.exceptions.ResourceInUseException):
        client.create_project(ProjectName="clips")
    bad = client.create_dataset(ProjectArn=project, DatasetType="TEST", DatasetSource={
        "GroundTruthManifest": {"S3Object": {"Bucket": BUCKET, "Name": "custom/bad.manifest"}}})["DatasetArn"]
    described = client.describe_dataset(DatasetArn=bad)["DatasetDescription"]
    assert described["Status"] == "CREATE_FAILED" and "line 2: not valid JSON" in described["StatusMessage"]
    client.delete_dataset(DatasetArn=bad)

    train = client.create_dataset(ProjectArn=project, DatasetType="TRAIN", DatasetSource={
        "GroundTruthManifest": {"S3Object": {"Bucket": BUCKET, "Name": "custom/train.manifest"}}})["DatasetArn"]
    test = client.create_dataset(ProjectArn=project, DatasetType="TEST")["DatasetArn"]
    client.distribute_dataset_entries(Datasets=[{"Arn": train}, {"Arn": test}])
    assert client.describe_dataset(DatasetArn=test)["DatasetDescription"]["DatasetStats"]["LabeledEntries"] == 8
    entries = client.list_dataset_entries(DatasetArn=test, ContainsLabels=["dog"])["DatasetEntries"]
    assert len(entries) == 2 and json.loads(entries[0])["animal-or-scene-metadata"]["class-name"] == "dog"
    with pytest.raises(client.exceptions.ResourceNotFoundException):  # tenants are apart
        stack.client(TENANT_B).describe_dataset(DatasetArn=train)

    version_arn = client.create_project_version(
        ProjectArn=project, VersionName="v1",
        OutputConfig={"S3Bucket": BUCKET, "S3KeyPrefix": "custom/output/"})["ProjectVersionArn"]
    held = {label: apart for label, (_kept, apart) in frames.items()}
    with pytest.raises(client.exceptions.ResourceNotReadyException):
        client.detect_custom_labels(ProjectVersionArn=version_arn, Image={"Bytes": held["dog"][0]})
    version = _wait(client, project, "v1", {"TRAINING_COMPLETED", "TRAINING_FAILED"})
    assert version["Status"] == "TRAINING_COMPLETED", version.get("StatusMessage")
    assert version["EvaluationResult"]["F1Score"] >= 0.9
    summary = version["EvaluationResult"]["Summary"]["S3Object"]
    body = json.loads(s3.get_object(Bucket=summary["Bucket"], Key=summary["Name"])["Body"].read())
    assert {r["Label"] for r in body["LabelEvaluationResults"]} == set(frames)
    assert all({"Precision", "Recall", "F1Score", "Threshold"} <= set(r["Metrics"])
               for r in body["LabelEvaluationResults"])

    assert client.start_project_version(ProjectVersionArn=version_arn, MinInferenceUnits=1)["Status"] == "RUNNING"
    client.get_waiter("project_version_running").wait(ProjectArn=project, VersionNames=["v1"])

    def detect_all() -> int:
        correct = 0
        for label, apart in held.items():
            for jpeg in apart:
                found = client.detect_custom_labels(ProjectVersionArn=version_arn, Image={"Bytes": jpeg},
                                                    MinConfidence=10)["CustomLabels"]
                correct += bool(found) and found[0]["Name"] == label
        return correct

    assert detect_all() == 8
    # The AWS CLI, unmodified: --image-bytes fileb:// is hoisted into Image.Bytes.
    (tmp_path / "dog.jpg").write_bytes(held["dog"][1])
    env = {**os.environ, "AWS_ACCESS_KEY_ID": TENANT_A[0], "AWS_SECRET_ACCESS_KEY": TENANT_A[1],
           "AWS_DEFAULT_REGION": "us-east-1"}
    cli = subprocess.run([sys.executable, "-m", "awscli", "rekognition", "--endpoint-url", stack.url, "--output",
                          "json", "detect-custom-labels", "--project-version-arn", version_arn, "--image-bytes",
                          f"fileb://{tmp_path / 'dog.jpg'}", "--max-results", "1"],
                         env=env, capture_output=True, text=True, timeout=120, check=False)
    assert cli.returncode == 0, cli.stderr
    assert [label["Name"] for label in json.loads(cli.stdout)["CustomLabels"]] == ["dog"]
    # The version is files plus a row: a fresh image worker serves it the same.
    worker = stack.procs["image-worker"]
    worker.terminate()
    worker.wait(timeout=30)
    stack.start_worker(images=True)
    assert detect_all() == 8

    assert client.stop_project_version(ProjectVersionArn=version_arn)["Status"] == "STOPPED"
    with pytest.raises(client.exceptions.ResourceNotReadyException):
        client.detect_custom_labels(ProjectVersionArn=version_arn, Image={"Bytes": held["dog"][0]})
    client.delete_project_version(ProjectVersionArn=version_arn)
    client.delete_project(ProjectArn=project)
    assert client.describe_projects(ProjectNames=["clips"])["ProjectDescriptions"] == []


def test_custom_labels_detector_answers_boxes(stack):
    """The hand-boxed bottle manifest (tests/jobs/data) through boto3: Geometry.BoundingBox."""
    from models.custom_detector import iou
    from tests.jobs.custom_label_frames import frames

    s3, client = stack.s3(), stack.client()
    shots = frames("objects/intel_bottle-detection.mp4", 60)
    manifest = Path(__file__).parents[1] / "jobs" / "data" / "bottles.manifest"
    lines, truth = [], None
    for raw in manifest.read_text().splitlines():
        line = json.loads(raw.replace("s3://BUCKET/", f"s3://{BUCKET}/detector/"))
        index = int(line["source-ref"][-6:-4])
        s3.put_object(Bucket=BUCKET, Key=f"detector/bottles/frame-{index:02d}.jpg", Body=shots[index])
        if index == 21:  # held apart
            truth = [(a["left"] / 320, a["top"] / 180, (a["left"] + a["width"]) / 320,
                      (a["top"] + a["height"]) / 180) for a in line["bounding-box"]["annotations"]]
        else:
            lines.append(json.dumps(line))
    s3.put_object(Bucket=BUCKET, Key="detector/train.manifest", Body="\n".join(lines).encode())
    project = client.create_project(ProjectName="bottles")["ProjectArn"]
    client.create_dataset(ProjectArn=project, DatasetType="TRAIN", DatasetSource={
        "GroundTruthManifest": {"S3Object": {"Bucket": BUCKET, "Name": "detector/train.manifest"}}})
    arn = client.create_project_version(ProjectArn=project, VersionName="v1",
                                        OutputConfig={"S3Bucket": BUCKET})["ProjectVersionArn"]
    version = _wait(client, project, "v1", {"TRAINING_COMPLETED", "TRAINING_FAILED"})
    assert version["Status"] == "TRAINING_COMPLETED", version.get("StatusMessage")
    client.start_project_version(ProjectVersionArn=arn, MinInferenceUnits=1)
    found = client.detect_custom_labels(ProjectVersionArn=arn, Image={"Bytes": shots[21]})["CustomLabels"]
    boxes = [(g["Left"], g["Top"], g["Left"] + g["Width"], g["Top"] + g["Height"])
             for g in (label["Geometry"]["BoundingBox"] for label in found)]
    assert {label["Name"] for label in found} == {"bottle"} and len(found) == len(truth) == 3
    assert (iou(truth, boxes).max(axis=1) >= 0.5).all()
    client.stop_project_version(ProjectVersionArn=arn)
