"""The console over plain HTTP: security headers and policy, cookie flags, CSRF, the sign-in rate limit, sessions
that end, and the key-holder isolation matrix over every page, fragment and asset."""

from __future__ import annotations

from collections.abc import Iterator
from http.cookies import SimpleCookie

import httpx
import pytest

from finops.api.ui.render import usd
from tests.support.console import (
    ConsoleClient,
    Tenant,
    admin_console,
    console_gateway,
    make_tenant,
    parts_of,
    text_of,
)
from tests.support.emulator import EmulatorHandle
from tests.support.governance import ADMIN, ADMIN_KEY, create_key, params, report

EXPECTED_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGES = (
    "/overview",
    "/overview?by=model&days=7",
    "/overview?by=key&days=90",
    "/keys",
    "/batches",
    "/files",
    "/requests",
    "/requests?unpriced=1",
)
STATIC = ("/static/app.js", "/static/app.css", "/static/vendor/chart.js/chart.umd.min.js")


@pytest.fixture
def gateway(anthropic_emulator: EmulatorHandle, sqlite_url: str) -> Iterator[str]:
    with console_gateway(anthropic_emulator, sqlite_url, login_attempts_per_minute=3) as base:
        yield base


def _session_cookie(response: httpx.Response) -> str:
    (header,) = [value for value in response.headers.get_list("set-cookie") if value.startswith("finops_console=")]
    return header


def test_every_console_answer_carries_a_strict_policy_and_the_security_headers(gateway: str) -> None:
    console = admin_console(gateway)
    anonymous = ConsoleClient(gateway)
    answers = [
        anonymous.get("/login"),
        anonymous.get("/overview"),  # a redirect to the sign-in form
        *(console.get(path) for path in PAGES),
        console.get("/fragments/overview?by=model"),
        console.get("/fragments/batches"),
        console.get("/fragments/requests"),
        console.get("/no-such-page"),
        *(console.get(path) for path in STATIC),
    ]
    for answer in answers:
        where = f"{answer.request.url} ({answer.status_code})"
        assert answer.headers["content-security-policy"] == EXPECTED_CSP, where
        assert answer.headers["x-content-type-options"] == "nosniff", where
        assert answer.headers["x-frame-options"] == "DENY", where
        assert answer.headers["referrer-policy"] == "same-origin", where
        assert answer.headers["cross-origin-opener-policy"] == "same-origin", where
        assert "strict-transport-security" not in answer.headers, where  # plain HTTP: no HSTS
        static = "/static/" in answer.request.url.path
        assert answer.headers["cache-control"] == ("no-cache" if static else "no-store"), where
    assert answers[1].status_code == 303 and answers[1].headers["location"] == "/ui/login"
    assert console.get("/no-such-page").status_code == 404


def test_pages_load_only_the_gateways_own_scripts_and_styles(gateway: str) -> None:
    hostile = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    key = create_key(gateway, hostile)  # a name shown on several pages: it must stay text
    console = admin_console(gateway)
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in console.get("/keys").text
    for path in (*PAGES, "/keys/new", f"/keys/{key['id']}/edit", "/overview?by=key"):
        page = console.get(path)
        assert page.status_code == 200, (path, page.text)
        parts = parts_of(page.text)
        assert parts.scripts, path
        assert all(script.get("src", "").startswith("/ui/static/") for script in parts.scripts), (path, parts.scripts)
        assert parts.inline_script_bodies == [], path
        assert parts.inline_styles == [] and parts.style_elements == 0, (path, parts.inline_styles)
        assert parts.event_handlers == [], (path, parts.event_handlers)
        assert all(not link.startswith(("http:", "https:", "//")) for link in parts.links), (path, parts.links)
    for path in STATIC:
        assert console.get(path).status_code == 200, path


def test_the_session_cookie_is_httponly_samesite_strict_and_scoped_to_the_console(gateway: str) -> None:
    answer = ConsoleClient(gateway).sign_in(ADMIN_KEY)
    assert answer.status_code == 303
    cookie = SimpleCookie(_session_cookie(answer))["finops_console"]
    assert cookie["httponly"] is True
    assert cookie["samesite"].lower() == "strict"
    assert cookie["path"] == "/ui"
    assert not cookie["secure"]  # plain HTTP on loopback: a Secure cookie would never come back
    login_form = ConsoleClient(gateway).get("/login")
    login_cookie = SimpleCookie(login_form.headers["set-cookie"])["finops_console_login"]
    assert login_cookie["httponly"] is True and login_cookie["samesite"].lower() == "strict"


