"""Settings for ``bench/scale.py``: the platform's own, plus the bench's pending migration when
``BENCH_RELEASE_APP=1`` (the release phase, and the worker processes it starts)."""

import os

from visit_platform.settings import *  # noqa: F403
from visit_platform.settings import INSTALLED_APPS, TENANT_APPS

if os.environ.get("BENCH_RELEASE_APP") == "1":
    TENANT_APPS = [*TENANT_APPS, "bench.release_app"]
    INSTALLED_APPS = [*INSTALLED_APPS, "bench.release_app"]
