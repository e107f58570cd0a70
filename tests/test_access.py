"""Role logic without a browser: who sees which page, staff see only their zone, audit log."""

from __future__ import annotations

import pandas as pd
import pytest

from needmap.access import PAGES, AccessStore, auth_mode, demo_access
from needmap.errors import ConfigError


@pytest.fixture
def store(tmp_path):
    s = AccessStore(tmp_path / "needmap.sqlite")
    labels = pd.DataFrame({"area_code": ["A", "B", "C"], "area_name": ["a", "b", "c"],
                           "zone": [1, 2, 2], "workload": [1.0, 2.0, 3.0]})
    roster = pd.DataFrame({"name": ["Ann", "Bo"], "fte": [1.0, 1.0], "base": [None, None],
                           "email": ["ann@council.gov.uk", "Bo@Council.gov.uk"]})
    s.plans.save_plan(labels, author="lead@council.gov.uk", note="first", roster=roster)
    return s


def test_page_rules_by_role(store):
    store.set_role("lead@council.gov.uk", "lead", added_by="admin")
    store.set_role("an@council.gov.uk", "analyst", added_by="admin")
    store.set_role("bo@council.gov.uk", "staff", added_by="admin")
    lead = store.access_for("LEAD@council.gov.uk")
    analyst = store.access_for("an@council.gov.uk")
    staff = store.access_for("bo@council.gov.uk")
    assert lead.pages() == list(PAGES) and analyst.pages() == list(PAGES)
    assert staff.pages() == ["my_zone"]
    assert analyst.can("data_quality_detail") and not lead.can("data_quality_detail")
    assert lead.can("any_zone") and not staff.can("any_zone")


def test_staff_zone_from_latest_plan(store):
    store.set_role("bo@council.gov.uk", "staff", added_by="admin")
    a = store.access_for("bo@council.gov.uk")
    assert (a.role, a.zone, a.plan_id) == ("staff", 2, 1)
    # A new plan moves Bo to zone 1: the next access follows the current plan.
    labels = pd.DataFrame({"area_code": ["A", "B", "C"], "zone": [2, 1, 1]})
    roster = pd.DataFrame({"name": ["Bo", "Ann"], "fte": [1.0, 1.0], "base": [None, None],
                           "email": ["bo@council.gov.uk", "ann@council.gov.uk"]})
    store.plans.save_plan(labels, author="lead", roster=roster)
    assert store.access_for("bo@council.gov.uk").zone == 1


def test_unknown_user_has_no_role_and_sees_nothing(store):
    a = store.access_for("stranger@example.com")
    assert a.role is None and a.pages() == []


def test_config_roles_and_database_precedence(store):
    roles = {"Cara@council.gov.uk": "analyst", "bo@council.gov.uk": "lead"}
    assert store.role_of("cara@council.gov.uk", roles) == "analyst"
    store.set_role("bo@council.gov.uk", "staff", added_by="admin")
    assert store.role_of("bo@council.gov.uk", roles) == "staff"
    with pytest.raises(ConfigError, match="roles are lead, analyst, staff"):
        store.role_of("x@y.z", {"x@y.z": "admin"})
    with pytest.raises(ConfigError, match="Unknown role 'boss'"):
        store.set_role("x@y.z", "boss", added_by="admin")


def test_audit_log_records_events(store):
    store.log("ann@council.gov.uk", "sign_in")
    store.log("stranger@example.com", "refused", "no role")
    store.log("ann@council.gov.uk", "export", "flags_lsoa.csv")
    log = store.audit()
    assert log["event"].tolist()[:3] == ["export", "refused", "sign_in"]
    assert set(log.columns) == {"at", "user", "event", "detail"}
    with pytest.raises(ValueError):
        store.log("x", "hack")


def test_demo_mode_is_open():
    a = demo_access()
    assert a.demo and a.pages() == list(PAGES) and a.can("data_quality_detail")


