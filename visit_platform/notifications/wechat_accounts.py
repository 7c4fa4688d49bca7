"""A building's Official Account as its property admin runs it from the console: saving it
(secrets kept when left blank, token and EncodingAESKey made when missing), checking it
against WeChat, pushing its menu, and the scene QR codes for posters.

The account is a public-schema row that may serve several buildings; what is done to it here
is audited in the building whose admin did it, never with a secret in the details.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import qrcode
import redis
import requests
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _
from wechatpy.exceptions import WeChatClientException

from integrations.wechat.client import UNREACHABLE
from kernel.errors import DomainError
from kernel.process_cache import BUILDINGS, ProcessCache
from tenants.actions import building_url, platform_url
from tenants.db import current_schema
from tenants.models import Building, OfficialAccount
from tenants.official_accounts import (
    AES_KEY_PATTERN,
    APPID_PATTERN,
    SECRET_PATTERN,
    TEMPLATE_PATTERN,
    TOKEN_PATTERN,
    new_encoding_aes_key,
    new_token,
)
from visit_platform.audit.actions import Actor, record
from visit_platform.notifications.choices import Purpose
from visit_platform.notifications.wechat import client_for
from visit_platform.notifications.wechat_scenes import MAX_SCENE_LENGTH, Scene

# The notices an account can have a template for; one-time codes and the polite text to a
# visitor who overstayed (whose WeChat the building may not know) always go by SMS.
NOTICES = tuple(
    purpose
    for purpose in Purpose.values
    if purpose not in (Purpose.ONE_TIME_CODE, Purpose.OVERSTAY_VISITOR)
)


# The pages the menu's buttons open, by the name the building picker knows them by:
# ``/wechat/<appid>/go/<page>/`` on the platform's host leads to ``/wx/start/?next=<path>`` on
# the building chosen (straight there when the account serves one building).
PAGES = {"request": "/visit/request/", "me": "/me/", "staff": "/wx/staff/"}
MY_PASSES = "MY_PASSES"

# A permanent QR code's URL never changes; WeChat caps an account at 100,000 of them, so a
# code is made once and its URL remembered.
QR_URL_CACHE_SECONDS = 90 * 24 * 3600


def start_path(path: str) -> str:
    """The address on a building's domain that signs the WeChat user in, then opens ``path``."""
    return f"/wx/start/?{urlencode({'next': path})}"


def picker_url(account: OfficialAccount, page: str) -> str:
    """Where a menu button leads: the building picker of ``page`` on the platform's host."""
    return platform_url(f"/wechat/{account.appid}/go/{page}/")


def callback_url(account: OfficialAccount) -> str:
    """The URL to paste into WeChat's admin page (服务器配置)."""
    return platform_url(f"/wechat/{account.appid}/")


# --- The account behind a callback ---------------------------------------------------------

# WeChat's callbacks come in bursts (a crowd scanning an event's code): the account and its
# buildings are read once per process every few seconds, not on every event. A change made in
# this process shows at once, in the others within this time.
ACCOUNT_CACHE_SECONDS = 5


@dataclass(frozen=True)
class ServedAccount:
    """An Official Account and the buildings it serves (by name), as its callback needs them."""

    account: OfficialAccount
    buildings: tuple[Building, ...]

    def building(self, schema: str) -> Building | None:
        """The served building of this schema, or None: the account does not serve it."""
        return next((b for b in self.buildings if b.schema_name == schema), None)

    @property
    def language(self) -> str:
        """The language of the account's replies: its buildings' (one property company's)."""
        first = min(self.buildings, key=lambda building: building.pk, default=None)
        return first.default_language if first is not None else ""


# By AppID: an account serves one building or several (one property company's).
_served: ProcessCache[ServedAccount] = ProcessCache(
    ACCOUNT_CACHE_SECONDS, (OfficialAccount, Building), max_entries=BUILDINGS
)


def served_account(appid: str) -> ServedAccount | None:
    """The account with this AppID and its buildings, or None when there is none."""

    def load() -> ServedAccount | None:
        account = OfficialAccount.objects.filter(appid=appid).first()
        if account is None:
            return None
        return ServedAccount(account, tuple(account.buildings.order_by("name", "pk")))

    return _served.get(appid, load)


# --- Saving the account ---------------------------------------------------------------------


@dataclass(frozen=True)
class AccountFields:
    """What the console's form gives. A blank ``secret``, ``token`` or ``encoding_aes_key``
    keeps the account's value; on a new account a blank token and key are made up."""

    name: str
    appid: str
    secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""
    require_encryption: bool = True
    templates: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SavedAccount:
    """The account saved, and the values made up for it (shown once, to paste into WeChat)."""

    account: OfficialAccount
    generated: dict[str, str]


