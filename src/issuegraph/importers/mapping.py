"""The table of imported objects: source (instance, kind, id) -> local id and fingerprint."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuegraph.db.models import ImportedObject, utcnow


@dataclass(frozen=True)
class Mapping:
    """One source instance's objects as this database knows them."""

    instance_url: str
    source_kind: str

    def get(self, session: Session, kind: str, source_id: str) -> ImportedObject | None:
        return session.scalar(
            select(ImportedObject).where(
                ImportedObject.instance_url == self.instance_url,
                ImportedObject.source_kind == self.source_kind,
                ImportedObject.object_kind == kind,
                ImportedObject.source_id == source_id,
            )
        )

    def many(self, session: Session, kind: str, source_ids: Iterable[str]) -> dict[str, ImportedObject]:
        wanted = list(set(source_ids))
        found: dict[str, ImportedObject] = {}
        for start in range(0, len(wanted), 500):
            rows = session.scalars(
                select(ImportedObject).where(
                    ImportedObject.instance_url == self.instance_url,
                    ImportedObject.source_kind == self.source_kind,
                    ImportedObject.object_kind == kind,
                    ImportedObject.source_id.in_(wanted[start : start + 500]),
                )
            )
            found.update((row.source_id, row) for row in rows)
        return found

    def remember(
        self,
        session: Session,
        kind: str,
        source_id: str,
        local_id: int,
        fingerprint: str = "",
        row: ImportedObject | None = None,
        *,
        new: bool = False,
    ) -> ImportedObject:
        """Record (or update) what `source_id` became here. `row`: its row, read by the caller in
        this session; `new`: the caller knows there is none. Written with the transaction."""
        if row is None and not new:
            row = self.get(session, kind, source_id)
        if row is None:
            row = ImportedObject(
                instance_url=self.instance_url,
                source_kind=self.source_kind,
                object_kind=kind,
                source_id=source_id,
                local_id=local_id,
                fingerprint=fingerprint,
            )
            session.add(row)
        else:
            row.local_id = local_id
            row.fingerprint = fingerprint
            row.updated_at = utcnow()
        return row
