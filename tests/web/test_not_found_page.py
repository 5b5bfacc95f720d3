"""An unknown address in production (DEBUG off) answers Salesline's own 404 page."""

from django.test import override_settings


@override_settings(DEBUG=False)
def test_an_unknown_network_is_the_styled_404_page(client, user):
    client.force_login(user)
    response = client.get("/networks/no-such-network/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "<h1>Not found</h1>" in page
    assert "salesline.css" in page
