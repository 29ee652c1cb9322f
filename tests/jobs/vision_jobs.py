"""Running one job over a real clip in this process, for the vision analyses' tests."""
from __future__ import annotations

import secrets
import shutil

from jobs import analyses, lifecycle, services
from jobs.database import session_scope
from tests.conftest import media

ACCOUNT = "AKIDUNIT000000000001"


def upload(env, relative: str) -> dict:
    """A shared-media clip under a fresh name in the local bucket "unit", as a Video member."""
    source = media(relative)
    name = f"{secrets.token_hex(3)}-{source.name}"
    shutil.copyfile(source, env.bucket_root / "unit" / name)
    return {"S3Object": {"Bucket": "unit", "Name": name}}


def run_job(env, relative: str, requests: dict[str, dict], **options) -> str:
    """Start a job running each named analysis with its request (options overridden by
    `options`, e.g. a lower SampleFps to keep a test short), then plan, analyse every chunk and
    finalize it as the Celery tasks would. Returns the JobId."""
    video = upload(env, relative)
    planned = {name: {**analyses.get(name).options(request, env), **options} for name, request in requests.items()}
    with session_scope() as session:
        job_id = services.start_job(session, ACCOUNT, operation="test", request={"Video": video}, planned=planned)
    plan = lifecycle.plan(job_id)
    for index in plan.chunk_indexes:
        lifecycle.analyze(job_id, index)
    lifecycle.finalize(job_id)
    return job_id


def get(analysis: str, job_id: str, **kwargs) -> dict:
    """Every page of the Get answer, items joined."""
    pages, token = [], None
    while True:
        with session_scope() as session:
            page = services.get_results(session, ACCOUNT, analysis, job_id, next_token=token, **kwargs)
        pages.append(page)
        token = page.get("NextToken")
        if not token:
            break
    key = analyses.get(analysis).items_key
    answer = dict(pages[0])
    answer[key] = [item for page in pages for item in page.get(key, [])]
    answer.pop("NextToken", None)
    return answer
