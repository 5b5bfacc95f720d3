import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
application = get_wsgi_application()

# Build the URL configuration now (the API's routes and schemas: ~0.3 s) rather than in the
# first request; under gunicorn's preload_app the workers inherit it ready-made.
URL_PATTERNS = get_resolver().url_patterns

# Move everything loaded so far out of the garbage collector's sight: it is never garbage, and
# a full collection scanning it stalled a request for tens of milliseconds. Under preload_app
# the workers inherit it frozen (and share those pages with the master instead of copying them
# when the collector would have touched them).
gc.collect()
gc.freeze()