def _sign_in_over_https(base: str, headers: dict[str, str], origin: str) -> httpx.Response:
    """Sign in as a browser on https would: its Secure cookies come back although this test's hop is http."""
    with httpx.Client(base_url=f"{base}/ui", headers=headers, timeout=30) as client:
        form = client.get("/login")
        login_cookie = SimpleCookie(form.headers["set-cookie"])["finops_console_login"]
        assert login_cookie["secure"] is True
        token = parts_of(form.text).csrf_tokens[0]
        return client.post(
            "/login",
            data={"csrf": token, "key": ADMIN_KEY},
            headers={"origin": origin, "cookie": f"finops_console_login={login_cookie.value}"},
        )


def test_behind_https_the_cookies_are_secure(gateway: str, anthropic_emulator: EmulatorHandle, sqlite_url: str) -> None:
    # A TLS-terminating proxy on loopback (uvicorn trusts X-Forwarded-Proto from 127.0.0.1 by default).
    answer = _sign_in_over_https(gateway, {"x-forwarded-proto": "https"}, gateway.replace("http:", "https:"))
    assert answer.status_code == 303, answer.text
    assert SimpleCookie(_session_cookie(answer))["finops_console"]["secure"] is True
    assert answer.headers["strict-transport-security"] == "max-age=31536000"
    # An operator who publishes the gateway at an https URL gets Secure cookies even over a plain last hop.
    with console_gateway(anthropic_emulator, sqlite_url, server={"public_url": "https://finops.example"}) as base:
        signed = _sign_in_over_https(base, {}, "https://finops.example")
        assert signed.status_code == 303, signed.text
        assert SimpleCookie(_session_cookie(signed))["finops_console"]["secure"] is True


def test_every_form_refuses_a_missing_wrong_or_cross_site_token(gateway: str) -> None:
    console = admin_console(gateway)
    token = console.csrf("/keys/new")
    before = {key["name"] for key in httpx.get(f"{gateway}/admin/keys", headers=ADMIN).json()["data"]}

    refused = [
        console.post("/keys", {"name": "no-token"}),
        console.post("/keys", {"name": "wrong-token", "csrf": "x" * 43}),
        console.post("/keys", {"name": "cross-site", "csrf": token}, origin="https://evil.example"),
        console.post("/keys", {"name": "null-origin", "csrf": token}, origin="null"),
    ]
    for answer in refused:
        assert answer.status_code == 403, answer.text
        assert "security token" in text_of(answer.text)
    after = {key["name"] for key in httpx.get(f"{gateway}/admin/keys", headers=ADMIN).json()["data"]}
    assert after == before  # nothing was created

    created = console.post("/keys", {"name": "with-token", "csrf": token})
    assert created.status_code == 201, created.text

    victim = create_key(gateway, "csrf-victim")
    assert console.post(f"/keys/{victim['id']}/revoke", {"csrf": "forged"}).status_code == 403
    assert console.post("/files/file_whatever/delete", {}).status_code == 403
    assert console.post("/logout", {}).status_code == 403
    assert console.get("/overview").status_code == 200  # still signed in
    still = httpx.post(
        f"{gateway}/anthropic/v1/messages", headers={"x-api-key": victim["key"]}, json=params(), timeout=30
    )
    assert still.status_code == 200  # the forged revoke did nothing

    # The sign-in form has its own token (there is no session yet): without the cookie it came with, refused.
    fresh = ConsoleClient(gateway)
    form_token = parts_of(fresh.get("/login").text).csrf_tokens[0]
    fresh.http.cookies.clear()
    answer = fresh.post("/login", {"csrf": form_token, "key": ADMIN_KEY})
    assert answer.status_code == 403 and "finops_console=" not in answer.headers.get("set-cookie", "")


def test_sign_in_is_rate_limited_per_client(gateway: str) -> None:
    client = ConsoleClient(gateway)
    for attempt in range(3):
        failed = client.sign_in(f"wrong-key-{attempt}")
        assert failed.status_code == 401, failed.text
        assert "Sign-in failed" in text_of(failed.text)
    blocked = client.sign_in(ADMIN_KEY)  # even the right key waits now
    assert blocked.status_code == 429, blocked.text
    assert 0 < int(blocked.headers["retry-after"]) <= 60
    assert "finops_console=" not in "".join(blocked.headers.get_list("set-cookie"))


