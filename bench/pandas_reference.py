"""The engine's features written in vectorised pandas: the reference and the rival.

This is what a strong analyst would write without peakend: one sort, then
``groupby`` aggregates (``first``/``last``/``min``/``max``/``idxmax``/``sum``),
``shift`` for the next event, and no Python loops over rows or journeys. It
follows the definitions in :mod:`peakend.engine.journeys`,
:mod:`peakend.engine.touchpoints` and :mod:`peakend.engine.flows` exactly, so
``tests/test_engine_reference.py`` compares the engine with it and
``bench/engine.py`` times the engine against it.

Every function takes and returns pandas data frames; column names and meanings
are those of the engine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

USED_COLUMNS = [
    "journey_id",
    "customer_id",
    "ts",
    "seq",
    "touchpoint",
    "initiated_by",
    "score",
    "valence",
]

FEATURE_COLUMNS = [
    "journey_id",
    "customer_id",
    "n_events",
    "n_scored",
    "first_ts",
    "last_ts",
    "duration_s",
    "first_touchpoint",
    "last_touchpoint",
    "mean_valence",
    "best_valence",
    "best_touchpoint",
    "trough_valence",
    "trough_touchpoint",
    "peak_valence",
    "peak_touchpoint",
    "first_valence",
    "end_valence",
    "end_touchpoint",
    "trend",
    "n_negative",
    "n_customer_contacts",
]


def read_events(path: str) -> pd.DataFrame:
    """The columns the features use, from a Parquet file in the canonical schema."""
    return pd.read_parquet(path, columns=USED_COLUMNS)


def ordered(events: pd.DataFrame) -> pd.DataFrame:
    """Events sorted by journey, then ``(ts, seq)`` with missing times last.

    Adds ``_j`` (journey number, in sorted order), ``position`` (0-based place in
    the journey), ``_first``/``_last`` (first/last row of its journey), and
    ``next_touchpoint``/``next_ts`` (missing on the last row of a journey). The
    index is the sorted row number.
    """
    codes, _ = pd.factorize(events["journey_id"])
    ts = events["ts"]
    ts_key = ts.to_numpy("datetime64[us]").view("int64").copy()
    ts_key[ts.isna().to_numpy()] = np.iinfo(np.int64).max
    order = np.lexsort((events["seq"].to_numpy(), ts_key, codes))
    e = events.iloc[order].reset_index(drop=True)
    j = codes[order]
    first = np.ones(len(e), dtype=bool)
    first[1:] = j[1:] != j[:-1]
    last = np.ones(len(e), dtype=bool)
    last[:-1] = first[1:]
    starts = np.flatnonzero(first)
    group = np.cumsum(first) - 1
    e["_j"] = group
    e["position"] = np.arange(len(e)) - starts[group]
    e["_first"] = first
    e["_last"] = last
    e["next_touchpoint"] = e["touchpoint"].shift(-1).where(~last)
    e["next_ts"] = e["ts"].shift(-1).where(~last)
    return e


def journey_features(events: pd.DataFrame, e: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per journey, as :func:`peakend.engine.journey_features` (sorted by journey)."""
    e = ordered(events) if e is None else e
    g = e.groupby("_j", sort=True)
    heads = e.loc[e["_first"], ["_j", "journey_id", "customer_id", "touchpoint"]].set_index("_j")
    tails = e.loc[e["_last"], ["_j", "touchpoint"]].set_index("_j")
    out = pd.DataFrame(
        {
            "journey_id": heads["journey_id"],
            "customer_id": heads["customer_id"],
            "n_events": g.size(),
            "n_scored": g["valence"].count(),
            "first_ts": g["ts"].min(),
            "last_ts": g["ts"].max(),
            "first_touchpoint": heads["touchpoint"],
            "last_touchpoint": tails["touchpoint"],
        }
    )
    out["duration_s"] = (out["last_ts"] - out["first_ts"]).dt.total_seconds()

    s = e[e["valence"].notna()]
    gs = s.groupby("_j", sort=True)
    v = gs["valence"]
    scored = pd.DataFrame(
        {
            "mean_valence": v.mean(),
            "best_valence": v.max(),
            "best_touchpoint": e["touchpoint"].to_numpy()[v.idxmax().to_numpy()],
            "trough_valence": v.min(),
            "trough_touchpoint": e["touchpoint"].to_numpy()[v.idxmin().to_numpy()],
            "first_valence": v.first(),
            "end_valence": v.last(),
            "end_touchpoint": gs["touchpoint"].last(),
        }
    )
    # trend: population covariance of (position, valence) over the variance of position
    x = s["position"].astype("float64")
    dx = x - x.groupby(s["_j"]).transform("mean")
    dy = s["valence"] - v.transform("mean")
    sxx = (dx * dx).groupby(s["_j"]).sum()
    sxy = (dx * dy).groupby(s["_j"]).sum()
    scored["trend"] = (sxy / sxx).where(sxx > 0)
    out = out.join(scored)
    negative_wins = -out["trough_valence"] >= out["best_valence"]
    out["peak_valence"] = out["trough_valence"].where(negative_wins, out["best_valence"])
    out["peak_touchpoint"] = out["trough_touchpoint"].where(negative_wins, out["best_touchpoint"])
    out["n_negative"] = (e["valence"] < 0).groupby(e["_j"]).sum()
    out["n_customer_contacts"] = (e["initiated_by"] == "customer").groupby(e["_j"]).sum()
    return out[FEATURE_COLUMNS].reset_index(drop=True)


