"""Names fixed by the contract (``CONTRACT.md`` section 1), importable without pandas.

The cache's quick path hashes a dataset's files before deciding whether to read them,
so it needs their names without loading the loader.
"""

from __future__ import annotations

#: The contract's tabular files, by stem, in the order problems are reported.
CSV_FILES: tuple[str, ...] = ("instruments", "prices", "flows", "aum", "spreads", "holdings")
#: Who published each file, and the dataset's label.
SOURCES_FILE = "sources.yaml"
