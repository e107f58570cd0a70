"""Sign-in end to end: the real app behind ``st.login``, a real OpenID Connect provider on
loopback (``oidc-provider-mock`` in a thread) and headless Chromium.

Signed out, a person sees only the sign-in button; a stranger is refused; a staff member sees
their own zone of the saved plan and nothing else, whatever URL they type; a lead sees every
page. One provider and one Streamlit server serve the module, on a temporary copy of the demo
config with an ``[access.roles]`` section; each person gets a fresh browser context (own
cookies). The tests run in file order; the last ones check the audit log and that no request
left the machine.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlparse

import pandas as pd
import pytest
from conftest import write_config
from streamlit_server import CHROMIUM, chromium_browser, free_port, is_local, streamlit_app

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "tests" / "screenshots"
N_LSOAS = 142  # Oldham LSOA 2021 (PROVENANCE)
MAP = "iframe[title*='st_folium']"
LEAD, STAFF, STRANGER = "lead@test.gov.uk", "staff1@test.gov.uk", "stranger@example.com"
STAFF_ZONE, N_ZONES = 2, 3
ROSTER = pd.DataFrame({
    "name": ["Asha Patel", "Ben Lowe", "Cara Nolan"],
    "fte": [1.0, 1.0, 1.0],
    "base": [None, None, None],
    "email": ["asha@test.gov.uk", STAFF, "cara@test.gov.uk"],  # zone i + 1 is row i
})
ROLES = f'\n[access.roles]\n"{LEAD}" = "lead"\n"{STAFF}" = "staff"\n'
LEAD_PAGES = ["Overview", "Off the radar", "Zones", "My zone", "Data"]
OVERVIEW_TITLE = "need, referrals and reach"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def oidc_port():
    """A real OIDC provider on loopback: its login form takes any ``sub``, whose e-mail it is."""
    mock = pytest.importorskip("oidc_provider_mock")
    with mock.run_server_in_thread() as server:
        yield server.server_port


@pytest.fixture(scope="module")
def app(tmp_path_factory, oidc_port):
    """The app on a config with roles, a built snapshot and a saved 3-zone plan with a roster."""
    from needmap.config import load_config
    from needmap.plans import PlanStore
    from needmap.refresh import refresh
    from needmap.snapshot import load_snapshot
    from needmap.workload import plan_zones

    tmp = tmp_path_factory.mktemp("signin")
    cfg_path = write_config(tmp)
    cfg_path.write_text(cfg_path.read_text() + ROLES)
    config = load_config(cfg_path)
    snapshot = load_snapshot(refresh(config).snapshot_path)
    plan = plan_zones(snapshot, level="lsoa", n_zones=N_ZONES)
    plan_id = PlanStore(config.plans_db).save_plan(
        plan.labels, author=LEAD, note="sign-in test", roster=ROSTER
    )

    port = free_port()
    secrets_path = tmp / "secrets.toml"
    secrets_path.write_text(
        "[auth]\n"
        f'redirect_uri = "http://localhost:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        'client_id = "needmap-test"\n'
        'client_secret = "x"\n'
        f'server_metadata_url = "http://localhost:{oidc_port}/.well-known/openid-configuration"\n'
        'client_kwargs = { scope = "openid profile email" }\n'
    )
    log_path = tmp / "streamlit.log"
    # The URL says localhost, as the redirect URI does, so the sign-in cookies match.
    with streamlit_app(
        "app.py",
        port=port,
        env={"NEEDMAP_CONFIG": str(cfg_path)},
        log_path=log_path,
        extra_args=("--secrets.files", str(secrets_path)),
        host_for_url="localhost",
    ) as url:
        labels = plan.labels
        yield SimpleNamespace(
            url=url, config=config, plan_id=plan_id, log=log_path,
            zone_codes=set(labels.loc[labels["zone"] == STAFF_ZONE, "area_code"]),
            other_codes=set(labels.loc[labels["zone"] != STAFF_ZONE, "area_code"]),
        )  # fmt: skip


@pytest.fixture(scope="module")
def chromium():
    pytest.importorskip("playwright.sync_api")
    with chromium_browser() as browser:
        yield browser


@pytest.fixture(scope="module")
def requests_seen() -> list[tuple[str, str]]:
    """(URL, URL of the document that asked) for every request of the module, websockets too."""
    return []


@pytest.fixture(scope="module")
def people(chromium, requests_seen):
    """One browser context per person (fresh cookies), made on first use and kept for the module.

    Requests for other hosts are recorded, then refused, so none leaves the machine even when
    something asks (the mock provider's own pages link a CDN stylesheet).
    """
    contexts: dict[str, object] = {}

    def page_for(who: str):
        if who not in contexts:
            ctx = chromium.new_context(viewport={"width": 1400, "height": 1000})
            ctx.on("request", lambda r: requests_seen.append((r.url, r.frame.url)))
            ctx.route(lambda url: not is_local(url), lambda route: route.abort())
            page = ctx.new_page()
            page.on("websocket", lambda ws: requests_seen.append((ws.url, page.url)))
            contexts[who] = (ctx, page)
        return contexts[who][1]

    yield page_for
    for ctx, _ in contexts.values():
        ctx.close()


def _shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / name, full_page=True)


def _sign_in(page, app, email: str) -> None:
    """Click "Sign in", type ``email`` on the provider's form, authorize, land back in the app."""
    page.goto(app.url)
    page.get_by_role("button", name="Sign in").click()
    page.locator("input[name=sub]").wait_for(timeout=20_000)
    assert urlparse(page.url).port != urlparse(app.url).port  # really on the provider
    page.locator("input[name=sub]").fill(email)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(rf"^{re.escape(app.url)}/?(\?.*)?$"), timeout=20_000)