def _invalid(field_name: str, code: str, message: str) -> DomainError:
    return DomainError(code, message, field=field_name)


def _checked(fields: AccountFields, creating: bool) -> AccountFields:
    name = fields.name.strip()
    if not name or len(name) > 100:
        raise _invalid("name", "name_required", _("The account needs a name (100 characters)."))
    appid = fields.appid.strip()
    if not APPID_PATTERN.fullmatch(appid):
        raise _invalid(
            "appid", "appid_invalid", _("An AppID is wx followed by 16 letters a-f or digits.")
        )
    secret = fields.secret.strip()
    if creating and not secret:
        raise _invalid("secret", "secret_required", _("Enter the account's AppSecret."))
    if secret and not SECRET_PATTERN.fullmatch(secret):
        raise _invalid(
            "secret", "secret_invalid", _("An AppSecret is 16 to 64 letters and digits.")
        )
    token = fields.token.strip()
    if token and not TOKEN_PATTERN.fullmatch(token):
        raise _invalid("token", "token_invalid", _("A token is 3 to 32 letters and digits."))
    aes_key = fields.encoding_aes_key.strip()
    if aes_key and not AES_KEY_PATTERN.fullmatch(aes_key):
        raise _invalid(
            "encoding_aes_key",
            "aes_key_invalid",
            _("An EncodingAESKey is exactly 43 letters and digits."),
        )
    templates: dict[str, str] = {}
    for notice, value in fields.templates.items():
        if notice not in NOTICES:
            raise _invalid("templates", "notice_invalid", _("Unknown notice."))
        value = value.strip()
        if value and not TEMPLATE_PATTERN.fullmatch(value):
            raise _invalid(
                f"template_{notice}",
                "template_invalid",
                _("A template id is at most 64 letters, digits, - and _."),
            )
        if value:
            templates[notice] = value
    return AccountFields(name, appid, secret, token, aes_key, fields.require_encryption, templates)


@transaction.atomic
def save_official_account(
    actor: Actor, fields: AccountFields, account: OfficialAccount | None = None
) -> SavedAccount:
    """Create the current building's account (``account`` None: the building must have none)
    or change the account that serves it. An AppID already on the platform cannot be taken:
    an admin of one building must not capture another's account by typing its AppID."""
    building = Building.objects.select_for_update().get(schema_name=current_schema())
    creating = account is None
    if creating and building.wechat_account_id is not None:
        raise DomainError("account_exists", _("This building already has an Official Account."))
    if account is not None and building.wechat_account_id != account.pk:
        raise DomainError("account_not_served", _("This account does not serve this building."))
    checked = _checked(fields, creating)
    taken = OfficialAccount.objects.filter(appid__iexact=checked.appid)
    if account is not None:
        taken = taken.exclude(pk=account.pk)
    if taken.exists():
        raise _invalid(
            "appid",
            "appid_taken",
            _(
                "This AppID is already registered on the platform. Ask the platform operator "
                "to let that account serve this building too."
            ),
        )
    generated: dict[str, str] = {}
    if creating:
        account = OfficialAccount(templates={})
        if not checked.token:
            generated["token"] = new_token()
        if not checked.encoding_aes_key:
            generated["encoding_aes_key"] = new_encoding_aes_key()
    assert account is not None
    before = _comparable(account) if not creating else {}
    account.name = checked.name
    account.appid = checked.appid
    account.require_encryption = checked.require_encryption
    account.templates = checked.templates
    for name in ("secret", "token", "encoding_aes_key"):
        value = getattr(checked, name) or generated.get(name, "")
        if value:
            setattr(account, name, value)
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError as error:  # the same AppID saved meanwhile by someone else
        raise _invalid("appid", "appid_taken", _("This AppID is already registered.")) from error
    if creating:
        building.wechat_account = account
        building.save(update_fields=["wechat_account"])
    after = _comparable(account)
    changed = sorted(name for name in after if before.get(name) != after[name])
    record(
        actor,
        "wechat_account.created" if creating else "wechat_account.changed",
        account,
        appid=account.appid,
        changed=changed,
        generated=sorted(generated),
    )
    return SavedAccount(account, generated)


def _comparable(account: OfficialAccount) -> dict[str, Any]:
    """The account's values by field name, secrets as digests: only the names of what
    changed go to the audit log."""
    return {
        "name": account.name,
        "appid": account.appid,
        "secret": hash(account.secret),
        "token": hash(account.token),
        "encoding_aes_key": hash(account.encoding_aes_key),
        "require_encryption": account.require_encryption,
        "templates": dict(account.templates or {}),
    }


