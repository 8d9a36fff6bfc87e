"""The seven link types, their inverses and how each is persisted.

One row per unordered pair. A row stores one of four canonical types; the three
"reverse" names are stored as the canonical type with source and target swapped.
"""

from __future__ import annotations

from enum import StrEnum


class LinkType(StrEnum):
    RELATED_TO = "related_to"
    PARENT_OF = "parent_of"
    SUBISSUE_OF = "subissue_of"
    BLOCKS = "blocks"
    BLOCKED_BY = "blocked_by"
    DUPLICATES = "duplicates"
    DUPLICATED_BY = "duplicated_by"

    @property
    def inverse(self) -> LinkType:
        return _INVERSE[self]

    @property
    def is_canonical(self) -> bool:
        """True for the four types that are persisted as written."""
        return self in CANONICAL_TYPES

    def canonical(self) -> tuple[LinkType, bool]:
        """The persisted type and whether source and target must be swapped to store it."""
        if self.is_canonical:
            return self, False
        return self.inverse, True


_INVERSE = {
    LinkType.RELATED_TO: LinkType.RELATED_TO,
    LinkType.PARENT_OF: LinkType.SUBISSUE_OF,
    LinkType.SUBISSUE_OF: LinkType.PARENT_OF,
    LinkType.BLOCKS: LinkType.BLOCKED_BY,
    LinkType.BLOCKED_BY: LinkType.BLOCKS,
    LinkType.DUPLICATES: LinkType.DUPLICATED_BY,
    LinkType.DUPLICATED_BY: LinkType.DUPLICATES,
}

CANONICAL_TYPES = frozenset({LinkType.RELATED_TO, LinkType.PARENT_OF, LinkType.BLOCKS, LinkType.DUPLICATES})

# Types whose directed edges must never form a cycle.
ACYCLIC_TYPES = frozenset({LinkType.PARENT_OF, LinkType.BLOCKS, LinkType.DUPLICATES})


def type_seen_from(persisted: LinkType, *, viewer_is_source: bool) -> LinkType:
    """The link type as read from one of its two issues."""
    return persisted if viewer_is_source else persisted.inverse


# GitLab face names. Types GitLab has no word for keep their native names.
_GITLAB_NAMES = {
    LinkType.RELATED_TO: "relates_to",
    LinkType.BLOCKS: "blocks",
    LinkType.BLOCKED_BY: "is_blocked_by",
}
_FROM_GITLAB = {v: k for k, v in _GITLAB_NAMES.items()}
GITLAB_LINK_TYPES = (
    "relates_to",
    "blocks",
    "is_blocked_by",
    "parent_of",
    "subissue_of",
    "duplicates",
    "duplicated_by",
)


def to_gitlab_name(link_type: LinkType) -> str:
    return _GITLAB_NAMES.get(link_type, link_type.value)


def from_gitlab_name(name: str) -> LinkType | None:
    if name in _FROM_GITLAB:
        return _FROM_GITLAB[name]
    if name in GITLAB_LINK_TYPES:
        return LinkType(name)
    return None


# Words used in system notes: (note on the row's source, note on the row's target).
NOTE_WORDING = {
    LinkType.RELATED_TO: ("marked this issue as related to {ref}", "marked this issue as related to {ref}"),
    LinkType.BLOCKS: ("marked this issue as blocking {ref}", "marked this issue as blocked by {ref}"),
    LinkType.PARENT_OF: ("marked this issue as parent of {ref}", "marked this issue as a sub-issue of {ref}"),
    LinkType.DUPLICATES: (
        "marked this issue as a duplicate of {ref}",
        "marked {ref} as a duplicate of this issue",
    ),
}
UNLINK_WORDING = "removed the relation with {ref}"