def _nav_links(page) -> list[str]:
    """Page titles in the sidebar navigation (the Material icon's ligature text dropped)."""
    texts = page.locator("[data-testid=stSidebarNav] a").all_inner_texts()
    return [t.strip().splitlines()[-1].strip() for t in texts]


def _wait_rendered(page) -> None:
    """Until the script run is over (Streamlit shows its status widget while running)."""
    page.wait_for_function(
        """() => ['notRunning', 'stopRequested'].includes(
            document.querySelector('[data-testid=stApp]')?.dataset.testScriptState)""",
        timeout=30_000,
    )
    page.wait_for_timeout(300)


def _drawn_codes(page) -> list[str]:
    """``lsoa_code`` of every polygon Leaflet drew in the first map of the page."""
    page.frame_locator(MAP).first.locator("path.leaflet-interactive").first.wait_for(
        timeout=30_000
    )
    frame = page.locator(MAP).first.element_handle().content_frame()
    return frame.evaluate(
        """() => {
        const out = [];
        window.map_div.eachLayer(l => {
            const p = l._path && l.feature && l.feature.properties;
            if (p && p.lsoa_code) out.push(p.lsoa_code);
        });
        return out;
    }"""
    )


def _grid_codes(page) -> set[str]:
    """Area codes in the accessible mirror of every st.dataframe on the page."""
    page.locator("[role=gridcell]").first.wait_for(state="attached", timeout=20_000)
    cells = page.locator("[role=gridcell]").all_text_contents()
    return {c.strip() for c in cells if re.fullmatch(r"E0[0-9]{7}", c.strip())}


def test_signed_out_sees_only_the_sign_in_button(app, people):
    page = people("signed_out")
    page.goto(app.url)
    page.get_by_role("button", name="Sign in").wait_for(timeout=30_000)
    _wait_rendered(page)
    assert _nav_links(page) == []
    assert page.locator(MAP).count() == 0
    assert page.get_by_text(OVERVIEW_TITLE).count() == 0
    assert page.locator("[data-testid=stDataFrame]").count() == 0
    main = page.locator("[data-testid=stMain]")
    assert [t.strip() for t in main.get_by_role("button").all_inner_texts()] == ["Sign in"]
    _shot(page, "signin_signed_out.png")


