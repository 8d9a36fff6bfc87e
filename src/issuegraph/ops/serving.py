"""What `issuegraph serve` sets up around uvicorn."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # not imported from ops.metrics: see its doc


@contextmanager
def metrics_directory() -> Iterator[str]:
    """PROMETHEUS_MULTIPROC_DIR for the worker processes, empty at start.

    An operator's own directory (the variable already set) is emptied of the last run's files;
    otherwise a private temporary directory is made and removed at exit."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        for stale in Path(given).glob("*.db"):
            stale.unlink()
        yield given
        return
    directory = tempfile.mkdtemp(prefix="issuegraph-metrics-")
    os.environ[MULTIPROC_ENV] = directory
    try:
        yield directory
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(directory, ignore_errors=True)
