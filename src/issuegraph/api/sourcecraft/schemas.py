"""Request bodies of the SourceCraft face, as in swagger-issues.json.

Parsed strictly (a number where a string is due is a 400), unknown fields ignored, `null`
accepted wherever a field is optional. Rules about values (lengths, known statuses...) are
the services' business, not these models'.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from issuegraph.domain.errors import Invalid
from issuegraph.domain.limits import MAX_LIST_ITEMS
from issuegraph.domain.links import LinkType


def _without_nul(value: str) -> str:
    # No database stores U+0000 in text (PostgreSQL refuses it), so no field may carry one.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_without_nul)]
TextList = Annotated[list[Text], Field(max_length=MAX_LIST_ITEMS)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")

    def check_shape(self) -> None:
        """Shape rules across fields (required, mutually exclusive); values are the services' business."""


Body = TypeVar("Body", bound=_Body)


def required(value: Any, field: str) -> None:
    if not value:
        raise Invalid(f"{field}_missing", f"{field} is required", details={"field": field})


def exclusive(first: Any, second: Any, names: tuple[str, str]) -> None:
    if first and second:
        raise Invalid(
            "mutually_exclusive",
            f"{names[0]} and {names[1]} are mutually exclusive",
            details={"field": names[1]},
        )


def unsupported(field: str, why: str) -> Invalid:
    return Invalid(f"{field}_unsupported", f"{field}: {why}", details={"field": field})


def slug_is_name(slug: str | None, name: str | None) -> None:
    """Labels and milestones have no slug of their own in issuegraph: their slug is their name."""
    if slug and slug != name:
        raise unsupported("slug", "the slug of a label or milestone is its name")


class CreateLinkBody(_Body):
    target_issue_id: Text | None = None
    target_issue_slug: Text | None = None
    link_type: LinkType | None = None

    def check_shape(self) -> None:
        self.target()

    def target(self) -> tuple[str, str]:
        """("id" | "slug", value): exactly one of the two target fields (spec §7.1)."""
        if self.target_issue_id and self.target_issue_slug:
            raise Invalid(
                "target_ambiguous",
                "target_issue_id and target_issue_slug are mutually exclusive",
                details={"field": "target_issue_slug"},
            )
        if self.target_issue_id:
            return "id", self.target_issue_id
        if self.target_issue_slug:
            return "slug", self.target_issue_slug
        raise Invalid(
            "target_missing",
            "one of target_issue_id or target_issue_slug is required",
            details={"field": "target_issue_id"},
        )


Priority = Literal["trivial", "minor", "normal", "critical", "blocker"]
IssueVisibility = Literal["public", "private"]


class CreateIssueBody(_Body):
    title: Text | None = None
    description: Text | None = None
    status_slug: Text | None = None
    priority: Priority | None = None
    assignee_id: Text | None = None
    milestone_id: Text | None = None
    milestone_slug: Text | None = None
    visibility: IssueVisibility | None = None
    label_ids: TextList | None = None
    label_slugs: TextList | None = None
    linked_pr_ids: TextList | None = None
    linked_pr_slugs: TextList | None = None
    deadline: datetime | None = None

    def check_shape(self) -> None:
        required(self.title, "title")
        exclusive(self.label_ids, self.label_slugs, ("label_ids", "label_slugs"))
        exclusive(self.linked_pr_ids, self.linked_pr_slugs, ("linked_pr_ids", "linked_pr_slugs"))
        exclusive(self.milestone_id, self.milestone_slug, ("milestone_id", "milestone_slug"))


class UpdateIssueBody(_Body):
    title: Text | None = None
    description: Text | None = None
    status_slug: Text | None = None
    priority: Priority | None = None
    assignee_id: Text | None = None  # "" clears
    milestone_id: Text | None = None  # "" clears
    visibility: IssueVisibility | None = None
    deadline: datetime | Literal[""] | None = None  # "" clears (issuegraph extension)


RepositoryVisibility = Literal["public", "internal", "private"]
TemplateType = Literal["not_a_template", "organizational", "system"]


class TemplatingOptions(_Body):
    template_id: Text | None = None


class CreateRepositoryBody(_Body):
    name: Text | None = None
    slug: Text | None = None
    description: Text | None = None
    visibility: RepositoryVisibility | None = None
    init_settings: dict[str, Any] | None = None  # nothing to initialise: issuegraph hosts no git data
    templating_options: TemplatingOptions | None = None

    def check_shape(self) -> None:
        required(self.name, "name")
        required(self.slug, "slug")
        if self.templating_options and self.templating_options.template_id:
            raise unsupported("templating_options", "issuegraph has no repository templates")


class RepositoryLink(_Body):
    link: Text | None = None
    type: Literal["social_network", "homepage", "email", "telegram"] | None = None


class UpdateRepositoryBody(_Body):
    description: Text | None = None
    default_branch: Text | None = None
    visibility: RepositoryVisibility | None = None
    links: Annotated[list[RepositoryLink], Field(max_length=MAX_LIST_ITEMS)] | None = None
    template_type: TemplateType | None = None
    # issuegraph extensions (SourceCraft's repository has no issue settings): docs/graph.md
    close_policy: Text | None = None
    close_duplicates: bool | None = None

    def check_shape(self) -> None:
        if self.default_branch:
            raise unsupported("default_branch", "issuegraph repositories hold no branches")
        if self.links:
            raise unsupported("links", "issuegraph repositories have no profile links")
        if self.template_type not in (None, "not_a_template"):
            raise unsupported("template_type", "issuegraph has no repository templates")


class CreateIssueCommentBody(_Body):
    parent_id: Text | None = None
    body: Text | None = None

    def check_shape(self) -> None:
        required(self.body, "body")
        if self.parent_id:
            raise unsupported("parent_id", "issuegraph comments are not threaded")


class CreateLabelBody(_Body):
    name: Text | None = None
    slug: Text | None = None
    color: Text | None = None

    def check_shape(self) -> None:
        required(self.name, "name")
        slug_is_name(self.slug, self.name)


class CreateMilestoneBody(_Body):
    name: Text | None = None
    slug: Text | None = None
    description: Text | None = None
    start_date: datetime | None = None
    deadline: datetime | None = None

    def check_shape(self) -> None:
        required(self.name, "name")
        slug_is_name(self.slug, self.name)


class ModifyLabelCollectionRequest(_Body):
    ids: TextList | None = None
    slugs: TextList | None = None
