from django.urls import path
from django.views.generic import RedirectView

from salesline.api.v1 import api

urlpatterns = [
    path("api/v1/", api.urls),
    # Until the web application lands, the front door is the interactive API documentation.
    path("", RedirectView.as_view(url="/api/v1/docs", permanent=False)),
]
