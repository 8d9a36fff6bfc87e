"""Read-only rows for the hot read paths.

Loading an ORM object costs about ten times what reading a row does, and the list of an
issue's links reads a hundred of them. A record is a named tuple of one table's columns,
under the same names as the ORM attributes, so the serializers and the access rules read
records and ORM objects alike. Records are never written back: they are not in a session.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Row, Table

from issuegraph.db.models import Issue, IssueLink, Label, PersonalAccessToken, User


class RecordType:
    """The record class of one table, and how to cut a record out of a wider row."""

    def __init__(self, name: str, table: Any) -> None:
        self.table = cast(Table, table)
        self.columns = list(self.table.c)
        self.make = cast(Any, namedtuple(name, [c.key for c in self.columns]))._make

    def cut(self, row: Row[Any] | Sequence[Any], start: int = 0) -> Any:
        """The record made of `row[start : start + len(columns)]`."""
        return self.make(row[start : start + len(self.columns)])


ISSUE = RecordType("IssueRecord", Issue.__table__)
LINK = RecordType("LinkRecord", IssueLink.__table__)
USER = RecordType("UserRecord", User.__table__)
LABEL = RecordType("LabelRecord", Label.__table__)
TOKEN = RecordType("TokenRecord", PersonalAccessToken.__table__)

# Brief records: the fields an issue's representations show of its users and labels.
UserBrief = namedtuple("UserBrief", "id username name state")
LabelBrief = namedtuple("LabelBrief", "id name color")
