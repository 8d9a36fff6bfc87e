"""Limits on what one request may ask for, the same on every face (README, configuration)."""

from __future__ import annotations

MAX_LIST_ITEMS = 500  # items of one list parameter (labels, iids, assignee ids, label slugs...)
