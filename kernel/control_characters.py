"""Control characters in input: NUL and the other C0 codes (tab, CR and LF allowed), which no
field of ours stores and PostgreSQL refuses (NUL) with a server error."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

# C0 codes but tab (09), line feed (0a) and carriage return (0d).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
# The same codes written as JSON escapes (\u0000 ...), but not an escaped backslash followed
# by the letters "u0000", which is text.
_JSON_ESCAPED_CONTROL = re.compile(rb"(?<!\\)(?:\\\\)*\\u00(?:[01][0-8bBcCeEfF]|1[0-9a-fA-F])")


def has_control_characters(text: str) -> bool:
    return _CONTROL.search(text) is not None


def json_has_control_characters(body: bytes) -> bool:
    """Whether a JSON document's strings hold control characters. Raw ones make it invalid
    JSON already; this finds the escaped ones. The first test is a plain scan, so a body
    without any ``\\u00`` costs next to nothing."""
    if b"\\u00" not in body:
        return False
    return _JSON_ESCAPED_CONTROL.search(body) is not None


def _refuse_control_characters(value: str) -> str:
    if has_control_characters(value):
        raise ValueError("control characters (such as NUL) are not allowed")
    return value


# A text field of an API schema that may reach the database: pydantic answers a control
# character with the API's usual 422, where PostgreSQL would fail on NUL with a 500.
PlainText = Annotated[str, AfterValidator(_refuse_control_characters)]