def test_unknown_user_is_refused_politely(app, people):
    page = people(STRANGER)
    _sign_in(page, app, STRANGER)
    page.get_by_text("no role in needmap").wait_for(timeout=30_000)
    _wait_rendered(page)
    assert STRANGER in page.get_by_text("no role in needmap").inner_text()
    assert _nav_links(page) == []
    assert page.locator(MAP).count() == 0
    assert page.get_by_text(OVERVIEW_TITLE).count() == 0
    assert page.get_by_role("button", name="Sign out").count() == 1
    _shot(page, "signin_refused.png")


def _assert_own_zone_only(page, app) -> None:
    page.get_by_role("heading", name="My zone").wait_for(timeout=30_000)
    _wait_rendered(page)
    assert page.get_by_text(f"Ben Lowe (zone {STAFF_ZONE})").count() == 1
    assert page.get_by_text("no sign-in").count() == 0  # signed in: not the demo banner
    assert page.get_by_text(OVERVIEW_TITLE).count() == 0
    assert page.get_by_role("heading", name=re.compile("^(Zones|Data|Off the radar)$")).count() == 0
    assert page.locator("[data-testid=stSelectbox]").count() == 0  # no worker selector
    assert set(_nav_links(page)) <= {"My zone"}
    drawn = _drawn_codes(page)
    assert len(drawn) == len(app.zone_codes)
    assert set(drawn) == app.zone_codes
    shown = _grid_codes(page)
    assert shown and shown <= app.zone_codes and not shown & app.other_codes


def test_staff_member_sees_their_zone_only(app, people):
    page = people(STAFF)
    _sign_in(page, app, STAFF)
    _assert_own_zone_only(page, app)
    metric = page.locator("[data-testid=stMetric]", has_text="Areas")
    assert metric.locator("[data-testid=stMetricValue]").inner_text() == str(len(app.zone_codes))
    assert page.get_by_text(f"Signed in as {STAFF} (staff)").count() == 1
    _shot(page, "signin_staff_my_zone.png")

    # The one widget staff have changes the measure mapped, never the zone.
    page.get_by_role("radiogroup", name="Map").get_by_text("Referrals", exact=True).click()
    page.frame_locator(MAP).first.get_by_text("Referrals per 1,000 children").first.wait_for(
        timeout=30_000
    )
    _assert_own_zone_only(page, app)


PAGE_NOT_REGISTERED = ["/overview", "/zones", "/data", "/off_radar"]


@pytest.mark.parametrize(
    "path", [*PAGE_NOT_REGISTERED, "/?zone=1&my_zone_worker=1", "/my_zone?zone=3&level=ward"]
)
def test_staff_member_cannot_reach_other_data_by_url(app, people, path):
    page = people(STAFF)
    page.goto(app.url + path)
    _assert_own_zone_only(page, app)
    if path in PAGE_NOT_REGISTERED:
        # Not in this person's navigation at all, so Streamlit runs their one page instead.
        assert page.get_by_text("Page not found").count() == 1
    if path == "/overview":
        _shot(page, "signin_staff_tries_overview.png")


def test_a_download_is_made_on_click_audited_and_served_once(app, people, requests_seen):
    """A download address read from the traffic gives nothing without the session (issue 11)."""
    import urllib.error
    import urllib.request

    page = people(STAFF)
    page.goto(app.url)
    _assert_own_zone_only(page, app)
    before = {url for url, _ in requests_seen if "/media/" in url}
    with page.expect_download(timeout=30_000) as info:
        page.get_by_role("button", name="Download zone pack").click()
    pack = Path(info.value.path()).read_text()
    assert "Ben Lowe" in pack and "<script" not in pack
    fetched = [url for url, _ in requests_seen if "/media/" in url and url not in before]
    assert fetched, "the download came from the media endpoint"
    for url in fetched:  # no cookie, no session: refused
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url, timeout=10)
        assert err.value.code == 404
    from needmap.access import AccessStore

    log = AccessStore(app.config.plans_db).audit()
    mine = log[(log["user"] == STAFF) & (log["event"] == "export")]
    assert mine["detail"].str.contains(f"zone_{STAFF_ZONE}_pack.html").any()