def touchpoint_stats(
    events: pd.DataFrame,
    outcomes: pd.DataFrame | None = None,
    *,
    outcome_col: str | None = None,
    low_max: float = -0.5,
    high_min: float = 0.5,
) -> pd.DataFrame:
    """One row per touchpoint, as :func:`peakend.engine.touchpoint_stats` (sorted by touchpoint)."""
    e = events
    with_outcome = outcomes is not None and outcome_col is not None
    if with_outcome:
        o = outcomes[["journey_id", outcome_col]].rename(columns={outcome_col: "_outcome"})
        e = e.merge(o, on="journey_id", how="left")
    v = e["valence"]
    frame = e.assign(
        _low=(v <= low_max),
        _high=(v >= high_min),
        _cust=(e["initiated_by"] == "customer"),
    )
    g = frame.groupby("touchpoint", sort=True)
    n_scored = g["valence"].count()
    out = pd.DataFrame(
        {
            "volume": g.size(),
            "journeys": g["journey_id"].nunique(),
            "n_scored": n_scored,
            "mean_score": g["score"].mean(),
            "mean_valence": g["valence"].mean(),
            "sd_valence": g["valence"].std(ddof=1),
            "share_low": g["_low"].sum() / n_scored.where(n_scored > 0),
            "share_high": g["_high"].sum() / n_scored.where(n_scored > 0),
            "n_customer_initiated": g["_cust"].sum(),
        }
    )
    if with_outcome:
        y = frame["_outcome"]
        rated = y.notna()
        mid = (v > low_max) & (v < high_min)
        bands = (("low", frame["_low"]), ("mid", mid), ("high", frame["_high"]))
        for band, mask in bands:
            out[f"outcome_{band}"] = y.where(mask).groupby(frame["touchpoint"]).mean()
        for band, mask in bands:
            out[f"n_{band}"] = (mask & rated).groupby(frame["touchpoint"]).sum()
    return out.reset_index()


def directly_follows(events: pd.DataFrame, e: pd.DataFrame | None = None) -> pd.DataFrame:
    """Pairs (touchpoint, next touchpoint), as :func:`peakend.engine.directly_follows`."""
    e = ordered(events) if e is None else e
    pairs = e[~e["_last"]]
    gap = (pairs["next_ts"] - pairs["ts"]).dt.total_seconds()
    g = pairs.assign(_gap=gap).groupby(["touchpoint", "next_touchpoint"], sort=True)
    out = pd.DataFrame(
        {"count": g.size(), "journeys": g["journey_id"].nunique(), "median_s": g["_gap"].median()}
    )
    out.index.names = ["source", "target"]
    out = out.reset_index()
    return out.sort_values(
        ["count", "source", "target"], ascending=[False, True, True]
    ).reset_index(drop=True)


def all_results(path: str) -> dict[str, pd.DataFrame]:
    """Read a log and compute all three results, sharing the one sort."""
    events = read_events(path)
    e = ordered(events)
    return {
        "features": journey_features(events, e),
        "touchpoints": touchpoint_stats(events),
        "dfg": directly_follows(events, e),
    }
