"""/v1/webhooks: register endpoints for this key's job events (or one job's), read the delivery
log, redeliver. Targets are checked against the SSRF guard here and again at every delivery."""
from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from jobs import services, webhooks
from jobs.database import session_scope
from jobs.errors import ServiceError
from jobs.records import OutboxEvent, WebhookEndpoint
from web.rest import schemas
from web.rest.auth import require_key
from web.rest.errors import service_error

bp = Blueprint("webhooks", __name__, description="Signed webhook endpoints and their delivery log")
bp.before_request(require_key)
bp.register_error_handler(ServiceError, service_error)


def endpoint_view(endpoint: WebhookEndpoint) -> dict:
    return {"id": endpoint.id, "url": endpoint.url, "job_id": endpoint.job_id, "description": endpoint.description,
            "secret": endpoint.secret, "created_at": endpoint.created_at}


def delivery_view(session, event: OutboxEvent) -> dict:
    return {"id": event.id, "event_id": event.event_id, "type": event.payload.get("type", ""),
            "job_id": event.job_id, "created_at": event.created_at, "attempts": event.attempts,
            "next_attempt_at": event.next_attempt_at, "delivered_at": event.delivered_at,
            "failed_at": event.failed_at, "last_error": event.last_error,
            "log": [{"attempted_at": a.attempted_at, "status_code": a.status_code,
                     "latency_millis": a.latency_millis, "error": a.error}
                    for a in webhooks.attempts(session, event)]}


@bp.route("")
class Endpoints(MethodView):
    @bp.response(200, schemas.EndpointListSchema)
    def get(self):
        """This key's webhook endpoints."""
        with session_scope() as session:
            return {"endpoints": [endpoint_view(e) for e in webhooks.endpoints(session, g.account)]}

    @bp.arguments(schemas.EndpointCreateSchema)
    @bp.response(201, schemas.EndpointSchema)
    def post(self, body):
        """Register an endpoint; events are POSTed to it signed with the returned secret."""
        with session_scope() as session:
            if body.get("job_id"):
                services.find_job(session, g.account, body["job_id"])
            endpoint = webhooks.register(session, g.account, url=body["url"], job_id=body.get("job_id"),
                                         description=body.get("description"))
            return endpoint_view(endpoint)


@bp.route("/<endpoint_id>")
class Endpoint(MethodView):
    @bp.response(200, schemas.EndpointSchema)
    def get(self, endpoint_id: str):
        """One endpoint, with its signing secret."""
        with session_scope() as session:
            return endpoint_view(webhooks.find(session, g.account, endpoint_id))

    @bp.response(204)
    def delete(self, endpoint_id: str):
        """Stop sending to this endpoint."""
        with session_scope() as session:
            webhooks.delete(session, g.account, endpoint_id)


@bp.route("/<endpoint_id>/deliveries")
@bp.arguments(schemas.DeliveryArgs, location="query")
@bp.response(200, schemas.DeliveryListSchema)
def deliveries(args, endpoint_id: str):
    """The delivery log, newest first: each event's attempts, status codes, latencies and errors."""
    with session_scope() as session:
        endpoint = webhooks.find(session, g.account, endpoint_id)
        events = webhooks.deliveries(session, endpoint, after=args.get("cursor"), limit=args["limit"] + 1)
        following = events[args["limit"] - 1].id if len(events) > args["limit"] else None
        return {"deliveries": [delivery_view(session, e) for e in events[:args["limit"]]],
                "next_cursor": following}


@bp.route("/<endpoint_id>/deliveries/<int:delivery_id>/redeliver", methods=["POST"])
@bp.response(202, schemas.DeliverySchema)
def redeliver(endpoint_id: str, delivery_id: int):
    """Send a delivery again now (same webhook-id), whether it succeeded, failed or gave up."""
    from jobs.tasks import dispatch_notifications, enqueue_after_commit

    with session_scope() as session:
        endpoint = webhooks.find(session, g.account, endpoint_id)
        event = webhooks.find_delivery(session, endpoint, delivery_id)
        webhooks.redeliver(session, event)
        enqueue_after_commit(session, dispatch_notifications)
        return delivery_view(session, event)