def test_app_never_reads_real_records(tmp_path, monkeypatch):
    """With records not marked synthetic and no snapshot, the app refuses to build one."""
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT, write_config

    cfg = write_config(tmp_path, a="synthetic = true=>synthetic = false")
    cfg.write_text(cfg.read_text() + "\n[access]\nallow_unauthenticated = true\n")
    monkeypatch.setenv("NEEDMAP_CONFIG", str(cfg))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert any("No snapshot yet" in e.value and "needmap refresh" in e.value for e in at.error)
    assert not (tmp_path / "output" / "snapshots").exists()
    assert any("single-user analyst machine" in w.value for w in at.warning) or at.error


def test_real_records_without_sign_in_show_a_configuration_error_and_no_data(tmp_path,
                                                                           monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT, write_config

    cfg = write_config(tmp_path, a="synthetic = true=>synthetic = false")
    monkeypatch.setenv("NEEDMAP_CONFIG", str(cfg))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "needmap is not configured correctly: These records are not synthetic and no sign-in "
        "is configured. Add an [auth] section to .streamlit/secrets.toml (see the README), or, "
        "on a single-user machine nobody else can reach, set [access] allow_unauthenticated = "
        "true in the config."]
    assert not at.dataframe and not at.get("component_instance")
    log = AccessStore(tmp_path / "output" / "needmap.sqlite").audit()
    assert (log["event"] == "config_error").sum() == 1


GOOD_AUTH = ('[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\n'
             'cookie_secret = "s"\nclient_id = "c"\nclient_secret = "x"\n'
             'server_metadata_url = "http://localhost:1/.well-known/openid-configuration"\n')


@pytest.mark.parametrize(("text", "kind", "message"), [
    (None, "demo", ""),
    (GOOD_AUTH, "signin", ""),
    (GOOD_AUTH.replace('client_id = "c"\n', ""), "error", "lacks client_id"),
    (GOOD_AUTH.replace('"s"', "'s\""), "error", "cannot be read"),  # one bad quote
    ("[general]\nx = 1\n", "demo", ""),
])
def test_sign_in_fails_closed(tmp_path, text, kind, message):
    path = tmp_path / "secrets.toml"
    if text is not None:
        path.write_text(text)
    mode = auth_mode([str(path)], synthetic=True)
    assert mode.kind == kind and message in mode.message
    real = auth_mode([str(path)], synthetic=False)
    assert real.kind == ("signin" if kind == "signin" else "error")
    if kind == "demo":
        assert auth_mode([str(path)], synthetic=False, allow_unauthenticated=True).kind == "open"


def test_removing_a_role_wins_over_the_config_and_the_log_says_so(store):
    roles = {"cara@council.gov.uk": "lead"}
    assert store.access_for("cara@council.gov.uk", roles).role == "lead"
    store.remove_role("Cara@council.gov.uk", removed_by="admin", config_roles=roles)
    assert store.access_for("cara@council.gov.uk", roles).role is None
    assert store.audit()["detail"].iloc[0] == (
        "cara@council.gov.uk -> none (overrides [access.roles] lead)")
    store.set_role("cara@council.gov.uk", "analyst", added_by="admin")
    assert store.access_for("cara@council.gov.uk", roles).role == "analyst"


def test_an_older_roles_table_is_upgraded(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE roles (email TEXT PRIMARY KEY, role TEXT NOT NULL CHECK "
                 "(role IN ('lead', 'analyst', 'staff')), added_by TEXT NOT NULL, "
                 "added_at TEXT NOT NULL)")
    conn.execute("INSERT INTO roles VALUES ('a@b.c', 'lead', 'x', 'now')")
    conn.commit()
    conn.close()
    store = AccessStore(path)
    assert store.role_of("a@b.c") == "lead"
    store.remove_role("a@b.c", removed_by="admin")
    assert store.role_of("a@b.c") is None
