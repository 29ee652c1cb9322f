"""Rekognition Custom Labels on the web tier: projects, datasets, project versions, and
DetectCustomLabels' database half.

A project belongs to one tenant; its ARNs carry a 12-digit account number derived from the
tenant (the API's ARN patterns need one) and every lookup is by the caller's own rows, so
another tenant's ARN is as absent as none. Datasets are imported here, synchronously, from a
Ground Truth manifest in storage (jobs/custom_manifest.py): all of it or, with the reasons line
by line in StatusMessage, none of it. Training runs on the workers (jobs/custom_training.py);
inference on the image workers (jobs/analyses/custom_labels.py).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import re

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jobs import custom_manifest, errors, images, pagination, storage
from jobs.operations import operation
from jobs.records import CustomDataset, CustomDatasetEntry, CustomProject, CustomProjectVersion, utcnow
from jobs.settings import get_settings

MAX_MANIFEST_BYTES = 64 * 1024 * 1024
DETECT_FUNCTION = "custom_labels.detect"  # the image worker's half of DetectCustomLabels
TOKEN_TTL_SECONDS = 24 * 3600
TEST_SHARE = 0.2  # DistributeDatasetEntries: 80/20


def account_number(account: str) -> str:
    """A stable 12-digit account number for a tenant, for ARNs."""
    return f"{int(hashlib.sha256(account.encode()).hexdigest(), 16) % 10**12:012d}"


def _millis(project: CustomProject | CustomDataset | CustomProjectVersion) -> int:
    return int(project.created_at.timestamp() * 1000)


def project_arn(account: str, project: CustomProject) -> str:
    return (f"arn:aws:rekognition:{get_settings().region}:{account_number(account)}:project/{project.name}/"
            f"{_millis(project)}")


def dataset_arn(account: str, project: CustomProject, dataset: CustomDataset) -> str:
    return (f"arn:aws:rekognition:{get_settings().region}:{account_number(account)}:project/{project.name}/"
            f"dataset/{dataset.dataset_type.lower()}/{_millis(dataset)}")


def _arn_parts(arn: str, kind: str) -> list[str]:
    """The parts after `project/` of one of this tenant's ARNs (validated by the edge already)."""
    match = re.fullmatch(r"arn:[a-z\d-]+:rekognition:[a-z\d-]+:(\d{12}):project/(.+)", arn)
    if match is None:
        raise errors.ResourceNotFound(f"The {kind} {arn} does not exist.")
    return [match.group(1), *match.group(2).split("/")]


def find_project(session: Session, account: str, arn: str, *, lock: bool = False) -> CustomProject:
    number, name, *_ = _arn_parts(arn, "project")
    query = select(CustomProject).where(CustomProject.account == account, CustomProject.name == name)
    project = session.scalar(query.with_for_update() if lock else query)
    if number != account_number(account) or project is None or project_arn(account, project) != arn:
        raise errors.ResourceNotFound(f"The project {arn} does not exist.")
    return project


def find_dataset(session: Session, account: str, arn: str) -> tuple[CustomProject, CustomDataset]:
    number, name, *rest = _arn_parts(arn, "dataset")
    project = session.scalar(select(CustomProject).where(CustomProject.account == account, CustomProject.name == name))
    dataset = None
    if project is not None and number == account_number(account) and len(rest) == 3:
        dataset = session.scalar(select(CustomDataset).where(CustomDataset.project_pk == project.id,
                                                             CustomDataset.dataset_type == rest[1].upper()))
    if dataset is None or dataset_arn(account, project, dataset) != arn:
        raise errors.ResourceNotFound(f"The dataset {arn} does not exist.")
    return project, dataset


def find_version(session: Session, account: str, arn: str, *, lock: bool = False) -> CustomProjectVersion:
    query = (select(CustomProjectVersion).join(CustomProject, CustomProject.id == CustomProjectVersion.project_pk)
             .where(CustomProject.account == account, CustomProjectVersion.version_arn == arn))
    version = session.scalar(query.with_for_update(of=CustomProjectVersion) if lock else query)
    if version is None:
        raise errors.ResourceNotFound(f"The project version {arn} does not exist.")
    return version


