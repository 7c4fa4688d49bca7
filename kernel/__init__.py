"""The kernel: what every layer may use and what imports nothing above it (errors, personal
data protection, process caches, phone numbers, the JSON API plumbing, and the Django-free
pass-token format). ``tenants`` and ``visit_platform.settings`` belong to it too.

This package's ``__init__`` imports nothing, so that ``kernel.pass_tokens`` loads without
Django on a gate agent's machine."""
