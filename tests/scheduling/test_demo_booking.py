"""The demo's booking pages and calendar feed."""

import pytest
from django.test import Client

from salesline.accounts import services as accounts
from salesline.demo_booking import DEMO_EMAIL, booking_at_work
from salesline.scheduling.models import BookingPage

from .booking_fixtures import next_weekday

pytestmark = pytest.mark.django_db


def test_each_salesperson_gets_a_page_the_team_one_and_the_demo_login_a_feed(org, user):
    system = accounts.system_actor(org)
    second = accounts.user_create(
        email="bo@piql.test", actor=system, role="salesperson", full_name="Bo Berg"
    )
    accounts.user_create(email=DEMO_EMAIL, actor=system, role="salesperson")
    path = booking_at_work([org])
    pages = BookingPage.objects.filter(organisation=org)
    assert pages.count() == 4  # three salespeople and the team
    team = pages.get(kind="business_development")
    assert team.team.count() == 2 and team.duration_minutes == 60
    bo = pages.get(owner=second, kind="call")
    assert bo.title == "30-minute call with Bo Berg"
    visitor = Client()
    assert visitor.get(f"/book/{bo.slug}").status_code == 200
    slots = visitor.get(f"/api/v1/booking/{bo.slug}/slots?date={next_weekday()}").json()
    assert slots  # 10-minute buffers, nothing booked yet: the day is open
    assert path is not None and visitor.get(path).status_code == 200
