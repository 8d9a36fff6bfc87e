"""Pydantic models that document the GitLab face in the OpenAPI (responses and bodies)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from issuegraph.db.sql import MAX_BIGINT, MAX_INT


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class UserBasic(_Open):
    id: int
    username: str
    name: str
    state: str
    avatar_url: str | None
    web_url: str


class TimeStats(_Open):
    time_estimate: int
    total_time_spent: int
    human_time_estimate: str | None
    human_total_time_spent: str | None


class TaskCompletion(_Open):
    count: int
    completed_count: int


class IssueBasic(_Open):
    id: int
    iid: int
    project_id: int
    title: str
    description: str | None
    state: Literal["opened", "closed"]
    created_at: str
    updated_at: str
    closed_at: str | None
    closed_by: UserBasic | None
    labels: list[str]
    milestone: dict[str, Any] | None
    assignees: list[UserBasic]
    author: UserBasic
    type: Literal["ISSUE"]
    assignee: UserBasic | None
    user_notes_count: int
    merge_requests_count: int
    upvotes: int
    downvotes: int
    due_date: str | None
    confidential: bool
    discussion_locked: bool | None
    issue_type: str
    web_url: str
    time_stats: TimeStats
    task_completion_status: TaskCompletion
    weight: int | None
    blocking_issues_count: int


class References(_Open):
    short: str
    relative: str
    full: str


class Issue(IssueBasic):
    has_tasks: bool
    references: References
    severity: str
    moved_to_id: int | None
    imported: bool
    imported_from: str
    service_desk_reply_to: str | None
    _links: dict[str, Any]


GitLabLinkType = Literal[
    "relates_to", "blocks", "is_blocked_by", "parent_of", "subissue_of", "duplicates", "duplicated_by"
]


class RelatedIssue(Issue):
    issue_link_id: int
    link_type: GitLabLinkType
    link_created_at: str
    link_updated_at: str


class IssueLink(_Open):
    id: int
    source_issue: IssueBasic
    target_issue: IssueBasic
    link_type: Literal["relates_to", "blocks", "parent_of", "duplicates"]


class Note(_Open):
    id: int
    body: str
    author: UserBasic | None
    system: bool
    noteable_id: int
    noteable_iid: int
    created_at: str


class PersonalAccessToken(_Open):
    id: int
    name: str
    revoked: bool
    created_at: str
    scopes: list[Literal["api", "read_api"]]
    user_id: int
    last_used_at: str | None
    active: bool
    expires_at: str | None


class User(UserBasic):
    created_at: str | None
    bot: bool
    is_admin: bool
    email: str | None = None  # to administrators and the user themself


class Member(UserBasic):
    access_level: int
    expires_at: str | None
    created_at: str | None


class Group(_Open):
    id: int
    name: str
    path: str
    description: str
    visibility: Literal["private", "internal", "public"]
    full_name: str
    full_path: str
    parent_id: int | None
    created_at: str | None
    avatar_url: str | None
    web_url: str


class Namespace(_Open):
    id: int
    name: str
    path: str
    kind: Literal["user", "group"]
    full_path: str
    parent_id: int | None
    avatar_url: str | None
    web_url: str


class Project(_Open):
    id: int
    description: str
    name: str
    name_with_namespace: str
    path: str
    path_with_namespace: str
    created_at: str | None
    updated_at: str | None
    visibility: Literal["private", "internal", "public"]
    web_url: str
    namespace: Namespace
    creator_id: int | None
    close_policy: Literal["allow", "warn", "deny"]
    close_duplicates: bool


class NewPersonalAccessToken(PersonalAccessToken):
    token: str


class Message(BaseModel):
    message: Any


class Error(BaseModel):
    error: str


class InsufficientScope(Error):
    """403 for a write with a read_api token."""

    error_description: str
    scope: str


class NoteCreate(BaseModel):
    body: str


# The ranges the database holds: documented so that clients (and schemathesis' boundary
# cases) know them; a value outside is a 400 or names nothing (404), never a 500.
Id = Annotated[int, Field(ge=1, le=MAX_BIGINT)]
Iid = Annotated[int, Field(ge=1, le=MAX_INT)]
Weight = Annotated[int, Field(ge=0, le=MAX_INT)]


class LinkCreate(BaseModel):
    target_project_id: Id | str
    target_issue_iid: Iid | str
    link_type: GitLabLinkType | None = None


class IssueCreate(BaseModel):
    title: str
    description: str | None = None
    confidential: bool | None = None
    labels: str | None = None
    assignee_ids: list[Id] | None = None
    milestone_id: Annotated[int, Field(ge=0, le=MAX_BIGINT)] | None = None  # 0 clears
    due_date: str | None = None
    weight: Weight | None = None


class ProjectUpdate(BaseModel):
    name: str | None = None
    path: str | None = None
    description: str | None = None
    visibility: Literal["private", "internal", "public"] | None = None
    close_policy: Literal["allow", "warn", "deny"] | None = Field(
        default=None,
        description="issuegraph extension. Closing an issue that has open blockers or open sub-issues: "
        "`allow` closes it; `warn` closes it and the issue answer carries `close_warnings` (what is "
        "still open); `deny` refuses with 409 and the open items. Default `allow`.",
    )
    close_duplicates: bool | None = Field(
        default=None,
        description="issuegraph extension. Closing an issue also closes the open issues that "
        "duplicate it (their status becomes `duplicate`). Default false.",
    )


class IssueUpdate(BaseModel):
    title: str | None = None
    description: str | None = None
    confidential: bool | None = None
    labels: str | None = None
    add_labels: str | None = None
    remove_labels: str | None = None
    assignee_ids: list[Id] | None = None
    milestone_id: Annotated[int, Field(ge=0, le=MAX_BIGINT)] | None = None  # 0 clears
    due_date: str | None = None
    weight: Weight | None = None
    state_event: Literal["close", "reopen"] | None = None
    discussion_locked: bool | None = None


def query(**schemas: dict[str, Any]) -> dict[str, Any]:
    """openapi_extra for a route that reads these optional query parameters itself."""
    return {
        "parameters": [
            {"name": name.replace("__", "[]"), "in": "query", "required": False, "schema": schema}
            for name, schema in schemas.items()
        ]
    }


_ID: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_BIGINT}
_TEXT: dict[str, Any] = {"type": "string"}
_TIME: dict[str, Any] = {"type": "string", "format": "date-time"}
PAGE: dict[str, dict[str, Any]] = {
    # Beyond this page an offset no longer fits a BIGINT: 400.
    "page": {"type": "integer", "minimum": 1, "maximum": MAX_BIGINT // 100},
    "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
}
ISSUE_FILTERS: dict[str, dict[str, Any]] = {
    "state": {"type": "string", "enum": ["opened", "closed", "all"]},
    "labels": {"type": "string", "description": "Comma-separated names, or None / Any"},
    "search": _TEXT,
    "iids__": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": MAX_INT}},
    "confidential": {"type": "boolean"},
    "assignee_id": {"type": "string", "description": "A user id, or None / Any"},
    "assignee_username": _TEXT,
    "author_id": _ID,
    "author_username": _TEXT,
    "milestone": _TEXT,
    "blocked": {"type": "boolean"},
    "created_after": _TIME,
    "created_before": _TIME,
    "updated_after": _TIME,
    "updated_before": _TIME,
    "order_by": {"type": "string", "enum": ["created_at", "updated_at", "id", "due_date", "title", "weight"]},
    "sort": {"type": "string", "enum": ["asc", "desc"]},
    "pagination": {"type": "string", "enum": ["keyset"]},
    "cursor": _TEXT,
    **PAGE,
}


TOKEN_FILTERS: dict[str, dict[str, Any]] = {
    "user_id": _ID,
    "revoked": {"type": "boolean"},
    "state": {"type": "string", "enum": ["active", "inactive"]},
    "search": _TEXT,
    **PAGE,
}


def body_of(model: type[BaseModel], required: bool = True) -> dict[str, Any]:
    """openapi_extra for a route that parses its own body (JSON, form or query)."""
    return {
        "requestBody": {
            "required": required,
            "content": {
                "application/json": {
                    "schema": model.model_json_schema(ref_template="#/components/schemas/{model}")
                }
            },
        }
    }


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Error, "description": "Invalid parameters"},
    401: {"model": Message, "description": "Unauthorized"},
    403: {"model": Message | InsufficientScope, "description": "Forbidden"},
    404: {"model": Message, "description": "Not found"},
    409: {"model": Message, "description": "Conflict"},
    422: {"model": Message, "description": "Refused by a rule"},
}


# GitLab's per-user rate limits (hook tests, resends, creation): Grape's error hash, Retry-After.
TOO_MANY_REQUESTS: dict[int | str, dict[str, Any]] = {
    429: {"model": Message, "description": "Rate limited; Retry-After gives the seconds to wait"}
}


def _ref(path: str, method: str) -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


_ISSUE = "/api/v4/projects/{project_id}/issues/{issue_iid}"
_IN_ISSUE = {"project_id": "$request.path.project_id", "issue_iid": "$response.body#/iid"}
# OpenAPI links: what a client (and schemathesis' stateful tests) may do next with what was created.
ISSUE_LINKS: dict[str, Any] = {
    name: {"operationRef": _ref(_ISSUE + suffix, method), "parameters": _IN_ISSUE}
    for name, suffix, method in [
        ("GetIssue", "", "get"),
        ("UpdateIssue", "", "put"),
        ("DeleteIssue", "", "delete"),
        ("ListNotes", "/notes", "get"),
        ("CreateNote", "/notes", "post"),
        ("ListLinks", "/links", "get"),
        ("CreateLink", "/links", "post"),
    ]
}
PROJECT_LINKS: dict[str, Any] = {
    name: {"operationRef": _ref(path, method), "parameters": {"project_id": "$response.body#/id"}}
    for name, path, method in [
        ("GetProject", "/api/v4/projects/{project_id}", "get"),
        ("CreateIssue", "/api/v4/projects/{project_id}/issues", "post"),
        ("ListIssues", "/api/v4/projects/{project_id}/issues", "get"),
        ("ListMembers", "/api/v4/projects/{project_id}/members", "get"),
    ]
}
