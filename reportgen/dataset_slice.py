"""The rows a one-fund report reads, cut from a whole dataset, hashed and written back out.

A factsheet about fund T is built from T's own rows (its instrument row, prices,
flows, AUM, spreads and holdings) plus the two indexes (their instrument and price
rows), none dated after the as-of date, and from nothing else. Building it from
that slice, rather than from the whole dataset with the rest ignored, makes "the
factsheet depends on these rows" true by construction, which is what lets the
build cache skip it when other funds' rows change, and lets its output folder keep
only those rows under ``inputs/``.

Two digests per file, for two jobs:

- :attr:`FundSlice.rows` holds, per file, the row count and a sha256 of the typed
  column values (dates as day numbers, floats as IEEE bytes, text as UTF-8). It
  takes microseconds, so a batch can key thousands of items before building any.
- :func:`slice_files` writes the slice as canonical CSV (the contract's columns,
  in order; floats printed so they read back to the same bits), which the output
  folder keeps; the manifest records those files' sha256 like any other input.
  The CSV is a function of the typed values, so the first digest decides the second.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from reportgen.dataset import COLUMNS, CSV_FILES, Dataset

#: The files a slice keeps rows of, and the column naming the instrument in each.
_KEY_COLUMN = {stem: ("fund" if stem == "holdings" else "ticker") for stem in CSV_FILES}


@dataclass(frozen=True)
class FundSlice:
    """One fund's rows and the indexes': a :class:`Dataset` a one-fund report is built from."""

    subject: str
    dataset: Dataset
    #: file stem -> {"rows": count, "sha256": digest of the typed values}
    rows: dict[str, dict[str, Any]]


class SliceIndex:
    """Where each instrument's rows lie in a dataset's frames, found once, used per fund.

    Frames are sorted by instrument (see :class:`~reportgen.dataset.Dataset`), so a
    fund's rows are one contiguous run: slicing is two lookups per file, however
    large the dataset.
    """

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self._runs: dict[str, dict[str, tuple[int, int]]] = {}
        for stem in CSV_FILES:
            keys = getattr(dataset, stem)[_KEY_COLUMN[stem]].to_numpy()
            self._runs[stem] = _runs(keys)
        ins = dataset.instruments
        self.indexes: list[str] = sorted(ins.loc[ins["kind"] == "index", "ticker"])

    def slice(self, subject: str, as_of: date | None = None) -> FundSlice:
        """The rows a report about ``subject`` as of ``as_of`` reads (``subject`` must be an
        instrument): none dated after ``as_of``, which no figure may use, so data appended
        later does not change the slice."""
        wanted = sorted({subject, *self.indexes})
        frames: dict[str, pd.DataFrame] = {}
        for stem in CSV_FILES:
            frame = getattr(self.dataset, stem)
            runs = self._runs[stem]
            parts = [runs[t] for t in wanted if t in runs]
            positions = (
                np.concatenate([np.arange(a, b) for a, b in parts])
                if parts
                else np.array([], dtype=np.intp)
            )
            frames[stem] = frame.iloc[positions].reset_index(drop=True)
        sliced = replace(
            self.dataset,
            instruments=frames["instruments"],
            prices=frames["prices"],
            flows=frames["flows"],
            aum=frames["aum"],
            spreads=frames["spreads"],
            holdings=frames["holdings"],
        )
        if as_of is not None:
            sliced = sliced.up_to(as_of)
            frames = {stem: getattr(sliced, stem) for stem in CSV_FILES}
        rows = {
            stem: {"rows": len(frames[stem]), "sha256": rows_digest(frames[stem])}
            for stem in CSV_FILES
        }
        return FundSlice(subject, sliced, rows)


def _runs(keys: np.ndarray) -> dict[str, tuple[int, int]]:
    """key -> (first, past-last) position of its run in a sorted column."""
    if len(keys) == 0:
        return {}
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    ends = np.append(starts[1:], len(keys))
    return {str(keys[a]): (int(a), int(b)) for a, b in zip(starts, ends, strict=True)}


def rows_digest(frame: pd.DataFrame) -> str:
    """sha256 of a frame's columns: names, then each column's values in a fixed encoding."""
    h = hashlib.sha256()
    for name in frame.columns:
        column = frame[name]
        h.update(f"{name}\0{column.dtype}\0".encode())
        if pd.api.types.is_datetime64_any_dtype(column.dtype):
            h.update(column.to_numpy().astype("datetime64[ns]").view(np.int64).tobytes())
        elif pd.api.types.is_float_dtype(column.dtype):
            h.update(column.to_numpy(dtype=np.float64).tobytes())
        else:
            for value in column.tolist():  # length-prefixed: no two row sets read alike
                raw = b"-" if value is None else str(value).encode("utf-8", "surrogatepass")
                h.update(b"-\0" if value is None else b"%d:%s" % (len(raw), raw))
        h.update(b"\x1e")
    return h.hexdigest()


def slice_files(piece: FundSlice) -> dict[str, bytes]:
    """The slice as the CSV files of a dataset folder (``STEM.csv`` -> bytes)."""
    return {f"{stem}.csv": _csv_bytes(stem, getattr(piece.dataset, stem)) for stem in CSV_FILES}


def _csv_bytes(stem: str, frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = COLUMNS[stem]
    writer.writerow(columns)
    cells = [_cells(frame[name]) for name in columns]
    writer.writerows(zip(*cells, strict=True))
    return buffer.getvalue().encode("utf-8")


def _cells(column: pd.Series) -> list[str]:
    """Each value as the strict loader reads it back to the same typed value."""
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return ["" if pd.isna(v) else v.date().isoformat() for v in column]
    if column.name == "volume":  # digits only; NaN (an index) is an empty cell
        return ["" if math.isnan(v) else str(int(v)) for v in column.tolist()]
    if pd.api.types.is_float_dtype(column.dtype):
        return ["" if math.isnan(v) else repr(v) for v in column.tolist()]
    return ["" if v is None else str(v) for v in column.tolist()]
