"""Fuzz every operation of the OpenAPI document with schemathesis: whatever the input — wrong
types, odd strings, missing or extra fields, ids of nothing — the API answers, never a 500, and
its successful answers match the documented schemas."""

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from config.wsgi import application
from salesline.accounts import services as accounts
from salesline.process import services as process_services

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture(autouse=True)
def keep_the_test_transaction():
    """schemathesis calls the WSGI app directly, whose request hooks would close the connection
    holding the test's transaction; Django's test client disconnects them the same way."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def token(db):
    """A member of a real organisation, with a lead and an opportunity to aim at (made once per
    operation; every generated example of that operation shares them)."""
    from salesline.pipeline.services import opportunity_create
    from salesline.records.services import record_create

    org = process_services.organisation_create(name="Fuzz Co-op", template="partnerships")
    user = accounts.user_create(
        email="fuzz@salesline.test", actor=accounts.system_actor(org), role="admin"
    )
    actor = accounts.actor_for(user, org)
    record_create(actor=actor, kind="lead", data={"name": "Fuzzy Lead", "email": "f@fuzz.test"})
    opportunity_create(actor=actor, data={"name": "Fuzzy deal"})
    _, plain = accounts.token_create(user=user, actor=accounts.system_actor(org))
    return plain


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_never_answers_500(case, token):
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    case.validate_response(response, checks=[not_a_server_error])


@pytest.mark.slow
def test_api_workflows_never_answer_500(token):
    """Stateful: schemathesis chains operations by the links it infers (create a company, then
    read, patch, note or delete it; the same for every resource), so generated bodies reach
    records that exist, not only ids of nothing."""

    class Workflow(schema.as_state_machine()):
        # Every scenario starts from the same rows and an empty cache (rate-limit counters):
        # what one scenario created would otherwise change what the next one's links find (a
        # name taken, a limit reached), and Hypothesis refuses a machine whose rules behave
        # differently on replay (FlakyStrategyDefinition).
        def setup(self):
            cache.clear()
            self.savepoint = transaction.savepoint_create()

        def teardown(self):
            transaction.savepoint_rollback(self.savepoint)

        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Bearer {token}"}}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=[not_a_server_error])

    Workflow.run(
        settings=settings(
            max_examples=40,
            stateful_step_count=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