def test_lead_sees_every_page_and_the_map(app, people):
    page = people(LEAD)
    _sign_in(page, app, LEAD)
    page.get_by_text(OVERVIEW_TITLE).wait_for(timeout=60_000)
    assert _nav_links(page) == LEAD_PAGES
    assert len(_drawn_codes(page)) == N_LSOAS
    assert page.get_by_text(f"Signed in as {LEAD} (lead)").count() == 1
    assert page.get_by_text("synthetic records").count() == 1
    assert page.get_by_text("no sign-in").count() == 0
    _shot(page, "signin_lead_overview.png")

    page.locator("[data-testid=stSidebarNav] a", has_text="My zone").click()
    page.get_by_role("heading", name="My zone").wait_for(timeout=30_000)
    _wait_rendered(page)
    assert page.locator("[data-testid=stSelectbox]", has_text="Worker").count() == 1


def test_sign_out_returns_to_the_sign_in_button(app, people):
    page = people(LEAD)
    page.get_by_role("button", name="Sign out").click()
    # st.logout ends the session at the provider too (RP-initiated logout), which asks first.
    page.get_by_role("button", name="End session").click(timeout=20_000)
    page.get_by_role("button", name="Sign in").wait_for(timeout=30_000)
    page.goto(app.url + "/overview")
    page.get_by_role("button", name="Sign in").wait_for(timeout=30_000)
    _wait_rendered(page)
    assert page.locator(MAP).count() == 0
    assert _nav_links(page) == []


def test_audit_log_records_sign_ins_and_the_refusal(app):
    from needmap.access import AccessStore

    log = AccessStore(app.config.plans_db).audit()
    events = set(zip(log["user"], log["event"], strict=True))
    assert (LEAD, "sign_in") in events
    assert (STAFF, "sign_in") in events
    assert (STRANGER, "refused") in events
    assert (STRANGER, "sign_in") not in events
    assert {e for u, e in events if u == STAFF} == {"sign_in", "refused", "export"}
    tried = set(log.loc[(log["user"] == STAFF) & (log["event"] == "refused"), "detail"])
    assert {f"page {p.strip('/')} (by address)" for p in PAGE_NOT_REGISTERED} <= tried


def test_no_request_left_the_machine(app, oidc_port, requests_seen):
    assert any("/oauth2callback" in url for url, _ in requests_seen)
    assert any(urlparse(url).port == oidc_port for url, _ in requests_seen)
    # The provider's own pages are the test's stand-in for the council's login page.
    remote = [url for url, by in requests_seen
              if not is_local(url) and urlparse(by).port != oidc_port]  # fmt: skip
    assert remote == []


@pytest.fixture(scope="module")
def broken_app(tmp_path_factory):
    """The same app with an [auth] section that does not parse (one bad quote)."""
    tmp = tmp_path_factory.mktemp("broken-secrets")
    cfg_path = write_config(tmp)
    cfg_path.write_text(cfg_path.read_text().replace("synthetic = true", "synthetic = false"))
    secrets_path = tmp / "secrets.toml"
    secrets_path.write_text('[auth]\nredirect_uri = "http://localhost:1/oauth2callback\n'
                            'cookie_secret = "x"\n')
    with streamlit_app("app.py", env={"NEEDMAP_CONFIG": str(cfg_path)},
                       log_path=tmp / "streamlit.log",
                       extra_args=("--secrets.files", str(secrets_path))) as url:
        yield url


def test_a_secrets_file_that_does_not_parse_fails_closed(broken_app, chromium):
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(broken_app + "/overview")
        page.get_by_text("needmap is not configured correctly").wait_for(timeout=30_000)
        _wait_rendered(page)
        assert "cannot be read" in page.locator("[data-testid=stAlert]").inner_text()
        assert _nav_links(page) == []
        assert page.locator(MAP).count() == 0
        assert page.get_by_text(OVERVIEW_TITLE).count() == 0
        assert page.locator("[data-testid=stDataFrame]").count() == 0
        _shot(page, "signin_broken_secrets.png")
    finally:
        page.close()
