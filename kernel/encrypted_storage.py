"""Files kept encrypted at rest: what a visitor's face photo is stored through.

The bytes on disk are ``kernel.privacy.encrypt_bytes`` of the file, under the same keys (and
key ids, for rotation) as the encrypted columns, so a copy of MEDIA_ROOT shows no face. Code
that opens the file through the field (``visitor.photo.open("rb")``) reads the image: the
storage decrypts it there, where it is shown or matched, and nowhere else. The file's URL is
useless (the web server would hand out ciphertext): photos are served by views that read
them, never by MEDIA_URL.
"""

from __future__ import annotations

import io
import os
from typing import Any

from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage

from kernel.privacy import decrypt_bytes, encrypt_bytes, is_encrypted_bytes


class EncryptedFileSystemStorage(FileSystemStorage):
    """A ``FileSystemStorage`` (MEDIA_ROOT) that encrypts on save and decrypts on open."""

    def _save(self, name: str, content: File[Any]) -> str:
        content.seek(0)
        data = content.read()
        if isinstance(data, str):
            data = data.encode("utf-8")
        return super()._save(name, ContentFile(encrypt_bytes(data)))  # type: ignore[misc]

    def _open(self, name: str, mode: str = "rb") -> File[Any]:
        if "w" in mode or "a" in mode or "+" in mode:
            raise ValueError("Encrypted files are written by saving them, not opened for writing.")
        with super()._open(name, "rb") as stored:  # type: ignore[misc]
            data = stored.read()
        return File(io.BytesIO(decrypt_bytes(data)), name=name)

    def read_stored(self, name: str) -> bytes:
        """The bytes as they lie on disk (for the data migration and tests)."""
        with super()._open(name, "rb") as stored:  # type: ignore[misc]
            data: bytes = stored.read()
        return data

    def encrypt_in_place(self, name: str) -> bool:
        """Encrypt a file written before photos were encrypted; say whether it was plain."""
        data = self.read_stored(name)
        if is_encrypted_bytes(data):
            return False
        self._replace(name, encrypt_bytes(data))
        return True

    def decrypt_in_place(self, name: str) -> bool:
        """Undo ``encrypt_in_place`` (the migration's way back); say whether it was encrypted."""
        data = self.read_stored(name)
        if not is_encrypted_bytes(data):
            return False
        self._replace(name, decrypt_bytes(data))
        return True

    def _replace(self, name: str, data: bytes) -> None:
        path = self.path(name)
        temporary = f"{path}.tmp"
        with open(temporary, "wb") as file:
            file.write(data)
        os.replace(temporary, path)


def photo_storage() -> EncryptedFileSystemStorage:
    """The storage of ``Visitor.photo`` (a callable, so the migration names no settings)."""
    return EncryptedFileSystemStorage()
