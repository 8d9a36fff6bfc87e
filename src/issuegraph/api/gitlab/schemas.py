"""Pydantic models that document the GitLab face in the OpenAPI (responses and bodies)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


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


class Message(BaseModel):
    message: Any


class Error(BaseModel):
    error: str


class LinkCreate(BaseModel):
    target_project_id: int | str
    target_issue_iid: int | str
    link_type: GitLabLinkType | None = None


class IssueCreate(BaseModel):
    title: str
    description: str | None = None
    confidential: bool | None = None
    labels: str | None = None
    assignee_ids: list[int] | None = None
    milestone_id: int | None = None
    due_date: str | None = None
    weight: int | None = None


class IssueUpdate(BaseModel):
    title: str | None = None
    description: str | None = None
    confidential: bool | None = None
    labels: str | None = None
    add_labels: str | None = None
    remove_labels: str | None = None
    assignee_ids: list[int] | None = None
    milestone_id: int | None = None
    due_date: str | None = None
    weight: int | None = None
    state_event: Literal["close", "reopen"] | None = None
    discussion_locked: bool | None = None


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
    403: {"model": Message, "description": "Forbidden"},
    404: {"model": Message, "description": "Not found"},
    409: {"model": Message, "description": "Conflict"},
    422: {"model": Message, "description": "Refused by a rule"},
}
