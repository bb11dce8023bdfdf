"""Who is looking: sign-in with the admin key (everything) or a virtual key (that key's own data), sessions kept
in the store, CSRF tokens, and the sign-in rate limit.

A session cookie holds 256 random bits; the store keeps only their sha256. Every request re-checks the session:
an admin session ends when ``governance.admin_key`` changes, a key holder's when the key is revoked or expires.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from finops.core.errors import AuthenticationError, GatewayError, NotFoundError
from finops.core.types import Principal
from finops.governance.auth import usable
from finops.governance.keys import owner_of
from finops.store.keys import VirtualKeyRecord
from finops.store.sessions import ConsoleSession

from .render import page
from .security import served_over_https
from .services import Console, console_of

SESSION_COOKIE = "finops_console"
LOGIN_COOKIE = "finops_console_login"  # the sign-in form's CSRF token (double submit: no session exists yet)
_MAX_FORM_BYTES = 64 * 1024


class SignInRequired(Exception):
    """No live session: pages redirect to the sign-in form, fragments answer 401."""


class Forbidden(Exception):
    """Signed in, but not allowed (a key holder on an admin-only page, or a bad CSRF token)."""


@dataclass(frozen=True)
class Viewer:
    kind: Literal["admin", "key"]
    session_id: str
    csrf_token: str
    key: VirtualKeyRecord | None = None

    @property
    def is_admin(self) -> bool:
        return self.kind == "admin"

    @property
    def only_key(self) -> str | None:
        """The key whose data this viewer may see; ``None`` (every key) for the admin only."""
        if self.kind == "admin":
            return None
        assert self.key is not None
        return self.key.id

    @property
    def only_owner(self) -> str | None:
        """The owner whose files and batches this viewer may see; ``None`` (every owner) for the admin only."""
        key_id = self.only_key
        return None if key_id is None else owner_of(key_id)

    def acting_for(self, owner: str) -> Principal:
        """The principal a core service checks ownership with, for an object this viewer may touch."""
        if self.kind == "key":
            assert self.key is not None and owner == owner_of(self.key.id)
            return Principal(owner=owner, key_id=self.key.id, key_name=self.key.name)
        return Principal(owner=owner)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _admin_key(console: Console) -> str | None:
    configured = console.settings.governance.admin_key
    return configured.get_secret_value() if configured is not None and configured.get_secret_value() else None


async def _viewer_of(request: Request) -> Viewer | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    console = console_of(request)
    session = await console.sessions.get(_digest(token), datetime.now(UTC))
    if session is None:
        return None
    if session.kind == "admin":
        admin_key = _admin_key(console)
        if admin_key is None or not hmac.compare_digest(session.admin_fingerprint or "", _digest(admin_key)):
            await console.sessions.delete(session.id)
            return None
        return Viewer("admin", session.id, session.csrf_token)
    try:
        key = await console.governance.admin.get(session.key_id or "")
    except NotFoundError:
        key = None
    if key is None or usable(key, datetime.now(UTC)) is not None:
        await console.sessions.delete(session.id)
        return None
    return Viewer("key", session.id, session.csrf_token, key)


async def viewer_of(request: Request) -> Viewer:
    """The signed-in viewer (also kept in the request state for templates), or ``SignInRequired``."""
    viewer = await _viewer_of(request)
    if viewer is None:
        raise SignInRequired
    request.scope.setdefault("state", {})["viewer"] = viewer
    return viewer


async def admin_of(request: Request) -> Viewer:
    viewer = await viewer_of(request)
    if not viewer.is_admin:
        raise Forbidden("only the admin may do this")
    return viewer


def _same_origin(request: Request) -> bool:
    """A browser names the page a POST comes from; it must be this console (SameSite and CSRF tokens aside):
    the host the request was sent to, or the one ``server.public_url`` publishes it under."""
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser's cross-site request (browsers send Origin on every POST)
    hosts = {request.headers.get("host", "")}
    public_url = console_of(request).settings.server.public_url
    if public_url:
        hosts.add(urlsplit(public_url).netloc)
    return urlsplit(origin).netloc in hosts


async def form_of(request: Request, viewer: Viewer) -> FormData:
    """The POSTed form, once its CSRF token and origin are checked."""
    form = await request.form(max_files=0, max_fields=100, max_part_size=_MAX_FORM_BYTES)
    token = form.get("csrf")
    if not _same_origin(request) or not isinstance(token, str) or not hmac.compare_digest(token, viewer.csrf_token):
        raise Forbidden("the form's security token is missing or stale; reload the page and try again")
    return form


def _cookie_options(request: Request) -> dict[str, object]:
    root = str(request.scope.get("root_path", "")).rstrip("/") or "/"
    return {"path": root, "httponly": True, "samesite": "strict", "secure": served_over_https(request)}


# Sign-in and sign-out -------------------------------------------------------------------------------------------


async def login_form(request: Request, *, error: str | None = None, status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = page(request, "login.html", {"csrf": token, "error": error}, status_code)
    response.set_cookie(LOGIN_COOKIE, token, max_age=3600, **_cookie_options(request))  # type: ignore[arg-type]
    return response


async def _attempts_left(request: Request, console: Console, *, failed: bool) -> tuple[bool, int]:
    """Failed sign-ins per client address and minute (shared across processes when Redis is configured)."""
    address = request.client.host if request.client else "unknown"
    used, seconds_left = await console.governance.counters.add(f"console-login:{address}", 1 if failed else 0)
    return used < console.settings.console.login_attempts_per_minute, seconds_left


async def _new_session(console: Console, *, kind: str, key_id: str | None, admin_key: str | None) -> str:
    now = datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    await console.sessions.delete_expired(now)
    await console.sessions.add(
        ConsoleSession(
            id=_digest(token),
            kind=kind,
            key_id=key_id,
            admin_fingerprint=_digest(admin_key) if admin_key else None,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + timedelta(hours=console.settings.console.session_hours),
        )
    )
    return token


async def _kind_of(console: Console, presented: str) -> tuple[str, str | None, str | None]:
    """("admin", None, admin key) or ("key", key id, None); AuthenticationError for anything else."""
    admin_key = _admin_key(console)
    if admin_key is not None and hmac.compare_digest(presented.encode(), admin_key.encode()):
        return "admin", None, admin_key
    principal = await console.governance.authenticator.authenticate(presented)  # refuses revoked and expired keys
    if principal.key_id is None:
        raise AuthenticationError("that is not a virtual key of this gateway")
    return "key", principal.key_id, None


async def login(request: Request) -> Response:
    console = console_of(request)
    allowed, seconds_left = await _attempts_left(request, console, failed=False)
    if not allowed:
        response = await login_form(
            request, error=f"Too many failed sign-ins; try again in {seconds_left} s.", status_code=429
        )
        response.headers["retry-after"] = str(seconds_left)
        return response
    form = await request.form(max_files=0, max_fields=10, max_part_size=_MAX_FORM_BYTES)
    token, presented = form.get("csrf"), form.get("key")
    expected = request.cookies.get(LOGIN_COOKIE)
    if (
        not _same_origin(request)
        or not isinstance(token, str)
        or not expected
        or not hmac.compare_digest(token, expected)
    ):
        return await login_form(request, error="The form expired; please sign in again.", status_code=403)
    try:
        if not isinstance(presented, str) or not presented.strip():
            raise AuthenticationError("enter the admin key or a virtual key")
        kind, key_id, admin_key = await _kind_of(console, presented.strip())
    except GatewayError as exc:
        await _attempts_left(request, console, failed=True)
        return await login_form(request, error=f"Sign-in failed: {exc.message}.", status_code=401)
    session_token = await _new_session(console, kind=kind, key_id=key_id, admin_key=admin_key)
    root = str(request.scope.get("root_path", "")).rstrip("/")
    response = RedirectResponse(f"{root}/overview", status_code=303)
    options = _cookie_options(request)
    response.set_cookie(
        SESSION_COOKIE,
        session_token,
        max_age=int(console.settings.console.session_hours * 3600),
        **options,  # type: ignore[arg-type]
    )
    response.delete_cookie(LOGIN_COOKIE, **options)  # type: ignore[arg-type]
    return response


async def logout(request: Request) -> Response:
    viewer = await viewer_of(request)
    await form_of(request, viewer)
    await console_of(request).sessions.delete(viewer.session_id)
    root = str(request.scope.get("root_path", "")).rstrip("/")
    response = RedirectResponse(f"{root}/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, **_cookie_options(request))  # type: ignore[arg-type]
    return response
