"""WSGI entry point: production serves plain HTTP here (see docs/deploy.md)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "psp_crm.settings")
application = get_wsgi_application()
