"""Tables of slack-sdk's SQLAlchemy installation and OAuth state stores, on our metadata.

The columns are slack-sdk's (its store code reads and writes them by name) except that every
token column is `EncryptedText`: Fernet ciphertext is longer than the token, and the store
never sees anything but clear tokens while the database never sees anything but ciphertext.
Alembic creates them (migration 0005_oauth), so `SQLModel.metadata` must hold them too.

`info={"credentials": True}` keeps them out of `loyalty export`; `storage.lifecycle` deletes
their rows with the rest of a team's data.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, String, Table, func
from sqlmodel import SQLModel

from storage.token_crypto import EncryptedText

INSTALLATIONS = "slack_installations"
BOTS = "slack_bots"
OAUTH_STATES = "slack_oauth_states"

metadata = SQLModel.metadata


slack_installations = Table(
    INSTALLATIONS,
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_id", String(32), nullable=False),
    Column("app_id", String(32), nullable=False),
    Column("enterprise_id", String(32)),
    Column("enterprise_name", String(200)),
    Column("enterprise_url", String(200)),
    Column("team_id", String(32)),
    Column("team_name", String(200)),
    Column("bot_token", EncryptedText()),
    Column("bot_id", String(32)),
    Column("bot_user_id", String(32)),
    Column("bot_scopes", String(1000)),
    Column("bot_refresh_token", EncryptedText()),
    Column("bot_token_expires_at", DateTime),
    Column("user_id", String(32), nullable=False),
    Column("user_token", EncryptedText()),
    Column("user_scopes", String(1000)),
    Column("user_refresh_token", EncryptedText()),
    Column("user_token_expires_at", DateTime),
    Column("incoming_webhook_url", EncryptedText()),  # a webhook URL is a credential too
    Column("incoming_webhook_channel", String(200)),
    Column("incoming_webhook_channel_id", String(200)),
    Column("incoming_webhook_configuration_url", String(200)),
    Column("is_enterprise_install", Boolean, default=False, nullable=False),
    Column("token_type", String(32)),
    Column("installed_at", DateTime, nullable=False, default=func.now()),
    Index(
        f"{INSTALLATIONS}_idx", "client_id", "enterprise_id", "team_id", "user_id", "installed_at"
    ),
    info={"credentials": True},
)

slack_bots = Table(
    BOTS,
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_id", String(32), nullable=False),
    Column("app_id", String(32), nullable=False),
    Column("enterprise_id", String(32)),
    Column("enterprise_name", String(200)),
    Column("team_id", String(32)),
    Column("team_name", String(200)),
    Column("bot_token", EncryptedText()),
    Column("bot_id", String(32)),
    Column("bot_user_id", String(32)),
    Column("bot_scopes", String(1000)),
    Column("bot_refresh_token", EncryptedText()),
    Column("bot_token_expires_at", DateTime),
    Column("is_enterprise_install", Boolean, default=False, nullable=False),
    Column("installed_at", DateTime, nullable=False, default=func.now()),
    Index(f"{BOTS}_idx", "client_id", "enterprise_id", "team_id", "installed_at"),
    info={"credentials": True},
)

slack_oauth_states = Table(
    OAUTH_STATES,
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("state", String(200), nullable=False),
    Column("expire_at", DateTime, nullable=False),
    info={"credentials": True},
)

# Columns holding secrets, for key rotation (`reencrypt`).
ENCRYPTED_COLUMNS = {
    INSTALLATIONS: (
        "bot_token",
        "bot_refresh_token",
        "user_token",
        "user_refresh_token",
        "incoming_webhook_url",
    ),
    BOTS: ("bot_token", "bot_refresh_token"),
}


def reencrypt_tokens(engine) -> int:
    """Rewrite every stored secret with the newest key (after adding one to the front of
    LOYALTY_ENCRYPTION_KEY); then older keys can be removed. Returns values rewritten."""
    from sqlalchemy import column, select, table, update

    from storage.token_crypto import cipher

    rewritten = 0
    with engine.begin() as conn:
        for name, columns in ENCRYPTED_COLUMNS.items():
            # A plain-text view of the table: the stored ciphertext, not the decrypted value.
            raw = table(name, column("id"), *(column(c) for c in columns))
            for row in conn.execute(select(raw)).mappings().all():
                values = {c: cipher().rotate(row[c]) for c in columns if row[c] is not None}
                if values:
                    conn.execute(update(raw).where(raw.c.id == row["id"]).values(**values))
                    rewritten += len(values)
    return rewritten
