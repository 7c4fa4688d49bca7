"""Domain errors: a stable code for machines and a human message for people."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Raised by actions when a request cannot be carried out; nothing has been changed.

    ``code`` is a stable string shared by the API, the audit log and the UI; ``message`` is
    already translated for the person who asked; ``details`` may name fields or rows.
    """

    status = 400

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = str(message)
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class PermissionDeniedError(DomainError):
    """The actor's role in this building does not allow the action."""

    status = 403


class NotFoundError(DomainError):
    """The object does not exist, or the actor may not know that it exists."""

    status = 404


class GoneError(DomainError):
    """The thing existed but may no longer be used (a spent or expired link)."""

    status = 410


class RateLimitedError(DomainError):
    """Asked too often; the same request will work later."""

    status = 429


class ConflictError(DomainError):
    """Someone else changed the thing first (two approvers at once); the message says how."""

    status = 409
