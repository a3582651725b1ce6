import os

from django.core.wsgi import get_wsgi_application

from config import telemetry

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
# Before the handler loads the middleware: Django's instrumentation inserts its own. Off unless
# OTEL_ENABLED (docs/deploying.md#traces).
telemetry.setup("web")
application = get_wsgi_application()
