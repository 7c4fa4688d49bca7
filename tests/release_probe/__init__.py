"""A building app for the release runner's tests: migrations and no models.

``0002`` adds a column with a default and an index, then fails in the building named by the
``RELEASE_PROBE_FAIL_SCHEMA`` environment variable (read when the migration runs, in whichever
process runs it).
"""
