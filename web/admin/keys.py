"""API keys and webhook endpoints: create (the secret is shown once, in the answer to the POST,
never stored by this page or put in a URL), revoke, see when each was last used.

Keys go through jobs/api_keys.py and endpoints through jobs/webhooks.py, the same functions the
CLI and the REST API call, so the SSRF guard and the key format are theirs."""
from __future__ import annotations

from flask import render_template, request, url_for
from sqlalchemy import func, select

from jobs import api_keys, services, webhooks
from jobs.database import session_scope
from jobs.errors import ClientError
from jobs.records import ApiKey, OutboxEvent, WebhookAttempt, WebhookEndpoint
from web.admin import bp
from web.admin.job_actions import answer


def _context(db) -> dict:
    keys = api_keys.listing(db, include_revoked=True)
    endpoints = list(db.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)))
    # An endpoint's last use: its latest delivery attempt (one grouped read over the attempt log).
    channel = func.substr(OutboxEvent.channel, len(webhooks.CHANNEL) + 1)
    last = dict(db.execute(select(channel, func.max(WebhookAttempt.attempted_at))
                           .join(OutboxEvent, OutboxEvent.id == WebhookAttempt.outbox_id)
                           .where(OutboxEvent.channel.startswith(webhooks.CHANNEL)).group_by(channel)).all())
    tenants = sorted(set(services.job_accounts(db)) | {k.account for k in keys})
    return {"keys": [_key_view(k) for k in keys],
            "endpoints": [{"id": e.id, "tenant": e.account, "url": e.url, "job": e.job_id,
                           "description": e.description, "created": _when(e.created_at),
                           "last_used": _when(last.get(e.id))} for e in endpoints],
            "tenants": tenants}


def _when(moment) -> str | None:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else None


def _key_view(key: ApiKey) -> dict:
    return {"id": key.id, "name": key.name, "tenant": key.account, "created": _when(key.created_at),
            "last_used": _when(key.last_used_at), "revoked": _when(key.revoked_at)}


def _page(status: int = 200, **shown):
    with session_scope() as db:
        page = render_template("admin/keys.html", **_context(db), **shown)
    # A page that may carry a secret is never cached or kept in the history's cache.
    return page, status, {"Cache-Control": "no-store"}


@bp.get("/keys")
def keys():
    return _page()


@bp.post("/keys")
def key_create():
    name = request.form.get("name", "").strip()[:255] or None
    tenant = request.form.get("tenant", "").strip()[:128] or None
    with session_scope() as db:
        created = api_keys.create(db, name=name, account=tenant)
    return _page(201, new_key=created)


@bp.post("/keys/<key_id>/revoke")
def key_revoke(key_id: str):
    try:
        with session_scope() as db:
            api_keys.revoke(db, key_id)
    except ClientError as error:
        return answer(str(error), ok=False, to=url_for("admin.keys"))
    return answer(f"Revoked the key {key_id}.", ok=True, to=url_for("admin.keys"))


@bp.post("/webhooks")
def webhook_create():
    form = {k: request.form.get(k, "").strip() for k in ("tenant", "url", "description")}
    if not form["tenant"] or not form["url"]:
        return _page(400, webhook_error="A tenant and a URL are both needed.", form=form)
    try:
        with session_scope() as db:
            endpoint = webhooks.register(db, form["tenant"], url=form["url"],
                                         description=form["description"][:255] or None)
            new = {"id": endpoint.id, "secret": endpoint.secret, "url": endpoint.url}
    except ClientError as error:  # the SSRF guard's refusal, in its own words
        return _page(400, webhook_error=str(error), form=form)
    return _page(201, new_endpoint=new)


@bp.post("/webhooks/<endpoint_id>/delete")
def webhook_delete(endpoint_id: str):
    try:
        with session_scope() as db:
            endpoint = db.get(WebhookEndpoint, endpoint_id)
            webhooks.delete(db, endpoint.account if endpoint else "", endpoint_id)
    except ClientError as error:
        return answer(str(error), ok=False, to=url_for("admin.keys"))
    return answer(f"Deleted the webhook endpoint {endpoint_id}.", ok=True, to=url_for("admin.keys"))
