"""The demo's opportunities come rated, every band present, as `salesline init --demo` leaves
them."""

import pytest

from salesline import demo
from salesline.analytics.models import QualityRating
from salesline.pipeline.models import Opportunity


@pytest.mark.django_db
def test_every_demo_opportunity_is_rated():
    demo.load_demo()
    live = Opportunity.objects.filter(deleted_at=None)
    assert QualityRating.objects.count() == live.count() > 0
    assert not live.filter(quality_rating__isnull=True).exists()
    bands = set(QualityRating.objects.values_list("band", flat=True))
    assert bands == {"good", "fair", "poor"}
