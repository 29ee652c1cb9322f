"""Small contracts from the failure review: the error base is a 500, client tokens are forgotten
after their TTL, SNS signs with its own key, standalone keeps its generated secrets."""
from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import update

from jobs import errors, notify, services
from jobs.cli import standalone_env
from jobs.database import session_scope
from jobs.records import Job
from tests.conftest import clear_caches

ACCOUNT = "AKIDFAILUREPATHS0001"  # its own tenant: its unfinished jobs count against no one else's limit


def test_the_error_base_is_an_internal_error_and_a_500():
    assert (errors.ServiceError.code, errors.ServiceError.http_status) == ("InternalServerError", 500)
    assert errors.by_code("NoSuchCode") is errors.ServiceError
    assert errors.by_code("ServiceUnavailableException").http_status == 503


def test_a_client_token_is_forgotten_after_its_ttl(video, framewise_env):
    token = secrets.token_hex(8)
    request = {"Video": video, "ClientRequestToken": token}
    with session_scope() as session:
        first = services.start_analysis_job(session, ACCOUNT, request, analysis="labels")["JobId"]
    with session_scope() as session:
        assert services.start_analysis_job(session, ACCOUNT, request, analysis="labels")["JobId"] == first
    old = dt.timedelta(days=framewise_env.client_token_ttl_days, hours=1)
    with session_scope() as session:
        session.execute(update(Job).where(Job.id == first).values(created_at=Job.created_at - old))
    with session_scope() as session:
        assert services.start_analysis_job(session, ACCOUNT, request, analysis="labels")["JobId"] != first


def test_sns_signs_with_its_own_credentials(framewise_env, monkeypatch):
    monkeypatch.setenv("FRAMEWISE_SNS_ENDPOINT_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("FRAMEWISE_SNS_ACCESS_KEY_ID", "SNSKEY")
    monkeypatch.setenv("FRAMEWISE_SNS_SECRET_ACCESS_KEY", "sns-secret")
    monkeypatch.setenv("FRAMEWISE_S3_ACCESS_KEY_ID", "S3KEY")
    clear_caches()
    try:
        assert notify._sns()._request_signer._credentials.access_key == "SNSKEY"
    finally:
        monkeypatch.undo()
        clear_caches()


def test_standalone_keeps_its_generated_key_and_token_secret(tmp_path, monkeypatch):
    for name in ("FRAMEWISE_CREDENTIALS", "FRAMEWISE_SECRET_KEY", "FRAMEWISE_S3_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FRAMEWISE_DATA_DIR", str(tmp_path / "data"))
    first, second = standalone_env(8000), standalone_env(8000)
    assert first["FRAMEWISE_CREDENTIALS"] == second["FRAMEWISE_CREDENTIALS"]
    assert first["FRAMEWISE_SECRET_KEY"] == second["FRAMEWISE_SECRET_KEY"]
    assert (tmp_path / "data" / "secrets" / "secret_key").stat().st_mode & 0o777 == 0o600
