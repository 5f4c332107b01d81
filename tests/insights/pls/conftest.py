from __future__ import annotations

import pytest

from linli.insights.pls import Mode, PathModel, Table, model_from_mapping
from tests.insights.pls.reference import (
    RUSSA_BLOCKS,
    RUSSA_PATHS,
    SATISFACTION_BLOCKS,
    SATISFACTION_PATHS,
    read_table,
)


@pytest.fixture(scope="session")
def satisfaction() -> Table:
    return read_table("satisfaction.csv")


@pytest.fixture(scope="session")
def russa() -> Table:
    return read_table("russa.csv")


def satisfaction_model(mode: Mode = "A", **settings: object) -> PathModel:
    return model_from_mapping({name: (items, mode) for name, items in SATISFACTION_BLOCKS.items()},
                              SATISFACTION_PATHS, **settings)


def russa_model(mode: Mode = "A", **settings: object) -> PathModel:
    return model_from_mapping({name: (items, mode) for name, items in RUSSA_BLOCKS.items()}, RUSSA_PATHS, **settings)
