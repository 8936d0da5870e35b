"""Household roster import (花名册导入): the contract's "Roster file", all or nothing.

The modules, by concern:
- `columns`: the header spellings and the words a cell may hold;
- `cells`, `validation`, `consistency`: validating the rows, in plain Python (no ORM);
- `existing`: what the database already holds for the file's keys, loaded set-based;
- `plan`: what is created, updated or left unchanged;
- `new_rows`, `writers`: writing it (COPY on PostgreSQL, bulk_create elsewhere; a helper thread);
- `importer`: `roster_import`, which runs them in one transaction.
"""
from core.tabular import RowError
from enrollment.roster.columns import CATEGORIES, MANGLED_ID, RELATIONS, SEXES
from enrollment.roster.importer import roster_import
from enrollment.roster.outcome import RosterInvalid

__all__ = ["CATEGORIES", "MANGLED_ID", "RELATIONS", "SEXES", "RosterInvalid", "RowError", "roster_import"]
