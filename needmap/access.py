"""Who sees what: roles, the staff member's own zone, and an audit log.

Roles live in the same SQLite database as the zone plans (table ``roles``) and may also be listed
in the config (``[access.roles]`` e-mail = role). The database wins where both name a person,
including a removal: removing a role writes ``none`` for that person, so a role the config also
gives them does not silently come back, and the audit log says which config role was overridden.

* ``lead``: every page.
* ``analyst``: every page, plus the data-quality detail and the records-file check.
* ``staff``: My zone only, for the zone the current saved plan assigns to their e-mail.

A signed-in person with no role is refused politely and sees nothing else. Every decision is
made here, server-side, before a page loads any data; the pages only ask.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from needmap.errors import ConfigError
from needmap.plans import PlanStore

ROLES = ("lead", "analyst", "staff")
PAGES = ("overview", "off_radar", "zones", "my_zone", "data")
PAGE_ROLES: dict[str, frozenset[str]] = {
    "overview": frozenset({"lead", "analyst"}),
    "off_radar": frozenset({"lead", "analyst"}),
    "zones": frozenset({"lead", "analyst"}),
    "my_zone": frozenset({"lead", "analyst", "staff"}),
    "data": frozenset({"lead", "analyst"}),
}
#: Parts of pages beyond the page itself.
FEATURE_ROLES: dict[str, frozenset[str]] = {
    "data_quality_detail": frozenset({"analyst"}),
    "check_records": frozenset({"analyst"}),
    "any_zone": frozenset({"lead", "analyst"}),
}
DEMO_USER = "demo"

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS roles (
        email TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('lead', 'analyst', 'staff', 'none')),
        added_by TEXT NOT NULL,
        added_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        user TEXT NOT NULL,
        event TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    )""",
)
EVENTS = ("sign_in", "refused", "export", "file_check", "plan_save", "plan_restore",
          "role_change", "config_error")
#: The role stored when a person's access is removed (it overrides the config).
NO_ROLE = "none"


@dataclass(frozen=True)
class Access:
    """What one person may see: their role, and for staff, their zone."""

    user: str
    role: str | None
    zone: int | None = None
    plan_id: int | None = None
    demo: bool = False

    def can_see(self, page: str) -> bool:
        if self.demo:
            return True
        return self.role is not None and self.role in PAGE_ROLES[page]

    def can(self, feature: str) -> bool:
        if self.demo:
            return True
        return self.role is not None and self.role in FEATURE_ROLES[feature]

    def pages(self) -> list[str]:
        return [p for p in PAGES if self.can_see(p)]


def _norm(email: str) -> str:
    return email.strip().lower()


