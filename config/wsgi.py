import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from django.conf import settings  # noqa: E402  (after the application set up Django)
from django.core.exceptions import ImproperlyConfigured  # noqa: E402

if settings.EMBEDDED_KEY and not settings.DEBUG:
    # production serves only with its own key: the embedded development key is public
    raise ImproperlyConfigured("SECRET_KEY must be set: the web server does not run on the embedded "
                               "development key unless DEBUG=1 is asked for")
