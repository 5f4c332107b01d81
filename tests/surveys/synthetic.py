"""Answers drawn from the structure of SATISFACTION-MODEL.md with chosen true path
coefficients and loadings, plus noise (numpy, seeded).

Latent variables are standardised: the nine drivers are correlated normals (0.3 with
each other), SAT = Σ βᵢ·driverᵢ + ζ, TRUST = γ·SAT + ε, PART = a·SAT + b·TRUST + ε, each
with the noise variance that gives it variance 1, so the β, γ, a, b are the standardised
path coefficients PLS estimates. Each item is λ·LV + √(1 − λ²)·noise, put on the 1–10
scale (5.5 + 1.6·x, rounded, clipped to 1–10).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DRIVERS = ("COMM", "RESP", "DEMO", "SERV", "ENV", "ACT", "CARE", "STAFF", "OPEN")
BLOCKS = (*DRIVERS, "SAT", "TRUST", "PART")
TRUE_PATHS: dict[tuple[str, str], float] = {
    ("COMM", "SAT"): 0.10, ("RESP", "SAT"): 0.30, ("DEMO", "SAT"): 0.05, ("SERV", "SAT"): 0.20,
    ("ENV", "SAT"): 0.25, ("ACT", "SAT"): 0.05, ("CARE", "SAT"): 0.10, ("STAFF", "SAT"): 0.15,
    ("OPEN", "SAT"): 0.00, ("SAT", "TRUST"): 0.60, ("SAT", "PART"): 0.35, ("TRUST", "PART"): 0.35,
}
LOADING = 0.95
DRIVER_CORRELATION = 0.3


@dataclass(frozen=True)
class Sample:
    items: tuple[str, ...]  # COMM1 … PART3
    values: np.ndarray  # (n, 36) answers on 1–10


def draw_answers(n: int, seed: int) -> Sample:
    rng = np.random.default_rng(seed)
    k = len(DRIVERS)
    corr = np.full((k, k), DRIVER_CORRELATION)
    np.fill_diagonal(corr, 1.0)
    drivers = rng.multivariate_normal(np.zeros(k), corr, size=n)
    beta = np.array([TRUE_PATHS[(d, "SAT")] for d in DRIVERS])
    explained = float(beta @ corr @ beta)
    sat = drivers @ beta + rng.normal(0, np.sqrt(1 - explained), n)
    gamma = TRUE_PATHS[("SAT", "TRUST")]
    trust = gamma * sat + rng.normal(0, np.sqrt(1 - gamma**2), n)
    a, b = TRUE_PATHS[("SAT", "PART")], TRUE_PATHS[("TRUST", "PART")]
    part = a * sat + b * trust + rng.normal(0, np.sqrt(1 - (a * a + b * b + 2 * a * b * gamma)), n)
    latent = dict(zip(DRIVERS, drivers.T, strict=True)) | {"SAT": sat, "TRUST": trust, "PART": part}
    items: list[str] = []
    columns = []
    for block in BLOCKS:
        for i in (1, 2, 3):
            x = LOADING * latent[block] + np.sqrt(1 - LOADING**2) * rng.normal(size=n)
            columns.append(np.clip(np.rint(5.5 + 1.6 * x), 1, 10))
            items.append(f"{block}{i}")
    return Sample(items=tuple(items), values=np.column_stack(columns))
