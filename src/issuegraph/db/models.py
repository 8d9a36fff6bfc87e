"""Every table of issuegraph, in one place so the schema reads as a whole.

The database enforces what must never break: one link per unordered pair
(``uq_issue_links_pair``), one parent per issue (``uq_issue_links_one_parent``),
one canonical issue per duplicate (``uq_issue_links_one_canonical``), foreign keys.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite gives the id of a deleted newest row to the next row unless its table has AUTOINCREMENT;
# GitLab never reuses an id. Every table with an integer id carries this (PostgreSQL's sequences
# never go back: no effect there). Changed on existing databases by migration 7ca44bd8de15.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}

# Integer keys that are BIGINT on PostgreSQL but INTEGER on SQLite (so they alias ROWID).
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        # asyncpg decodes timestamptz as aware UTC datetimes already: nothing to do per value
        # (a list of 50 links reads about 400 of them).
        if getattr(dialect, "driver", None) == "asyncpg":
            return None
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None or value.tzinfo is UTC:  # asyncpg's timestamptz: UTC already
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(255), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="active")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # argon2id hash (accounts.passwords); null: the user cannot sign in to the web UI.
    password_digest: Mapped[str | None] = mapped_column(String(255), nullable=True)


class PersonalAccessToken(Base):
    __tablename__ = "personal_access_tokens"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    # SHA-256 of the token: tokens are 160 random bits, so a fast digest is enough.
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(255))  # comma separated: api,read_api
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Namespace(Base):
    """A group (kind ``group``) or a user's personal namespace (kind ``user``)."""

    __tablename__ = "namespaces"
    __table_args__ = (CheckConstraint("kind IN ('user', 'group')", name="kind"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(255))
    full_path: Mapped[str] = mapped_column(String(1024), unique=True)
    # Ids from the root down to this namespace, "1/5/9": ancestors without recursion.
    traversal_ids: Mapped[str] = mapped_column(String(512), default="", index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("namespaces.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    visibility: Mapped[str] = mapped_column(String(16), default="private")
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupMember(Base):
    __tablename__ = "group_members"

    namespace_id: Mapped[int] = mapped_column(
        ForeignKey("namespaces.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    access_level: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint("close_policy IN ('allow', 'warn', 'deny')", name="close_policy"),
        UniqueConstraint("namespace_id", "path"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("namespaces.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(255))
    full_path: Mapped[str] = mapped_column(String(1024), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[str] = mapped_column(String(16), default="private")
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The last issue number handed out; iids are never reused.
    last_issue_iid: Mapped[int] = mapped_column(Integer, default=0)
    close_policy: Mapped[str] = mapped_column(String(8), default="allow", server_default="allow")
    close_duplicates: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProjectMember(Base):
    __tablename__ = "project_members"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    access_level: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Milestone(Base):
    __tablename__ = "milestones"
    __table_args__ = (
        UniqueConstraint("project_id", "iid"),
        UniqueConstraint("project_id", "title"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    iid: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="active")
    start_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    due_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Label(Base):
    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("project_id", "name"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    color: Mapped[str] = mapped_column(String(16), default="#6699cc")
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Issue(Base):
    __tablename__ = "issues"
    __table_args__ = (
        UniqueConstraint("project_id", "iid"),
        CheckConstraint("state IN ('opened', 'closed')", name="state"),
        Index("ix_issues_project_id_state_id", "project_id", "state", "id"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    iid: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(1024))
    description: Mapped[str] = mapped_column(Text, default="")
    # GitLab's state is derived from the SourceCraft status; both are stored so
    # "open" is one indexed column for graph queries.
    state: Mapped[str] = mapped_column(String(8), default="opened")
    status: Mapped[str] = mapped_column(String(16), default="open")
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    discussion_locked: Mapped[bool] = mapped_column(Boolean, default=False)
    weight: Mapped[int | None] = mapped_column(Integer, nullable=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    milestone_id: Mapped[int | None] = mapped_column(ForeignKey("milestones.id", ondelete="SET NULL"))
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IssueAssignee(Base):
    __tablename__ = "issue_assignees"

    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)


class IssueLabel(Base):
    __tablename__ = "issue_labels"

    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True)
    label_id: Mapped[int] = mapped_column(
        ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class IssueLink(Base):
    """One row per unordered pair of issues, stored in its canonical direction."""

    __tablename__ = "issue_links"
    __table_args__ = (
        UniqueConstraint("pair_lo", "pair_hi", name="uq_issue_links_pair"),
        CheckConstraint("pair_lo < pair_hi", name="pair_ordered"),
        CheckConstraint(
            "(source_id = pair_lo AND target_id = pair_hi) OR (source_id = pair_hi AND target_id = pair_lo)",
            name="pair_matches",
        ),
        CheckConstraint("link_type IN ('related_to', 'parent_of', 'blocks', 'duplicates')", name="link_type"),
        Index(
            "uq_issue_links_one_parent",
            "target_id",
            unique=True,
            postgresql_where=text("link_type = 'parent_of'"),
            sqlite_where=text("link_type = 'parent_of'"),
        ),
        Index(
            "uq_issue_links_one_canonical",
            "source_id",
            unique=True,
            postgresql_where=text("link_type = 'duplicates'"),
            sqlite_where=text("link_type = 'duplicates'"),
        ),
        Index("ix_issue_links_source_id_link_type", "source_id", "link_type", "target_id"),
        # The open issues an issue blocks (its representation's count) read only its blocks links.
        Index(
            "ix_issue_links_blocks_source_id",
            "source_id",
            "target_id",
            postgresql_where=text("link_type = 'blocks'"),
            sqlite_where=text("link_type = 'blocks'"),
        ),
        Index("ix_issue_links_target_id_link_type", "target_id", "link_type", "source_id"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    link_type: Mapped[str] = mapped_column(String(16))
    pair_lo: Mapped[int] = mapped_column(BigId)
    pair_hi: Mapped[int] = mapped_column(BigId)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LinkComponent(Base):
    """An issue's connected component over links of one kind (PostgreSQL's creation locks:
    see links.components). No row: the issue is alone, its component is its own id."""

    __tablename__ = "link_components"
    __table_args__ = (Index("ix_link_components_kind_component", "kind", "component"),)

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True)
    component: Mapped[int] = mapped_column(BigId)


class Note(Base):
    """A comment or a system note on an issue."""

    __tablename__ = "notes"
    __table_args__ = (
        Index("ix_notes_issue_id_id", "issue_id", "id"),
        # User notes only: an issue's user-note count reads its user notes, not its system notes.
        Index(
            "ix_notes_issue_id_user",
            "issue_id",
            postgresql_where=text("system = false"),
            sqlite_where=text("system = 0"),
        ),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    system: Mapped[bool] = mapped_column(Boolean, default=False)
    system_action: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # The issue a system note names ("marked this issue as blocked by grp/prj#5"): the note is shown
    # only to readers who may read that issue, as GitLab does. No foreign key: a note naming a
    # deleted issue stays hidden (its text still names the issue). Migration dcb7b029ce80.
    referenced_issue_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Event(Base):
    """An outbox of changes, written in the same transaction as the change itself.

    Delivery (webhooks, notifications) reads from here; ``silent`` records the
    caller's wish that subscribers are not notified of this change.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_project_id_id", "project_id", "id"),
        # Events not yet handed to delivery (see events.dispatch).
        Index(
            "ix_events_undispatched",
            "id",
            postgresql_where=text("seq IS NULL"),
            sqlite_where=text("seq IS NULL"),
        ),
        Index("uq_events_seq", "seq", unique=True),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    project_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    issue_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    link_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    actor_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    silent: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Position in commit order, given when delivery picks the event up (null until then): the
    # change feed's cursor and the order of deliveries. Ids are handed out before commit, so
    # they are not in commit order on PostgreSQL.
    seq: Mapped[int | None] = mapped_column(BigId, nullable=True)


class Webhook(Base):
    """A GitLab project/group hook (flavor ``gitlab``) or a native subscription (``native``).

    Scope: ``project_id``, or ``group_id`` (its projects and subgroups), or neither (instance-wide,
    native only). Auto-disabling as GitLab: ``recent_failures``, ``disabled_until``, ``disabled``.
    """

    __tablename__ = "webhooks"
    __table_args__ = (CheckConstraint("flavor IN ('gitlab', 'native')", name="flavor"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    flavor: Mapped[str] = mapped_column(String(8))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=True, index=True
    )
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("namespaces.id", ondelete="CASCADE"), nullable=True, index=True
    )
    url: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    token: Mapped[str | None] = mapped_column(Text, nullable=True)
    # whsec_ secrets, newest first; every one signs (two during a rotation).
    secrets: Mapped[list[str]] = mapped_column(JSON, default=list)
    # GitLab attributes (event flags, branch filter, ssl verification...) or native event types.
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    url_variables: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    custom_headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    recent_failures: Mapped[int] = mapped_column(Integer, default=0)
    disabled_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookPayload(Base):
    """The body one event sends about one issue to every hook of one flavor, stored once.

    With ten hooks a link makes twenty deliveries but only two bodies per flavor (one for each
    issue); the deliveries find theirs by (event_id, order_key) and their hook's flavor. Kept
    while any delivery of that event and issue is (`delivery.prune`).
    """

    __tablename__ = "webhook_payloads"
    __table_args__ = (Index("ix_webhook_payloads_created_at", "created_at"),)

    event_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_key: Mapped[int] = mapped_column(BigId, primary_key=True)
    flavor: Mapped[str] = mapped_column(String(8), primary_key=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Base):
    """One event for one hook: pending until a 2xx (3xx for GitLab hooks), retried with back-off.

    ``order_key`` (the issue) and ``event_seq`` keep one issue's events in commit order per hook;
    ``uuid`` is the Idempotency-Key / webhook-id, the same on every attempt. The body is the
    `WebhookPayload` of (event_id, order_key, the hook's flavor), the same on every attempt.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'delivered')", name="state"),
        # Event first: it also finds whether a payload still has deliveries (prune).
        UniqueConstraint("event_id", "order_key", "hook_id"),
        # A claim walks each active hook's heads in commit order and stops at its limit; the
        # dispatcher and a success find an issue's pending deliveries (pending rows only:
        # delivered ones pile up until pruned). Both cost what they answer, never the queue.
        Index(
            "ix_webhook_deliveries_heads",
            "hook_id",
            "event_seq",
            postgresql_where=text("head"),
            sqlite_where=text("head"),
        ),
        # At most one head per hook and issue (the dispatcher's lookup: is one pending?).
        Index(
            "uq_webhook_deliveries_head",
            "hook_id",
            "order_key",
            unique=True,
            postgresql_where=text("head"),
            sqlite_where=text("head"),
        ),
        Index(
            "ix_webhook_deliveries_pending_hook_order_seq",
            "hook_id",
            "order_key",
            "event_seq",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    hook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(BigId)
    event_seq: Mapped[int] = mapped_column(BigId)
    order_key: Mapped[int] = mapped_column(BigId, default=0)
    trigger: Mapped[str] = mapped_column(String(64))
    uuid: Mapped[str] = mapped_column(String(36))
    state: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The earliest pending delivery of its hook and issue: the one that may be sent next (one
    # issue's events reach a hook in commit order). Set by the dispatcher when nothing of the
    # issue is pending for the hook, moved to the next pending one by a success.
    head: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class WebhookLog(Base):
    """One HTTP attempt of a hook (deliveries, tests, resends): what was sent and what came back."""

    __tablename__ = "webhook_logs"
    __table_args__ = (Index("ix_webhook_logs_hook_id_id", "hook_id", "id"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    hook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="SET NULL"), nullable=True, index=True
    )
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    trigger: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(36))
    request_headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    request_data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    response_body: Mapped[str] = mapped_column(Text, default="")
    internal_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    execution_duration: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class IssueSubscription(Base):
    """An explicit subscribe (true) or unsubscribe (false) of a user to an issue; authors,
    assignees and commenters follow without a row (events.subscriptions)."""

    __tablename__ = "issue_subscriptions"

    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    subscribed: Mapped[bool] = mapped_column(Boolean)


class Notification(Base):
    """One e-mail to one person about one event, pending until the SMTP server takes it."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("event_id", "issue_id", "user_id"),
        CheckConstraint("state IN ('pending', 'sent')", name="state"),
        Index(
            "ix_notifications_due",
            "next_attempt_at",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigId)
    issue_id: Mapped[int] = mapped_column(BigId)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(1024))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(8), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebSession(Base):
    """A signed-in browser (web UI). Stored here so every worker sees it and sign-out ends it."""

    __tablename__ = "web_sessions"

    # SHA-256 of the cookie value: the cookie is 256 random bits, the database never holds it.
    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SignInFailure(Base):
    """Failed sign-ins per username, shared by all workers, to slow guessing down."""

    __tablename__ = "sign_in_failures"

    username: Mapped[str] = mapped_column(String(255), primary_key=True)  # lower case
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime] = mapped_column(UTCDateTime)


class AuthThrottle(Base):
    """Failed authentications per client address, shared by every worker process (accounts.throttle).

    Times are seconds since the epoch: compared as numbers alike on both backends."""

    __tablename__ = "auth_throttle"

    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[float] = mapped_column(Float)
    failures: Mapped[int] = mapped_column(Integer)
    banned_until: Mapped[float] = mapped_column(Float, default=0.0)


class RateLimit(Base):
    """Requests counted per key in a fixed window, shared by every worker process (ratelimits).

    The key names the limit and who is counted (`hooks_test:7:project:3`); the window ends
    `window_end` (seconds since the epoch, compared as numbers alike on both backends)."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    window_end: Mapped[float] = mapped_column(Float)
    hits: Mapped[int] = mapped_column(Integer)


class ImportedObject(Base):
    """What an importer brought, by its source: a second run finds it here (no duplicate), and
    `fingerprint` (a digest of the source's fields) tells whether the source changed since."""

    __tablename__ = "imported_objects"
    __table_args__ = (
        UniqueConstraint("instance_url", "source_kind", "object_kind", "source_id"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_url: Mapped[str] = mapped_column(String(512))
    source_kind: Mapped[str] = mapped_column(String(16))  # gitlab, sourcecraft
    object_kind: Mapped[str] = mapped_column(String(16))  # group, project, user, issue, note, link...
    source_id: Mapped[str] = mapped_column(String(255))
    local_id: Mapped[int] = mapped_column(BigId)
    fingerprint: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
