"""Request and response models of the native graph API (its OpenAPI document)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from issuegraph.domain.ids import MAX_BIGINT, MAX_INT
from issuegraph.domain.links import LinkType
from issuegraph.graph import service


class IssueRef(BaseModel):
    """An issue the caller can read."""

    model_config = ConfigDict(extra="forbid")

    id: int = Field(description="Global issue id")
    iid: int = Field(description="Issue number inside its project")
    project_id: int
    reference: str = Field(description="full/project/path#iid", examples=["acme/api#12"])
    title: str
    state: Literal["opened", "closed"]
    weight: int | None


class HiddenIssue(BaseModel):
    """An issue the caller cannot read, standing between readable ones. Nothing else is said about it."""

    model_config = ConfigDict(extra="forbid")

    hidden: Literal[True]


PathStep = IssueRef | HiddenIssue


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class ErrorBody(BaseModel):
    error: ErrorDetail


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorBody,
        "description": "Invalid request: `invalid_parameter` (a parameter of the wrong type or out of "
        "range), `invalid_cursor` (not a cursor of this list), `invalid_depth`, ...",
    },
    401: {"model": ErrorBody, "description": "Invalid token"},
    404: {"model": ErrorBody, "description": "Project, group or issue not found (or not readable)"},
}
TOO_MANY_REQUESTS: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorBody, "description": "`rate_limited`; Retry-After gives the seconds to wait"}
}


class Reached(BaseModel):
    issue: IssueRef
    depth: int = Field(description="Number of blocks links between the two issues (1 = direct)")
    path: list[PathStep] = Field(
        description="One shortest path, both ends included: blocker -> ... -> issue for /blockers, "
        "issue -> ... -> blocked issue for /blocking; prefers paths crossing fewer hidden issues"
    )


class BlocksAnswer(BaseModel):
    issue: IssueRef
    direction: Literal["blockers", "blocking"]
    depth: int = Field(description="The depth limit applied")
    open_only: bool
    count: int = Field(description="Readable results within the depth limit")
    truncated: bool = Field(description="True when `count` exceeds `limit` and items were cut")
    items: list[Reached]


class ScopeRef(BaseModel):
    kind: Literal["project", "group"]
    id: int
    full_path: str


class ReadyPage(BaseModel):
    scope: ScopeRef
    items: list[IssueRef]
    per_page: int
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class BlockedIssue(BaseModel):
    issue: IssueRef
    open_blockers: list[PathStep] = Field(
        description="Direct open blockers; unreadable ones are placeholders"
    )


class BlockedPage(BaseModel):
    scope: ScopeRef
    items: list[BlockedIssue]
    per_page: int
    next_cursor: str | None


class AncestorsAnswer(BaseModel):
    issue: IssueRef
    ancestors: list[PathStep] = Field(
        description="Parent first, then its parent, ... (unreadable tail omitted)"
    )
    root: IssueRef | None = Field(
        description="The topmost readable ancestor (the last item of `ancestors`); null without one"
    )


class Rollup(BaseModel):
    descendants_total: int = Field(description="Readable descendants (all levels)")
    descendants_closed: int
    descendants_open: int
    percent_done: float | None = Field(
        description="closed / total x 100, one decimal; null without descendants"
    )
    weight_total: int = Field(description="Sum of the weights of readable descendants (no weight counts 0)")
    weight_closed: int


class TreeNode(BaseModel):
    issue: PathStep
    rollup: Rollup
    children: list[TreeNode]


class TreeAnswer(BaseModel):
    root: TreeNode
    height: int = Field(
        description="Levels below the root that are shown (at most `depth`; roll-ups still cover all levels)"
    )


class CriticalPath(BaseModel):
    scope: ScopeRef
    by: Literal["count", "weight"]
    length: int = Field(description="Issues on the chain (links = length - 1)")
    total_weight: int = Field(description="Sum of the weights of the readable issues on the chain")
    chain: list[PathStep] = Field(description="First blocker first; every issue open; ends are readable")


class CanonicalAnswer(BaseModel):
    issue: IssueRef
    canonical: IssueRef | None = Field(description="End of the duplicate chain; null when it is not readable")
    is_duplicate: bool
    chain: list[PathStep] = Field(
        description="issue -> ... -> canonical (the issue alone when not a duplicate)"
    )


class IssueLocator(BaseModel):
    """An issue: its global `id`, or `project` (id or full path) and `iid`."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[int, Field(ge=1, le=MAX_BIGINT)] | None = None
    project: Annotated[str, Field(max_length=1024)] | Annotated[int, Field(ge=1, le=MAX_BIGINT)] | None = None
    iid: Annotated[int, Field(ge=1, le=MAX_INT)] | None = None


class BulkOperation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["create", "delete"]
    source: IssueLocator
    target: IssueLocator
    link_type: LinkType | None = Field(
        default=None,
        description="Required to create (as read from `source`); optional to delete (then it must match)",
    )


class BulkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    operations: list[BulkOperation] = Field(min_length=1, max_length=service.MAX_BULK)
    silent: bool = Field(default=False, description="Do not notify subscribers of these changes")


class BulkResult(BaseModel):
    index: int
    status: Literal["created", "deleted"]
    link_id: int
    source_id: int = Field(description="Stored (canonical) source")
    target_id: int = Field(description="Stored (canonical) target")
    link_type: Literal["related_to", "parent_of", "blocks", "duplicates"]


class BulkAnswer(BaseModel):
    created: int
    deleted: int
    results: list[BulkResult]


class BulkItemError(BaseModel):
    index: int
    code: str
    message: str
    details: dict[str, Any]
