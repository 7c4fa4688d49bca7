"""Patterns of form fields, run on RE2: matching takes time linear in the answer's length.

A form designer (a company admin too) writes the patterns and anonymous visitors send the
answers, so a backtracking engine would let one crafted answer hold a process for seconds
(``^(a|a)*$`` against ``"a" * 30 + "!"``). RE2 has no backtracking; what it cannot run that
way (back-references, look-around) it refuses to compile, and the designer is told so when
the form is saved. Every place a form's pattern is checked goes through this module,
``jsonschema``'s ``pattern`` keyword included (``forms.validation``).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import re2

logger = logging.getLogger(__name__)

_OPTIONS = re2.Options()
# A refused pattern is reported to the designer; RE2 need not write it to stderr as well.
_OPTIONS.log_errors = False


class PatternError(ValueError):
    """RE2 cannot compile the pattern: a back-reference, look-around, or too large."""


@functools.lru_cache(maxsize=512)
def compiled(pattern: str) -> Any:
    """The compiled pattern, kept: every answer to a form checks the same few patterns."""
    try:
        return re2.compile(pattern, options=_OPTIONS)
    except re2.error as error:
        reason = error.args[0] if error.args else error
        raise PatternError(reason.decode() if isinstance(reason, bytes) else str(reason)) from None


def search(pattern: str, text: str) -> bool:
    """Whether the pattern matches somewhere in the text (JSON Schema's ``pattern``)."""
    return compiled(pattern).search(text) is not None


def pattern_keyword(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    """``jsonschema``'s ``pattern`` keyword on RE2. A stored pattern RE2 cannot compile (only
    a version published before patterns were checked with RE2 can have one) refuses the
    answer rather than falling back to a backtracking engine."""
    from jsonschema.exceptions import ValidationError

    if not validator.is_type(instance, "string"):
        return
    try:
        matched = search(pattern, instance)
    except PatternError:
        logger.error("a form's pattern cannot run on RE2: %r", pattern)
        matched = False
    if not matched:
        yield ValidationError(f"{instance[:100]!r} does not match {pattern!r}")
