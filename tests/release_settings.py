"""Settings for the release runner's tests: the project's, plus a building app whose migrations
exist only here (``tests.release_probe``), so a test has migrations pending in its buildings.

The worker processes load settings by name, so they see the same migrations as the test.
``RELEASE_PROBE_MIGRATIONS`` names another set of the app's migrations (a non-atomic one).
"""

import os

from visit_platform.settings import *  # noqa: F403
from visit_platform.settings import INSTALLED_APPS, TENANT_APPS

RELEASE_PROBE_APP = "tests.release_probe"
TENANT_APPS = [*TENANT_APPS, RELEASE_PROBE_APP]
INSTALLED_APPS = [*INSTALLED_APPS, RELEASE_PROBE_APP]
MIGRATION_MODULES = {
    "release_probe": os.environ.get("RELEASE_PROBE_MIGRATIONS", "tests.release_probe.migrations")
}