class AccessStore:
    """Roles and the audit log, in the zone-plan database (one file to back up)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.plans = PlanStore(self.path)  # creates the file and its own tables
        with self.plans.transaction() as conn:
            for statement in SCHEMA:
                conn.execute(statement)
            table = conn.execute(
                "SELECT sql FROM sqlite_master WHERE name = 'roles'").fetchone()[0]
            if "'none'" not in table:  # an older file: allow the removal marker
                conn.execute("ALTER TABLE roles RENAME TO roles_old")
                conn.execute(SCHEMA[0])
                conn.execute("INSERT INTO roles SELECT * FROM roles_old")
                conn.execute("DROP TABLE roles_old")

    def _conn(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    def set_role(self, email: str, role: str, *, added_by: str) -> None:
        if role not in ROLES:
            raise ConfigError(f"Unknown role {role!r} for {email}. Roles: {', '.join(ROLES)}.")
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with self.plans.transaction() as conn:
            conn.execute(
                "INSERT INTO roles (email, role, added_by, added_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(email) DO UPDATE SET role = excluded.role, "
                "added_by = excluded.added_by, added_at = excluded.added_at",
                (_norm(email), role, added_by, now),
            )
            self._log(conn, added_by, "role_change", f"{_norm(email)} -> {role}")

    def remove_role(self, email: str, *, removed_by: str,
                    config_roles: Mapping[str, str] | None = None) -> None:
        """Remove a person's access. It stays removed even if the config lists them."""
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        listed = {_norm(k): v for k, v in (config_roles or {}).items()}.get(_norm(email))
        with self.plans.transaction() as conn:
            conn.execute(
                "INSERT INTO roles (email, role, added_by, added_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(email) DO UPDATE SET role = excluded.role, "
                "added_by = excluded.added_by, added_at = excluded.added_at",
                (_norm(email), NO_ROLE, removed_by, now),
            )
            detail = f"{_norm(email)} -> none"
            if listed:
                detail += f" (overrides [access.roles] {listed})"
            self._log(conn, removed_by, "role_change", detail)

    def roles(self) -> pd.DataFrame:
        """Roles set in the database (``none`` marks a removal that overrides the config)."""
        conn = self._conn()
        try:
            return pd.read_sql_query("SELECT * FROM roles ORDER BY email", conn)
        finally:
            conn.close()

    def role_of(self, email: str, config_roles: Mapping[str, str] | None = None) -> str | None:
        conn = self._conn()
        try:
            row = conn.execute("SELECT role FROM roles WHERE email = ?", (_norm(email),)).fetchone()
        finally:
            conn.close()
        if row:
            return None if row[0] == NO_ROLE else str(row[0])
        roles = {_norm(k): v for k, v in (config_roles or {}).items()}
        role = roles.get(_norm(email))
        if role is not None and role not in ROLES:
            raise ConfigError(
                f"[access.roles] gives {email} the role {role!r}; roles are {', '.join(ROLES)}."
            )
        return role

    def staff_zone(self, email: str) -> tuple[int | None, int | None]:
        """(plan_id, zone) the current saved plan assigns to ``email``; (None, None) if none."""
        plan = self.plans.latest_plan()
        if plan is None or plan.staff is None or plan.staff.empty:
            return (plan.plan_id if plan else None), None
        emails = plan.staff["email"].fillna("").astype(str).map(_norm)
        hit = plan.staff[emails == _norm(email)]
        if hit.empty:
            return plan.plan_id, None
        return plan.plan_id, int(hit["zone"].iloc[0])

    def access_for(self, email: str, config_roles: Mapping[str, str] | None = None) -> Access:
        """Everything the app needs to decide what ``email`` sees."""
        role = self.role_of(email, config_roles)
        plan_id, zone = self.staff_zone(email) if role == "staff" else (None, None)
        return Access(user=_norm(email), role=role, zone=zone, plan_id=plan_id)

    def log(self, user: str, event: str, detail: str = "") -> None:
        with self.plans.transaction() as conn:
            self._log(conn, user, event, detail)

    @staticmethod
    def _log(conn: sqlite3.Connection, user: str, event: str, detail: str) -> None:
        if event not in EVENTS:
            raise ValueError(f"unknown audit event {event!r}; events: {', '.join(EVENTS)}")
        conn.execute(
            "INSERT INTO audit (at, user, event, detail) VALUES (?, ?, ?, ?)",
            (dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), user, event, detail),
        )

    def audit(self, limit: int = 500) -> pd.DataFrame:
        conn = self._conn()
        try:
            return pd.read_sql_query(
                "SELECT at, user, event, detail FROM audit ORDER BY id DESC LIMIT ?", conn,
                params=(limit,),
            )
        finally:
            conn.close()


def demo_access() -> Access:
    """Demo mode (no identity provider configured): open, and said so in a banner."""
    return Access(user=DEMO_USER, role=None, demo=True)


# -- how the app is protected ----------------------------------------------------------------------

AUTH_KEYS = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")


@dataclass(frozen=True)
class AuthMode:
    """How the app must run: ``demo``, ``signin``, ``open`` or ``error`` (show ``message`` only)."""

    kind: str
    message: str = ""


def auth_mode(secret_files: list[str], *, synthetic: bool,
              allow_unauthenticated: bool = False) -> AuthMode:
    """Decide, failing closed, whether the app signs people in.

    A secrets file that exists but cannot be read, or an ``[auth]`` section without its required
    keys, is a configuration error, never a fall back to an open app. With no ``[auth]`` at all
    the app is open only for synthetic demo records, or when the config explicitly allows it for
    a single-user analyst machine (``[access] allow_unauthenticated = true``).
    """
    import tomllib

    auth = None
    for name in secret_files:
        path = Path(name)
        if path.is_dir():
            candidates = sorted(path.glob("*/secrets.toml"))
        elif path.is_file() or path.suffix == ".toml":
            candidates = [path] if path.exists() else []
        else:
            candidates = []
        for file in candidates:
            try:
                data = tomllib.loads(file.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                return AuthMode("error", f"{file} cannot be read ({exc}). Fix it: the app shows "
                                "no data until sign-in is configured correctly.")
            if "auth" in data:
                auth = data["auth"]
    if auth is not None:
        if not isinstance(auth, dict):
            return AuthMode("error", "[auth] in the secrets file must be a table of keys.")
        missing = [k for k in AUTH_KEYS if not str(auth.get(k, "")).strip()]
        if missing:
            return AuthMode("error", f"[auth] in the secrets file lacks {', '.join(missing)}. Add "
                            "them (see the README's sign-in section): the app shows no data "
                            "until sign-in is configured correctly.")
        return AuthMode("signin")
    if synthetic:
        return AuthMode("demo")
    if allow_unauthenticated:
        return AuthMode("open", "no sign-in: single-user analyst machine "
                                "([access] allow_unauthenticated)")
    return AuthMode("error", "These records are not synthetic and no sign-in is configured. Add "
                    "an [auth] section to .streamlit/secrets.toml (see the README), or, on a "
                    "single-user machine nobody else can reach, set [access] "
                    "allow_unauthenticated = true in the config.")
