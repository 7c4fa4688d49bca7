"""The values of an Official Account as WeChat's admin page shapes them: what a valid AppID,
AppSecret, token, EncodingAESKey and template id look like, new tokens and keys, and secrets
as screens show them. Shared by the operator's admin and the property admin's console."""

from __future__ import annotations

import re
import secrets
import string

APPID_PATTERN = re.compile(r"wx[0-9a-fA-F]{16}")
SECRET_PATTERN = re.compile(r"[A-Za-z0-9]{16,64}")
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9]{3,32}")
AES_KEY_PATTERN = re.compile(r"[A-Za-z0-9]{43}")
TEMPLATE_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
_AES_ALPHABET = string.ascii_letters + string.digits


def new_token() -> str:
    """A token for WeChat's 服务器配置 (3 to 32 letters and digits)."""
    return secrets.token_hex(16)


def new_encoding_aes_key() -> str:
    """An EncodingAESKey (43 letters and digits), as WeChat's admin page makes them."""
    return "".join(secrets.choice(_AES_ALPHABET) for _ in range(43))


def masked(value: str) -> str:
    """A secret as screens show it: its last four characters only."""
    if not value:
        return ""
    return f"••••{value[-4:]}" if len(value) > 8 else "••••"
