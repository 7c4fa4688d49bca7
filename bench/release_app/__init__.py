"""The pending migration of ``bench/scale.py``'s release: installed only when the environment
says ``BENCH_RELEASE_APP=1`` (``bench/scale_settings.py``), so buildings created before are one
migration behind, as on the day of a real release."""
