"""Face detection: StartFaceDetection / GetFaceDetection, and DetectFaces on images.

Every sampled frame's faces (YuNet) with Rekognition's `FaceDetail`: the DEFAULT members always
(BoundingBox, Confidence, the five Landmarks, Pose from them, Quality from the pixels) and, with
`FaceAttributes=ALL`, what a packaged model really produces (AgeRange, Gender, Emotions; see
models/face_detail.py for the attributes left out). Faces carry no identity across frames here,
as in Rekognition.
"""
from __future__ import annotations

from jobs import errors
from jobs.analyses import Analysis, Frames, Row, register
from jobs.face_frames import found_faces, image_faces, model_names
from jobs.images import image_operation, worker_function
from models.face_detail import requested


@register
class FaceDetection(Analysis):
    name = "faces"
    start_op = "StartFaceDetection"
    get_op = "GetFaceDetection"
    items_key = "Faces"

    def options(self, request: dict, settings) -> dict:
        return {"SampleFps": settings.sample_fps, "FaceAttributes": request.get("FaceAttributes") or "DEFAULT"}

    def model_names(self, options: dict | None = None) -> tuple[str, ...]:
        return model_names(requested((options or {}).get("FaceAttributes", "DEFAULT")))

    def rows(self, frames: Frames, infer, options: dict, state) -> list[Row]:
        extras = requested(options["FaceAttributes"])
        return [Row(timestamp, {"Timestamp": timestamp, "Face": found.detail})
                for timestamp, faces in zip(frames.timestamps_millis, found_faces(frames, infer, extras), strict=True)
                for found in faces]


def attributes(params: dict, key: str = "Attributes") -> frozenset[str]:
    try:
        return requested(params.get(key) or ["DEFAULT"])
    except ValueError as error:
        raise errors.InvalidParameter(str(error)) from None


@image_operation("DetectFaces")
def detect_faces(images: dict, params: dict, infer) -> dict:
    """DetectFaces: every face in the image, largest first (at most 100, as Rekognition)."""
    faces = image_faces(images["Image"], infer, attributes(params))
    return {"FaceDetails": [found.detail for found in faces[:100]]}


FACE_VECTORS = "framewise.FaceVectors"


@worker_function(FACE_VECTORS)
def face_vectors(images: dict, params: dict, infer) -> dict:
    """The worker half of IndexFaces, SearchFacesByImage and RecognizeCelebrities: every face of
    `Image` with its FaceDetail (`Attributes` as DetectFaces takes them) and its unit vector."""
    image = images["Image"]
    faces = image_faces(image, infer, attributes(params), embed=True)
    return {"Width": int(image.shape[1]), "Height": int(image.shape[0]),
            "Faces": [{"FaceDetail": found.detail, "Vector": found.embedding.vector.astype(float).tolist()}
                      for found in faces]}


def compared_face(detail: dict) -> dict:
    """Rekognition's ComparedFace: the default FaceDetail members (no age, gender, emotions)."""
    return {key: detail[key] for key in ("BoundingBox", "Confidence", "Landmarks", "Pose", "Quality")}


@image_operation("CompareFaces")
def compare_faces(images: dict, params: dict, infer) -> dict:
    """CompareFaces: the source image's largest face against every face of the target image."""
    from models.face_similarity import similarity

    source = image_faces(images["SourceImage"], infer, embed=True)
    if not source:
        raise errors.InvalidParameter("There are no faces in the source image. Should be at least 1.")
    targets = image_faces(images["TargetImage"], infer, embed=True, key=1)
    threshold = float(params.get("SimilarityThreshold", 80.0))
    matches, unmatched = [], []
    for target in targets[:100]:
        score = similarity(source[0].embedding.similarity(target.embedding))
        if score >= threshold:
            matches.append({"Similarity": score, "Face": compared_face(target.detail)})
        else:
            unmatched.append(compared_face(target.detail))
    matches.sort(key=lambda match: -match["Similarity"])
    return {"SourceImageFace": {"BoundingBox": source[0].detail["BoundingBox"],
                                "Confidence": source[0].detail["Confidence"]},
            "FaceMatches": matches, "UnmatchedFaces": unmatched}
