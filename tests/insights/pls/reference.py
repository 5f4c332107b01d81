"""The independent implementations and data the PLS tests compare against.

* R's plspm: its published output for the standard data sets, committed under
  data/r_plspm/ (see data/README.md for where each number comes from).
* The PyPI package ``plspm`` (Google's GPL-3 Python port of R's plspm), run here on
  the same data. Two things about version 0.5.7 are worked around, not changed:
  - it indexes with ``path.loc[dv,]``, which pandas 3 reads as a one-element tuple;
    ``_pandas3_loc`` makes that mean ``path.loc[dv]`` again while plspm runs;
  - its ``scaled=True`` divides every column by one pooled standard deviation instead
    of each column's own, unlike R. R's scaling is "standardise each column with the
    population sd, then run", so we hand it standardised data with ``scaled=False``.
"""

from __future__ import annotations

import contextlib
import csv
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from linli.insights.pls import PathModel, Table

DATA = Path(__file__).parent / "data"
R_PLSPM = DATA / "r_plspm"

SATISFACTION_BLOCKS = {
    "IMAG": [f"imag{i}" for i in range(1, 6)],
    "EXPE": [f"expe{i}" for i in range(1, 6)],
    "QUAL": [f"qual{i}" for i in range(1, 6)],
    "VAL": [f"val{i}" for i in range(1, 5)],
    "SAT": [f"sat{i}" for i in range(1, 5)],
    "LOY": [f"loy{i}" for i in range(1, 5)],
}
SATISFACTION_PATHS = [
    ("IMAG", "EXPE"), ("IMAG", "SAT"), ("IMAG", "LOY"), ("EXPE", "QUAL"), ("EXPE", "VAL"),
    ("EXPE", "SAT"), ("QUAL", "VAL"), ("QUAL", "SAT"), ("VAL", "SAT"), ("SAT", "LOY"),
]
RUSSA_BLOCKS = {"AGRI": ["gini", "farm", "rent"], "IND": ["gnpr", "labo"], "POLINS": ["ecks", "death", "demo", "inst"]}
RUSSA_PATHS = [("AGRI", "POLINS"), ("IND", "POLINS")]


def read_table(name: str) -> Table:
    """A committed CSV (first column row names), numeric columns only."""
    with (DATA / name).open(newline="") as stream:
        rows = list(csv.reader(stream))
    header = rows[0][1:]
    numeric = []
    for position in range(len(header)):
        try:
            numeric.append([float(row[position + 1]) for row in rows[1:]])
        except ValueError:
            numeric.append(None)
    columns = tuple(name for name, col in zip(header, numeric, strict=True) if col is not None)
    values = np.array([col for col in numeric if col is not None]).T
    return Table(columns=columns, values=values)


def read_r(name: str) -> dict[str, dict[str, str]]:
    """An R output file as {row name: {column: text}}."""
    with (R_PLSPM / name).open(newline="") as stream:
        reader = csv.reader(stream)
        header = next(reader)
        return {row[0]: dict(zip(header[1:], row[1:], strict=True)) for row in reader}


@contextlib.contextmanager
def _pandas3_loc() -> Iterator[None]:
    import pandas.core.indexing as indexing

    original = indexing._LocIndexer.__getitem__

    def getitem(self: Any, key: Any) -> Any:
        if isinstance(key, tuple) and len(key) == 1:
            key = key[0]
        return original(self, key)

    indexing._LocIndexer.__getitem__ = getitem  # type: ignore[method-assign]
    try:
        yield
    finally:
        indexing._LocIndexer.__getitem__ = original  # type: ignore[method-assign]


def run_plspm(model: PathModel, table: Table) -> Any:
    """Fit the model with the independent ``plspm`` package; returns its Plspm object."""
    import pandas as pd

    with warnings.catch_warnings():  # plspm sets a pandas option that pandas 3 deprecates
        warnings.simplefilter("ignore")
        import plspm.config as config
        from plspm.mode import Mode
        from plspm.plspm import Plspm
        from plspm.scheme import Scheme

    frame = pd.DataFrame(table.values, columns=list(table.columns))[list(model.items)]
    if model.scaled:
        frame = (frame - frame.mean()) / frame.std(ddof=0)
    structure = config.Structure()
    for source, target in model.paths:
        structure.add_path([source], [target])
    cfg = config.Config(structure.path(), scaled=False)
    for block in model.blocks:
        cfg.add_lv(block.name, Mode.A if block.mode == "A" else Mode.B, *[config.MV(item) for item in block.items])
    scheme = {"centroid": Scheme.CENTROID, "factorial": Scheme.FACTORIAL, "path": Scheme.PATH}[model.scheme]
    with _pandas3_loc():
        return Plspm(frame, cfg, scheme, max(model.max_iter, 100), model.tol)
