"""Sign in and out, password change and reset (mail through Django's backend), the organisation
switcher and the home page — through Django's test client; browser tests come with the pages."""

import re

import pytest
from django.core import mail
from django.test import Client

from salesline.accounts import services as accounts
from salesline.pipeline.services import opportunity_create

PASSWORD = "correct horse battery staple"


@pytest.fixture
def member(org):
    return accounts.user_create(
        email="ann@piql.test",
        actor=accounts.system_actor(org),
        role="salesperson",
        password=PASSWORD,
    )


@pytest.fixture
def signed_in(member):
    client = Client()
    response = client.post("/login/", {"username": member.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_pages_need_a_signed_in_user():
    response = Client().get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_sign_in_and_out(member, org):
    client = Client()
    page = client.get("/login/")
    assert page.status_code == 200 and b'name="csrfmiddlewaretoken"' in page.content
    wrong = client.post("/login/", {"username": member.email, "password": "nope"})
    assert wrong.status_code == 200 and b'role="alert"' in wrong.content
    response = client.post("/login/", {"username": member.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert org.name.encode() in home.content and member.email.encode() in home.content
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_home_shows_my_open_opportunities_by_stage_and_empty_states(signed_in, member, org):
    actor = accounts.actor_for(member, org)
    page = signed_in.get("/")
    assert b"No open opportunities of yours yet." in page.content
    assert b"Nothing scheduled." in page.content
    opportunity_create(actor=actor, data={"name": "Archive for the county"})
    page = signed_in.get("/")
    assert b"No open opportunities" not in page.content
    assert re.search(rb"<td class=\"num\">1</td>", page.content)


def test_switching_organisation(signed_in, member, org, other_org):
    accounts.user_create(
        email=member.email, actor=accounts.system_actor(other_org), role="salesperson"
    )
    page = signed_in.get("/")
    assert b'<select id="organisation"' in page.content
    response = signed_in.post("/organisation/", {"organisation": other_org.pk})
    assert response.status_code == 302
    page = signed_in.get("/")
    assert re.search(rf'value="{other_org.pk}" selected'.encode(), page.content)


def test_switching_to_an_organisation_of_others_is_404(signed_in, other_org):
    assert signed_in.post("/organisation/", {"organisation": other_org.pk}).status_code == 404
    assert signed_in.post("/organisation/", {"organisation": "x"}).status_code == 404


def test_a_user_without_membership_is_told_so(db):
    from salesline.accounts.models import User

    user = User.objects.create_user(email="lonely@x.test", password=PASSWORD)
    client = Client()
    client.force_login(user)
    page = client.get("/")
    assert page.status_code == 403 and b"No organisation yet" in page.content


def test_password_change(signed_in, member):
    response = signed_in.post(
        "/password/change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a much better passphrase 2026",
            "new_password2": "a much better passphrase 2026",
        },
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.check_password("a much better passphrase 2026")


def test_password_reset_by_mail(member):
    client = Client()
    assert client.post("/password/reset/", {"email": member.email}).status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [member.email]
    link = re.search(r"http://testserver(/password/reset/\S+/)", mail.outbox[0].body)[1]
    form = client.get(link, follow=True)
    assert form.status_code == 200 and b"Choose a new password" in form.content
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "brand new passphrase 77", "new_password2": "brand new passphrase 77"},
    )
    assert done.status_code == 302
    member.refresh_from_db()
    assert member.check_password("brand new passphrase 77")


def test_password_reset_for_an_unknown_address_sends_nothing(db):
    assert Client().post("/password/reset/", {"email": "nobody@x.test"}).status_code == 302
    assert mail.outbox == []


def test_sign_in_is_throttled_after_five_failures(member, org):
    client = Client()
    for _ in range(4):
        page = client.post("/login/", {"username": member.email, "password": "wrong"})
        assert page.status_code == 200
    locked = client.post("/login/", {"username": member.email, "password": "wrong"})
    assert locked.status_code == 429 and b"Too many sign-in attempts" in locked.content
    # Even the right password waits out the lock.
    still = client.post("/login/", {"username": member.email, "password": PASSWORD})
    assert still.status_code == 429
    # Another account from the same address signs in.
    other = accounts.user_create(
        email="bo@piql.test",
        actor=accounts.system_actor(org),
        role="salesperson",
        password=PASSWORD,
    )
    assert (
        client.post("/login/", {"username": other.email, "password": PASSWORD}).status_code == 302
    )


def test_the_first_organisation_joined_is_the_default(member, org, db):
    from salesline.process.services import organisation_create

    earlier_by_name = organisation_create(name="Aardvark Co-op", template="partnerships")
    accounts.user_create(
        email=member.email, actor=accounts.system_actor(earlier_by_name), role="salesperson"
    )
    client = Client()
    client.force_login(member)
    page = client.get("/")
    assert re.search(rf'value="{org.pk}" selected'.encode(), page.content)


def test_home_lists_what_needs_attention_each_a_link(signed_in, member, org, admin_actor):
    """Late, closing within 14 days, and stalled — no edit, note or stage change for the
    stage's `stalled_after_days` (30 when the definition has none) — only the user's own open
    opportunities; the per-stage rows link to the filtered list."""
    import datetime as dt

    from django.utils import timezone

    from salesline.pipeline.models import Opportunity
    from salesline.records.services import note_create
    from tests.conftest import edit_definition

    def qualify_stalls_after_a_week(document):
        stages = document["pipelines"][0]["stages"]
        next(s for s in stages if s["key"] == "qualify")["stalled_after_days"] = 7

    edit_definition(admin_actor, qualify_stalls_after_a_week)
    actor = accounts.actor_for(member, org)
    today = timezone.localdate()

    def deal(name, days=None, idle=0, **data):
        close = {"expected_close_date": str(today + dt.timedelta(days=days))} if days else {}
        made = opportunity_create(actor=actor, data={"name": name, **close, **data})
        long_ago = timezone.now() - dt.timedelta(days=idle)
        Opportunity.objects.filter(pk=made.pk).update(
            updated_at=long_ago, stage_entered_at=long_ago
        )
        return made

    deal("Late one", days=-3)
    deal("Soon one", days=5)
    deal("Far one", days=60)
    deal("Idle one", idle=40)
    noted = deal("Idle but noted", idle=40)
    note_create(actor=actor, body="Called them", target={"opportunity_id": noted.pk})
    deal("Quiet a while", idle=10)  # identify: 30 days before it stalls
    Opportunity.objects.filter(pk=deal("Quiet in Qualify", idle=10).pk).update(
        stage=Opportunity.objects.get(name="Late one").pipeline.stages.get(key="qualify")
    )
    opportunity_create(
        actor=admin_actor, data={"name": "Not mine", "expected_close_date": "2020-01-01"}
    )

    page = signed_in.get("/").content.decode()
    attention = page[page.index('id="attention"') : page.index('id="my-deals"')]
    sections = dict(
        (name, attention[attention.index(f'id="att-{name}"') :])
        for name in ("overdue", "closing", "stalled")
    )
    overdue = sections["overdue"][: sections["overdue"].index("</section>")]
    closing = sections["closing"][: sections["closing"].index("</section>")]
    stalled = sections["stalled"][: sections["stalled"].index("</section>")]
    assert "Late one" in overdue and "Soon one" not in overdue and "Not mine" not in attention
    assert "Soon one" in closing and "Far one" not in closing and "Late one" not in closing
    assert "Idle one" in stalled and "Quiet in Qualify" in stalled
    assert "Idle but noted" not in stalled and "Quiet a while" not in stalled
    late = Opportunity.objects.get(name="Late one")
    assert f'href="/records/opportunities/{late.pk}/"' in overdue
    assert (
        f"?owner_id=me&amp;expected_close_date__gte={today:%Y-%m-%d}"
        f"&amp;expected_close_date__lte={today + dt.timedelta(days=14):%Y-%m-%d}" in closing
    )
    assert "?owner_id=me&amp;pipeline=business-development&amp;stage=identify" in page


@pytest.mark.parametrize(
    ("page", "lands"),
    [
        ("/records/leads/", "/records/leads/"),
        ("/records/leads/123/edit/", "/records/leads/"),
        ("/board/45/", "/board/"),
        ("/imports/6/mapping/", "/imports/"),
        ("/settings/fields/", "/settings/fields/"),
        ("https://evil.example/records/leads/", "/"),
        ("//evil.example/", "/"),
        ("/no/such/page/", "/"),
        ("", "/"),
    ],
)
def test_switching_organisation_keeps_the_page_when_the_other_has_it(
    signed_in, member, other_org, page, lands
):
    accounts.user_create(
        email=member.email, actor=accounts.system_actor(other_org), role="salesperson"
    )
    response = signed_in.post("/organisation/", {"organisation": other_org.pk, "next": page})
    assert response.status_code == 302 and response["Location"] == lands
    assert f'name="next" value="{lands}"'.encode() in signed_in.get(lands).content
