"""Operators' accounts: create one, check a password. Passwords are kept as werkzeug's scrypt
hashes (salted, memory-hard); nothing else about them is stored."""
from __future__ import annotations

import hashlib
import re

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from jobs.records import AdminUser, utcnow

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_PASSWORD = 12
# Checked when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("framewise-no-such-user", method="scrypt")


class UserError(ValueError):
    pass


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"A password has at least {MIN_PASSWORD} characters.")


def create_user(session: Session, username: str, password: str) -> AdminUser:
    if not USERNAME.match(username):
        raise UserError("A username is 1-64 letters, digits or _ . @ -.")
    _check_password(password)
    if session.scalar(select(AdminUser).where(AdminUser.username == username)) is not None:
        raise UserError(f"An admin user called {username!r} already exists.")
    user = AdminUser(username=username, password_hash=generate_password_hash(password, method="scrypt"))
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, username: str, password: str) -> None:
    """A new password; every session logged in with the old one ends (see fingerprint)."""
    _check_password(password)
    user = session.scalar(select(AdminUser).where(AdminUser.username == username))
    if user is None:
        raise UserError(f"No admin user is called {username!r}.")
    user.password_hash = generate_password_hash(password, method="scrypt")


def authenticate(session: Session, username: str, password: str) -> AdminUser | None:
    user = session.scalar(select(AdminUser).where(AdminUser.username == username))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    user.last_login_at = utcnow()
    return user


def fingerprint(user: AdminUser) -> str:
    """Kept in the session: a new password (a new hash) ends every session of the old one."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]
