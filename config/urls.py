from django.urls import include, path

from salesline.api.v1 import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("", include("salesline.web.urls")),
]