def test_signing_out_ends_the_session_for_good(gateway: str) -> None:
    console = admin_console(gateway)
    cookie = console.http.cookies["finops_console"]
    answer = console.post("/logout", {"csrf": console.csrf()})
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/login"
    replay = ConsoleClient(gateway)
    replay.http.cookies.set("finops_console", cookie, domain="127.0.0.1", path="/ui")
    assert replay.get("/overview").status_code == 303  # back to the sign-in form
    fragment = replay.get("/fragments/requests", headers={"hx-request": "true"})
    assert fragment.status_code == 401 and fragment.headers["hx-redirect"] == "/ui/login"


def test_a_key_holder_is_signed_out_when_the_key_is_revoked(gateway: str) -> None:
    key = create_key(gateway, "soon-revoked")
    holder = ConsoleClient(gateway).signed_in(key["key"])
    assert holder.get("/overview").status_code == 200
    assert httpx.delete(f"{gateway}/admin/keys/{key['id']}", headers=ADMIN).status_code == 200
    assert holder.get("/overview").status_code == 303
    assert ConsoleClient(gateway).sign_in(key["key"]).status_code == 401
    assert ConsoleClient(gateway).sign_in("sk-some-dummy-key").status_code == 401  # open-mode keys do not sign in


def test_the_console_is_off_unless_enabled(anthropic_emulator: EmulatorHandle, sqlite_url: str) -> None:
    from tests.support.governance import governed_gateway

    with governed_gateway(anthropic_emulator, sqlite_url) as base:
        assert httpx.get(f"{base}/ui/login").status_code == 404
        assert httpx.get(f"{base}/ui/static/app.js").status_code == 404


def test_the_admin_creates_edits_and_revokes_keys_and_sees_a_secret_once(gateway: str) -> None:
    console = admin_console(gateway)
    created = console.post(
        "/keys",
        {
            "name": "ui-made",
            "budget_usd": "2.5",
            "budget_period": "weekly",
            "rpm": "30",
            "providers": "anthropic",
            "csrf": console.csrf("/keys/new"),
        },
    )
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    secret_page = parts_of(created.text)
    secret = next(value for value in created.text.split('"') if value.startswith("sk-fo-"))
    assert secret_page.csrf_tokens  # the page still has the sign-out form
    keys = httpx.get(f"{gateway}/admin/keys", headers=ADMIN).json()["data"]
    made = next(key for key in keys if key["name"] == "ui-made")
    assert (made["budget_usd"], made["budget_period"], made["rpm"], made["providers"]) == (
        2.5,
        "weekly",
        30,
        ["anthropic"],
    )
    assert secret not in console.get("/keys").text and secret not in console.get(f"/keys/{made['id']}/edit").text
    works = httpx.post(f"{gateway}/anthropic/v1/messages", headers={"x-api-key": secret}, json=params(), timeout=30)
    assert works.status_code == 200, works.text

    bad = console.post(f"/keys/{made['id']}", {"name": "ui-made", "rpm": "-1", "csrf": console.csrf()})
    assert bad.status_code == 400 and "rpm" in text_of(bad.text)
    edited = console.post(
        f"/keys/{made['id']}",
        {"name": "ui-made-2", "budget_usd": "9", "budget_period": "daily", "csrf": console.csrf()},
    )
    assert edited.status_code == 303
    after = httpx.get(f"{gateway}/admin/keys/{made['id']}", headers=ADMIN).json()
    assert (after["name"], after["budget_usd"], after["budget_period"], after["rpm"], after["providers"]) == (
        "ui-made-2",
        9.0,
        "daily",
        None,
        None,
    )
    assert console.post(f"/keys/{made['id']}/revoke", {"csrf": console.csrf()}).status_code == 303
    refused = httpx.post(f"{gateway}/anthropic/v1/messages", headers={"x-api-key": secret}, json=params(), timeout=30)
    assert refused.status_code == 401


# The isolation matrix ------------------------------------------------------------------------------------------


@pytest.fixture
def tenants(gateway: str) -> tuple[Tenant, Tenant]:
    return make_tenant(gateway, "tenant-alpha"), make_tenant(gateway, "tenant-bravo")


