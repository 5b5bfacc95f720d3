"""The REST API, version 1: /api/v1, OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs."""

from functools import partial

from django.core.exceptions import RequestDataTooBig
from django.db import DataError
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError

from salesline.core.errors import DomainError

from . import (
    agreements,
    appointments,
    booking,
    campaigns,
    capacity,
    capacity_simulations,
    dashboard,
    documents,
    enquiries,
    enquiry_triage,
    imports,
    members,
    message_templates,
    messages,
    metrics,
    network_directory,
    networks,
    organisation,
    people,
    places,
    plans,
    process,
    rota,
    tasks,
    work,
)
from . import forecast as forecast_api
from . import jobs as jobs_api
from .common import (
    BearerToken,
    BoundedJsonParser,
    body_too_big_response,
    domain_error_response,
    http_error_response,
    out_of_range_response,
    validation_error_response,
)
from .records import record_router
from .renderer import OrjsonRenderer

api = NinjaAPI(
    title="Salesline API",
    version="1",
    description="Records, pipelines with stage gates, lead conversion. "
    "Authenticate with `Authorization: Bearer <token>` (`salesline token create`).",
    auth=BearerToken(),
    renderer=OrjsonRenderer(),
    parser=BoundedJsonParser(),
    urls_namespace="api-v1",
)
api.add_exception_handler(DomainError, partial(domain_error_response, api))
api.add_exception_handler(HttpError, partial(http_error_response, api))
api.add_exception_handler(ValidationError, partial(validation_error_response, api))
api.add_exception_handler(RequestDataTooBig, partial(body_too_big_response, api))
# SQLite raises OverflowError, PostgreSQL DataError, for an integer beyond 64 bits.
api.add_exception_handler(OverflowError, partial(out_of_range_response, api))
api.add_exception_handler(DataError, partial(out_of_range_response, api))

for _kind, _path in (
    ("company", "companies"),
    ("person", "people"),
    ("lead", "leads"),
    ("opportunity", "opportunities"),
):
    api.add_router(f"/{_path}", record_router(api, _kind))

process.register_notes(api)
process.register_pipelines(api)
process.register_custom_fields(api)
api.add_router("/notes", process.notes)
api.add_router("/pipelines", process.pipelines)
api.add_router("/custom-fields", process.custom_fields)
api.add_router("/imports", imports.router)
tasks.register(api)
api.add_router("/documents", documents.router)
message_templates.register(api)
api.add_router("/message-templates", message_templates.router)
api.add_router("/merge-fields", message_templates.merge_fields)
messages.register(api)
api.add_router("/organisation", organisation.router)
agreements.register(api)
api.add_router("/jobs", jobs_api.router)
dashboard.register(api)
api.add_router("/metrics", metrics.router)
api.add_router("/forecast", forecast_api.router)
campaigns.register(api)
api.add_router("/metrics/people", people.router)
appointments.register(api)
api.add_router("/members", members.members)
api.add_router("/me", members.me)
plans.register(api)
places.register(api)
places.register_travel_times(api)
booking.register(api)
work.register(api)
capacity.register(api)
capacity_simulations.register(api)
enquiries.register(api)
enquiry_triage.register(api)
rota.register(api)
networks.register(api)
network_directory.register(api)
