from django.apps import AppConfig


class BenchReleaseConfig(AppConfig):
    name = "bench.release_app"
    label = "bench_release"