def _page(params: dict, account: str, view: str) -> tuple[object, int]:
    after = None
    if params.get("NextToken"):
        (after,) = pagination.decode(get_settings().secret_key, params["NextToken"], job_id=account, view=view,
                                     ttl_seconds=TOKEN_TTL_SECONDS)
    return after, int(params.get("MaxResults") or 100)


def _token(account: str, view: str, key) -> str:
    return pagination.encode(get_settings().secret_key, job_id=account, view=view, key=[key])


# ---------------------------------------------------------------------------------------------
# projects


@operation("CreateProject")
def create_project(session: Session, account: str, params: dict) -> dict:
    if params.get("Feature", "CUSTOM_LABELS") != "CUSTOM_LABELS":
        raise errors.InvalidParameter("Only CUSTOM_LABELS projects are supported.")
    project = CustomProject(account=account, name=params["ProjectName"])
    try:
        with session.begin_nested():
            session.add(project)
    except IntegrityError:
        raise errors.ResourceInUse(f"A project named {params['ProjectName']} already exists.") from None
    return {"ProjectArn": project_arn(account, project)}


def _dataset_metadata(account: str, project: CustomProject, dataset: CustomDataset) -> dict:
    out = {"CreationTimestamp": dataset.created_at.timestamp(), "DatasetType": dataset.dataset_type,
           "DatasetArn": dataset_arn(account, project, dataset), "Status": dataset.status}
    if dataset.status_message:
        out["StatusMessage"] = dataset.status_message[:1024]
    if dataset.status_message_code:
        out["StatusMessageCode"] = dataset.status_message_code
    return out


@operation("DescribeProjects")
def describe_projects(session: Session, account: str, params: dict) -> dict:
    if params.get("Features") and "CUSTOM_LABELS" not in params["Features"]:
        return {"ProjectDescriptions": []}
    after, limit = _page(params, account, "projects")
    query = select(CustomProject).where(CustomProject.account == account)
    if params.get("ProjectNames"):
        query = query.where(CustomProject.name.in_(params["ProjectNames"]))
    if after is not None:
        query = query.where(CustomProject.name > after)
    rows = session.scalars(query.order_by(CustomProject.name).limit(limit + 1)).all()
    descriptions = []
    for project in rows[:limit]:
        datasets = session.scalars(select(CustomDataset).where(CustomDataset.project_pk == project.id)
                                   .order_by(CustomDataset.dataset_type.desc())).all()
        descriptions.append({"ProjectArn": project_arn(account, project),
                             "CreationTimestamp": project.created_at.timestamp(), "Status": "CREATED",
                             "Datasets": [_dataset_metadata(account, project, d) for d in datasets],
                             "Feature": "CUSTOM_LABELS"})
    out = {"ProjectDescriptions": descriptions}
    if len(rows) > limit:
        out["NextToken"] = _token(account, "projects", rows[limit - 1].name)
    return out


@operation("DeleteProject")
def delete_project(session: Session, account: str, params: dict) -> dict:
    project = find_project(session, account, params["ProjectArn"], lock=True)
    if session.scalar(select(func.count()).where(CustomProjectVersion.project_pk == project.id)):
        raise errors.ResourceInUse("Delete the project's versions (models) before the project.")
    session.delete(project)  # its datasets go with it
    return {"Status": "DELETING"}


# ---------------------------------------------------------------------------------------------
# datasets


def _exists(bucket: str, key: str) -> bool:
    try:
        storage.head(storage.VideoRef(bucket, key))
    except errors.InvalidS3Object:
        return False
    return True