# --- Talking to WeChat ----------------------------------------------------------------------


@dataclass(frozen=True)
class WeChatAnswer:
    """What WeChat said to a call: ``errcode`` 0 when it went through."""

    errcode: int
    errmsg: str

    @property
    def ok(self) -> bool:
        return self.errcode == 0

    def explained(self) -> str:
        """WeChat's answer in words for a property admin, with WeChat's own code."""
        reasons = {
            40013: _("WeChat does not know this AppID."),
            40125: _("The AppSecret is wrong."),
            40164: _("This server's IP address is not on the account's IP whitelist."),
            UNREACHABLE: _("WeChat could not be reached."),
        }
        reason = reasons.get(self.errcode, _("WeChat refused the request."))
        return _("%(reason)s (WeChat %(errcode)s: %(errmsg)s)") % {
            "reason": reason,
            "errcode": self.errcode,
            "errmsg": self.errmsg,
        }


def _call(work: Any) -> tuple[WeChatAnswer, Any]:
    """Run one call to WeChat; WeChat's refusals and its absence become a ``WeChatAnswer``."""
    try:
        result = work()
    except WeChatClientException as error:
        if error.errcode is None:
            return WeChatAnswer(UNREACHABLE, "HTTP error"), None
        return WeChatAnswer(int(error.errcode), str(error.errmsg)), None
    except requests.RequestException as error:
        return WeChatAnswer(UNREACHABLE, type(error).__name__), None
    except redis.RedisError as error:
        return WeChatAnswer(UNREACHABLE, f"token store unavailable: {type(error).__name__}"), None
    return WeChatAnswer(0, "ok"), result


def check_account(account: OfficialAccount) -> WeChatAnswer:
    """The console's "Check" button: can the platform get an access token with these
    credentials? (A read: nothing is changed, nothing audited.)"""
    return _call(client_for(account).fetch_access_token)[0]


def account_menu(account: OfficialAccount) -> dict[str, Any]:
    """The account's menu: 访客预约 and 员工服务 open pages through the building picker, so
    the menu stays right when the account starts serving another building; 我的通行证 is a
    click answered in the chat with the passes of every building the account serves (no
    picker, and a visitor who has not linked their number is told how)."""
    return {
        "button": [
            {"type": "view", "name": _("Visit booking"), "url": picker_url(account, "request")},
            {"type": "click", "name": _("My passes"), "key": MY_PASSES},
            {"type": "view", "name": _("Staff services"), "url": picker_url(account, "staff")},
        ]
    }


def push_menu(actor: Actor, account: OfficialAccount) -> WeChatAnswer:
    """Replace the account's menu in WeChat with ``account_menu``, named in the building's
    language; audited in this building when WeChat took it."""
    building = Building.objects.get(schema_name=current_schema())
    with translation.override(building.default_language):
        menu = account_menu(account)
    answer, _result = _call(lambda: client_for(account).menu.create(menu))
    if answer.ok:
        record(actor, "wechat_account.menu_pushed", account, appid=account.appid)
    return answer


def scene_code_png(account: OfficialAccount, scene: Scene, *, box_size: int = 12) -> bytes:
    """A permanent scene QR code (``QR_LIMIT_STR_SCENE``) made through WeChat's API, as a PNG
    for posters. Raises ``DomainError`` with WeChat's answer when it cannot be made."""
    text = str(scene)
    if len(text) > MAX_SCENE_LENGTH:
        raise DomainError("scene_too_long", _("The building's name is too long for a QR code."))
    key = f"wechat:qr:{account.appid}:{text}"
    url = cache.get(key)
    if not isinstance(url, str) or not url:
        request = {
            "action_name": "QR_LIMIT_STR_SCENE",
            "action_info": {"scene": {"scene_str": text}},
        }
        answer, result = _call(lambda: client_for(account).qrcode.create(request))
        url = result.get("url") if isinstance(result, dict) else None
        if not answer.ok or not isinstance(url, str) or not url:
            raise DomainError("wechat_refused", answer.explained(), errcode=answer.errcode)
        cache.set(key, url, QR_URL_CACHE_SECONDS)
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=4
    )
    code.add_data(url)
    code.make(fit=True)
    image = io.BytesIO()
    code.make_image().save(image)
    return image.getvalue()


def building_page(schema: str, page: str, **parameters: str) -> str:
    """The absolute address of ``page`` (a ``PAGES`` key) on the building's domain, through
    WeChat's sign-in, with ``parameters`` on the page's own query."""
    path = PAGES[page]
    if parameters:
        path = f"{path}?{urlencode(parameters)}"
    return building_url(schema, start_path(path))