def _everything_a_viewer_can_ask(client: ConsoleClient, own: Tenant, other: Tenant) -> list[httpx.Response]:
    hx = {"hx-request": "true"}
    paths = [
        *PAGES,
        "/overview?by=key",
        f"/requests?key={other.key_id}",
        f"/requests?model={other.name}",
        f"/requests?key={other.key_id}&before=999999999",
        f"/batches/{own.batch_id}",
        f"/batches/{own.batch_id}/results",
        *STATIC,
    ]
    answers = [client.get(path) for path in paths]
    fragments = [
        "/fragments/overview?by=key",
        "/fragments/overview?by=model&days=90",
        "/fragments/batches",
        f"/fragments/requests?key={other.key_id}",
        "/fragments/requests?before=999999999",
    ]
    answers += [client.get(path, headers=hx) for path in fragments]
    return answers


@pytest.mark.parametrize("viewer", ["alpha", "bravo"])
def test_a_key_holder_never_sees_another_keys_data(gateway: str, tenants: tuple[Tenant, Tenant], viewer: str) -> None:
    alpha, bravo = tenants
    own, other = (alpha, bravo) if viewer == "alpha" else (bravo, alpha)
    holder = ConsoleClient(gateway).signed_in(own.secret)

    answers = _everything_a_viewer_can_ask(holder, own, other)
    for answer in answers:
        assert answer.status_code == 200, (answer.request.url, answer.status_code, answer.text[:300])
        body = answer.text
        for identifier in other.identifiers:
            assert identifier not in body, (answer.request.url, identifier)
    seen = "".join(answer.text for answer in answers)
    for identifier in own.identifiers:  # the pages do show the viewer's own data (so the check above can fail)
        if identifier != own.key_id:
            assert identifier in seen, identifier

    # Direct addresses of the other key's objects are as absent as unknown ones, and change nothing.
    token = holder.csrf()
    assert holder.get(f"/batches/{other.batch_id}").status_code == 404
    assert holder.get(f"/batches/{other.batch_id}/results").status_code == 404
    assert holder.post(f"/files/{other.file_id}/delete", {"csrf": token}).status_code == 404
    for path in ("/keys/new", f"/keys/{other.key_id}/edit"):
        assert holder.get(path).status_code == 403, path
    assert holder.post(f"/keys/{other.key_id}/revoke", {"csrf": token}).status_code == 403
    assert holder.post("/keys", {"name": "sneaky", "csrf": token}).status_code == 403
    owner = httpx.Client(base_url=f"{gateway}/anthropic", headers={"x-api-key": other.secret}, timeout=30)
    assert owner.get(f"/v1/files/{other.file_id}").status_code == 200
    assert owner.post("/v1/messages", json=params()).status_code == 200

    # What the key holder's overview says it spent today is the ledger's figure for that key.
    spent = next(row["cost_usd"] for row in report(gateway)["data"] if row["key_id"] == own.key_id)
    overview = holder.get("/overview")
    assert f'id="spend-today">{usd(spent)}<' in overview.text


def test_the_admin_sees_every_key(gateway: str, tenants: tuple[Tenant, Tenant]) -> None:
    admin = admin_console(gateway)
    seen = "".join(admin.get(path).text for path in (*PAGES, f"/batches/{tenants[0].batch_id}"))
    for tenant in tenants:
        for identifier in tenant.identifiers:
            assert identifier in seen, identifier
    batch_page = admin.get(f"/batches/{tenants[1].batch_id}").text
    assert "Upstream IDs" in batch_page and "msgbatch_" in batch_page
    holder_page = ConsoleClient(gateway).signed_in(tenants[1].secret).get(f"/batches/{tenants[1].batch_id}").text
    assert "Upstream IDs" not in holder_page  # the provider's own IDs are for the operator only
    results = admin.get(f"/batches/{tenants[0].batch_id}/results")
    assert results.status_code == 200 and '"custom_id":"q1"' in results.text.replace(" ", "")
    token = admin.csrf()
    assert admin.post(f"/files/{tenants[0].file_id}/delete", {"csrf": token}).status_code == 303
    gone = httpx.get(
        f"{gateway}/anthropic/v1/files/{tenants[0].file_id}", headers={"x-api-key": tenants[0].secret}, timeout=30
    )
    assert gone.status_code == 404
