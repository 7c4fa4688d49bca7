"""The visitor platform: the Django project and the core domain packages."""

from visit_platform.celery import app as celery_app

__all__ = ["celery_app"]