def read_manifest(s3: dict) -> custom_manifest.Manifest:
    data = storage.read_object(storage.VideoRef(s3["Bucket"], s3["Name"], s3.get("Version")),
                               max_bytes=MAX_MANIFEST_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return custom_manifest.Manifest(errors=["the manifest is not UTF-8 text"])
    return custom_manifest.parse(text.splitlines(), _exists)


def _add_entries(session: Session, dataset: CustomDataset, entries) -> None:
    session.add_all(CustomDatasetEntry(dataset_pk=dataset.id, source_ref=e.source_ref, entry=e.entry,
                                       labels=list(e.labels), boxes=e.boxes) for e in entries)


@operation("CreateDataset")
def create_dataset(session: Session, account: str, params: dict) -> dict:
    kind = params["DatasetType"]

    def check() -> CustomProject:
        project = find_project(session, account, params["ProjectArn"], lock=True)
        if session.scalar(select(CustomDataset).where(CustomDataset.project_pk == project.id,
                                                      CustomDataset.dataset_type == kind)):
            raise errors.ResourceAlreadyExists(f"The project already has a {kind} dataset.")
        return project

    project = check()
    source = params.get("DatasetSource") or {}
    if "GroundTruthManifest" in source:
        # Reading the manifest and looking up each image takes a while: without a database
        # connection held meanwhile, then the checks again, under the project's lock.
        session.rollback()
        manifest = read_manifest(source["GroundTruthManifest"]["S3Object"])
        project = check()
        if not manifest.errors and kind == "TRAIN":
            manifest.errors.extend(custom_manifest.check_training_rules(manifest.entries))
        entries = manifest.entries
    elif source.get("DatasetArn"):
        _, other = find_dataset(session, account, source["DatasetArn"])
        rows = session.scalars(select(CustomDatasetEntry).where(CustomDatasetEntry.dataset_pk == other.id)
                               .order_by(CustomDatasetEntry.id)).all()
        manifest = custom_manifest.Manifest()
        entries = [custom_manifest.Entry(r.source_ref, r.entry, tuple(r.labels), r.boxes) for r in rows]
    else:
        manifest, entries = custom_manifest.Manifest(), []
    dataset = CustomDataset(project_pk=project.id, dataset_type=kind)
    if manifest.errors:  # nothing is imported from a manifest with errors
        dataset.status, dataset.status_message_code = "CREATE_FAILED", "CLIENT_ERROR"
        dataset.status_message = f"The manifest has {len(manifest.errors)} error(s): {manifest.summary()}"
    else:
        dataset.status, dataset.status_message_code = "CREATE_COMPLETE", "SUCCESS"
        dataset.status_message = "The dataset was successfully created."
    session.add(dataset)
    session.flush()
    if not manifest.errors:
        _add_entries(session, dataset, entries)
    return {"DatasetArn": dataset_arn(account, project, dataset)}


def _stats(session: Session, dataset: CustomDataset) -> dict:
    rows = session.execute(select(CustomDatasetEntry.labels).where(CustomDatasetEntry.dataset_pk == dataset.id)).all()
    return {"LabeledEntries": sum(1 for (labels,) in rows if labels), "TotalEntries": len(rows),
            "TotalLabels": len({label for (labels,) in rows for label in labels}), "ErrorEntries": 0}


@operation("DescribeDataset")
def describe_dataset(session: Session, account: str, params: dict) -> dict:
    _, dataset = find_dataset(session, account, params["DatasetArn"])
    out = {"CreationTimestamp": dataset.created_at.timestamp(), "LastUpdatedTimestamp": dataset.updated_at.timestamp(),
           "Status": dataset.status, "DatasetStats": _stats(session, dataset)}
    if dataset.status_message:
        out["StatusMessage"] = dataset.status_message[:1024]
    if dataset.status_message_code:
        out["StatusMessageCode"] = dataset.status_message_code
    return {"DatasetDescription": out}


@operation("ListDatasetEntries")
def list_dataset_entries(session: Session, account: str, params: dict) -> dict:
    _, dataset = find_dataset(session, account, params["DatasetArn"])
    view = f"entries/{dataset.id}"
    after, limit = _page(params, account, view)
    query = select(CustomDatasetEntry).where(CustomDatasetEntry.dataset_pk == dataset.id)
    if params.get("HasErrors"):
        return {"DatasetEntries": []}  # entries with errors are never imported
    if "Labeled" in params:
        labelled = func.jsonb_array_length(CustomDatasetEntry.labels) > 0
        query = query.where(labelled if params["Labeled"] else ~labelled)
    if params.get("ContainsLabels"):
        query = query.where(func.jsonb_exists_any(CustomDatasetEntry.labels, params["ContainsLabels"]))
    if params.get("SourceRefContains"):
        query = query.where(func.strpos(CustomDatasetEntry.source_ref, params["SourceRefContains"]) > 0)
    if after is not None:
        query = query.where(CustomDatasetEntry.id > after)
    rows = session.scalars(query.order_by(CustomDatasetEntry.id).limit(limit + 1)).all()
    out = {"DatasetEntries": [json.dumps(row.entry, separators=(",", ":")) for row in rows[:limit]]}
    if len(rows) > limit:
        out["NextToken"] = _token(account, view, rows[limit - 1].id)
    return out


@operation("ListDatasetLabels")
def list_dataset_labels(session: Session, account: str, params: dict) -> dict:
    _, dataset = find_dataset(session, account, params["DatasetArn"])
    view = f"labels/{dataset.id}"
    after, limit = _page(params, account, view)
    entries, boxes = {}, {}
    for labels, count in session.execute(select(CustomDatasetEntry.labels, CustomDatasetEntry.boxes)
                                         .where(CustomDatasetEntry.dataset_pk == dataset.id)):
        for label in set(labels):
            entries[label] = entries.get(label, 0) + 1
        if count:
            for label in labels:
                boxes[label] = boxes.get(label, 0) + 1
    names = [name for name in sorted(entries) if after is None or name > after]
    out = {"DatasetLabelDescriptions": [
        {"LabelName": name, "LabelStats": {"EntryCount": entries[name], "BoundingBoxCount": boxes.get(name, 0)}}
        for name in names[:limit]]}
    if len(names) > limit:
        out["NextToken"] = _token(account, view, names[limit - 1])
    return out


@operation("DistributeDatasetEntries")
def distribute_dataset_entries(session: Session, account: str, params: dict) -> dict:
    """Move a fifth of the training entries, of each label, to the (empty) test dataset."""
    found = [find_dataset(session, account, item["Arn"]) for item in params["Datasets"]]
    kinds = {dataset.dataset_type: (project, dataset) for project, dataset in found}
    if len(found) != 2 or set(kinds) != {"TRAIN", "TEST"} or found[0][0].id != found[1][0].id:
        raise errors.InvalidParameter("Give the TRAIN and the TEST dataset of one project.")
    train, test = kinds["TRAIN"][1], kinds["TEST"][1]
    if train.status != "CREATE_COMPLETE" or test.status != "CREATE_COMPLETE":
        raise errors.ResourceNotReady("Both datasets must be created successfully first.")
    if session.scalar(select(func.count()).where(CustomDatasetEntry.dataset_pk == test.id)):
        raise errors.InvalidParameter("The test dataset must be empty.")
    rows = session.scalars(select(CustomDatasetEntry).where(CustomDatasetEntry.dataset_pk == train.id)
                           .order_by(CustomDatasetEntry.id).with_for_update()).all()
    by_label: dict[str, list[CustomDatasetEntry]] = {}
    for row in rows:
        by_label.setdefault(min(row.labels) if row.labels else "", []).append(row)
    shuffle = random.Random(train.id)  # the same split for the same dataset
    for group in by_label.values():
        shuffle.shuffle(group)
        for row in group[: max(1, round(len(group) * TEST_SHARE)) if len(group) > 1 else 0]:
            row.dataset_pk = test.id
    train.updated_at = test.updated_at = utcnow()
    return {}


@operation("DeleteDataset")
def delete_dataset(session: Session, account: str, params: dict) -> dict:
    _, dataset = find_dataset(session, account, params["DatasetArn"])
    session.execute(delete(CustomDatasetEntry).where(CustomDatasetEntry.dataset_pk == dataset.id))
    session.delete(dataset)
    return {}


# ---------------------------------------------------------------------------------------------
# project versions


@operation("CreateProjectVersion")
def create_project_version(session: Session, account: str, params: dict) -> dict:
    from jobs.tasks import enqueue_after_commit, train_project_version

    project = find_project(session, account, params["ProjectArn"], lock=True)
    if params.get("TrainingData") or params.get("TestingData"):
        raise errors.InvalidParameter("Train from the project's datasets (CreateDataset); TrainingData and "
                                      "TestingData manifests are not supported.")
    train = session.scalar(select(CustomDataset).where(CustomDataset.project_pk == project.id,
                                                       CustomDataset.dataset_type == "TRAIN"))
    if train is None or train.status != "CREATE_COMPLETE":
        raise errors.InvalidParameter("The project needs a successfully created TRAIN dataset.")
    output = params["OutputConfig"]
    if not output.get("S3Bucket"):
        raise errors.InvalidParameter("OutputConfig.S3Bucket is required.")
    created = utcnow()
    name = params["VersionName"]
    arn = (f"arn:aws:rekognition:{get_settings().region}:{account_number(account)}:project/{project.name}/"
           f"version/{name}/{int(created.timestamp() * 1000)}")
    version = CustomProjectVersion(project_pk=project.id, version_name=name, version_arn=arn,
                                   status="TRAINING_IN_PROGRESS", status_message="Training in progress.",
                                   output_bucket=output["S3Bucket"], output_prefix=output.get("S3KeyPrefix") or "",
                                   description=params.get("VersionDescription"), created_at=created)
    try:
        with session.begin_nested():
            session.add(version)
    except IntegrityError:
        raise errors.ResourceInUse(f"The project already has a version named {name}.") from None
    enqueue_after_commit(session, train_project_version, version.id)
    return {"ProjectVersionArn": arn}


def _version_description(account: str, project: CustomProject, version: CustomProjectVersion) -> dict:
    out = {"ProjectVersionArn": version.version_arn, "CreationTimestamp": version.created_at.timestamp(),
           "Status": version.status, "Feature": "CUSTOM_LABELS",
           "OutputConfig": {"S3Bucket": version.output_bucket, "S3KeyPrefix": version.output_prefix}}
    if version.status_message:
        out["StatusMessage"] = version.status_message
    if version.min_inference_units:
        out["MinInferenceUnits"] = version.min_inference_units
    if version.description:
        out["VersionDescription"] = version.description
    if version.training_ended_at:
        out["TrainingEndTimestamp"] = version.training_ended_at.timestamp()
        out["BillableTrainingTimeInSeconds"] = round(version.training_seconds or 0)
    if version.evaluation:
        out["EvaluationResult"] = {"F1Score": version.evaluation["F1Score"],
                                   "Summary": {"S3Object": version.evaluation["Summary"]}}
    return out


@operation("DescribeProjectVersions")
def describe_project_versions(session: Session, account: str, params: dict) -> dict:
    project = find_project(session, account, params["ProjectArn"])
    view = f"versions/{project.id}"
    after, limit = _page(params, account, view)
    query = select(CustomProjectVersion).where(CustomProjectVersion.project_pk == project.id)
    if params.get("VersionNames"):
        query = query.where(CustomProjectVersion.version_name.in_(params["VersionNames"]))
    if after is not None:
        query = query.where(CustomProjectVersion.id < after)
    rows = session.scalars(query.order_by(CustomProjectVersion.id.desc()).limit(limit + 1)).all()
    out = {"ProjectVersionDescriptions": [_version_description(account, project, v) for v in rows[:limit]]}
    if len(rows) > limit:
        out["NextToken"] = _token(account, view, rows[limit - 1].id)
    return out


@operation("StartProjectVersion")
def start_project_version(session: Session, account: str, params: dict) -> dict:
    """A trained version serves at once: the image workers load its head on first use."""
    version = find_version(session, account, params["ProjectVersionArn"], lock=True)
    if version.status == "RUNNING":
        raise errors.ResourceInUse("The project version is already running.")
    if version.status not in ("TRAINING_COMPLETED", "STOPPED"):
        raise errors.ResourceInUse(f"The project version is {version.status}; only a trained version can start.")
    version.status, version.status_message = "RUNNING", "The model is running."
    version.min_inference_units = params["MinInferenceUnits"]
    return {"Status": version.status}


@operation("StopProjectVersion")
def stop_project_version(session: Session, account: str, params: dict) -> dict:
    version = find_version(session, account, params["ProjectVersionArn"], lock=True)
    if version.status != "RUNNING":
        raise errors.ResourceInUse(f"The project version is {version.status}, not RUNNING.")
    version.status, version.status_message = "STOPPED", "The model is stopped."
    return {"Status": version.status}


@operation("DeleteProjectVersion")
def delete_project_version(session: Session, account: str, params: dict) -> dict:
    """Its files stay where the user asked them written; a training run still going stops."""
    version = find_version(session, account, params["ProjectVersionArn"], lock=True)
    if version.status == "RUNNING":
        raise errors.ResourceInUse("Stop the project version before deleting it.")
    session.delete(version)
    return {"Status": "DELETING"}


# The API reference: "the maximum image size you can pass to DetectCustomLabels is 4MB" (other
# image calls take 5 MB of bytes).
CUSTOM_LABELS_MAX_IMAGE_BYTES = 4 * 1024 * 1024


@operation("DetectCustomLabels")
def detect_custom_labels(session: Session, account: str, params: dict) -> dict:
    encoded = (params.get("Image") or {}).get("Bytes")
    if isinstance(encoded, str) and len(encoded) * 3 // 4 - encoded[-2:].count("=") > CUSTOM_LABELS_MAX_IMAGE_BYTES:
        raise errors.ImageTooLarge()
    version = find_version(session, account, params["ProjectVersionArn"])
    if version.status != "RUNNING":
        raise errors.ResourceNotReady(f"ProjectVersion {params['ProjectVersionArn']} is {version.status}, "
                                      "not RUNNING; start it with StartProjectVersion.")
    model = {"Bucket": version.output_bucket, "Name": version.evaluation["Model"], "Arn": version.version_arn}
    return images.call(session, account, DETECT_FUNCTION, {**params, "Model": model})


@operation("UpdateDatasetEntries")
def update_dataset_entries(session: Session, account: str, params: dict) -> dict:
    """Add manifest lines to a dataset, replacing any entry with the same source-ref; all or none."""
    _, dataset = find_dataset(session, account, params["DatasetArn"])
    try:
        text = base64.b64decode(params["Changes"]["GroundTruth"], validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise errors.InvalidParameter("Changes.GroundTruth must be UTF-8 JSON Lines.") from None
    manifest = custom_manifest.parse(text.splitlines(), _exists)
    dataset.updated_at = utcnow()
    if manifest.errors:
        dataset.status, dataset.status_message_code = "UPDATE_FAILED", "CLIENT_ERROR"
        dataset.status_message = f"The changes have {len(manifest.errors)} error(s): {manifest.summary()}"
        return {}
    refs = [entry.source_ref for entry in manifest.entries]
    session.execute(delete(CustomDatasetEntry).where(CustomDatasetEntry.dataset_pk == dataset.id,
                                                     CustomDatasetEntry.source_ref.in_(refs)))
    _add_entries(session, dataset, manifest.entries)
    dataset.status, dataset.status_message_code = "UPDATE_COMPLETE", "SUCCESS"
    dataset.status_message = "The dataset was successfully updated."
    return {}
