"""How fast can DuckDB compute the engine's three results at all? A hand-written plan.

Run from the repository root after ``bench/engine.py`` has written its logs::

    python bench/engine_sql_plan.py [--events bench/data/peakend-10M/events.parquet]

The engine is written as Ibis expressions so that it also runs on PySpark
(``peakend.engine``). This script answers a different question: the fastest plan
for the same three results (journey features, touchpoint statistics without
outcome, directly-follows graph) that we could write for DuckDB alone, in SQL,
using what Ibis cannot express portably:

* an integer journey key without a join: the Parquet row number of the journey's
  first event (``first_value(file_row_number)`` over the journey window);
* the best and trough touchpoint from one ``hugeint`` key per event (valence
  scaled by 2**60, then position, then code) instead of a second window for the
  journey's highest and lowest valence; valences closer than 2**-60 count as equal;
* the journeys per touchpoint from a per-journey bit mask of touchpoint codes
  (``bit_or``; up to 62 touchpoints) instead of ``count(DISTINCT journey_id)``;
* touchpoint sums over the materialised order as exact decimals, so that they do
  not depend on the order's row order.

It prints each step's wall time, the total, the scan floor of ``bench/engine.py``
(``any_value`` of every column used) and their ratio. Nothing is compared with the
engine's results here: this plan only bounds what a DuckDB plan can reach.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb

WINDOW = "(PARTITION BY journey_id ORDER BY ts IS NULL, ts, seq)"
COLUMNS = "journey_id, customer_id, ts, seq, touchpoint, initiated_by, score, valence"
KEY = "((valence * 1152921504606846976.0)::HUGEINT + 2305843009213693952::HUGEINT)"
SPAN = 2**31

STEPS = {
    "codes": """CREATE TEMP TABLE codes AS
        SELECT touchpoint, (row_number() OVER (ORDER BY touchpoint))::INT AS tp
        FROM (SELECT DISTINCT touchpoint FROM read_parquet('{path}')
              WHERE touchpoint IS NOT NULL)""",
    "order": f"""CREATE TEMP TABLE o AS
        SELECT journey_id, customer_id, ts, valence, score, by_customer, tp,
            row_number() OVER {WINDOW} - 1 AS position,
            lead(tp) OVER {WINDOW} AS nxt,
            (epoch_us(lead(ts) OVER {WINDOW}) - epoch_us(ts)) / 1e6 AS gap,
            first_value(file_row_number) OVER {WINDOW} AS jk
        FROM (SELECT journey_id, customer_id, ts, seq, score, valence,
                coalesce(initiated_by = 'customer', false) AS by_customer,
                coalesce(c.tp, 0) AS tp, file_row_number
              FROM read_parquet('{{path}}', file_row_number = true)
              LEFT JOIN codes c USING (touchpoint))""",
    "features": f"""CREATE TEMP TABLE f AS
        SELECT jk, any_value(journey_id) AS journey_id,
            max(customer_id) FILTER (position = 0) AS customer_id,
            count(*) AS n_events, count(valence) AS n_scored, min(ts) AS first_ts,
            max(ts) AS last_ts, max(tp) FILTER (position = 0) AS first_tp,
            max(position::BIGINT * {SPAN} + tp) % {SPAN} AS last_tp,
            avg(valence) AS mean_valence, max(valence) AS best, min(valence) AS trough,
            arg_min(valence, position) FILTER (valence IS NOT NULL) AS first_valence,
            arg_max(valence, position) FILTER (valence IS NOT NULL) AS end_valence,
            max(position::BIGINT * {SPAN} + tp) FILTER (valence IS NOT NULL) % {SPAN} AS end_tp,
            covar_pop(position::DOUBLE, valence) FILTER (valence IS NOT NULL) AS cov,
            var_pop(position::DOUBLE) FILTER (valence IS NOT NULL) AS var,
            count(*) FILTER (coalesce(valence < 0, false)) AS n_negative,
            count(*) FILTER (by_customer) AS n_customer_contacts,
            (max({KEY} * 9223372036854775808::HUGEINT
                 + (2147483647 - position)::HUGEINT * {SPAN} + tp) % {SPAN})::INT AS best_tp,
            (min({KEY} * 9223372036854775808::HUGEINT
                 + position::HUGEINT * {SPAN} + tp) % {SPAN})::INT AS trough_tp,
            bit_or(1::BIGINT << tp) AS mask
        FROM o GROUP BY jk""",
    "features_out": "SELECT * EXCLUDE (jk, mask) FROM f ORDER BY journey_id",
    "touchpoints": """SELECT tp, count(*), count(valence), sum(score::DECIMAL(18, 6)),
            sum(valence::DECIMAL(18, 12)),
            sum(valence::DECIMAL(18, 12) * valence::DECIMAL(18, 12)),
            count(*) FILTER (valence <= -0.5), count(*) FILTER (valence >= 0.5),
            count(*) FILTER (by_customer)
        FROM o GROUP BY tp""",
    "touchpoint_journeys": """SELECT c.tp, count(*) FROM f, codes c
        WHERE (mask & (1::BIGINT << c.tp)) != 0 GROUP BY c.tp""",
    "flows": """SELECT tp, nxt, count(*), count(DISTINCT jk), median(gap)
        FROM o WHERE nxt IS NOT NULL GROUP BY ALL""",
}


def run(path: Path) -> dict[str, float]:
    """Wall seconds of each step of the plan and of the scan floor, on a new connection."""
    con = duckdb.connect()
    times: dict[str, float] = {}
    for name, sql in STEPS.items():
        started = time.perf_counter()
        result = con.sql(sql.format(path=path))
        if result is not None:  # a query, not CREATE: fetch it as the engine does
            result.arrow()
        times[name] = time.perf_counter() - started
    times["total"] = sum(times.values())
    floor = ", ".join(f"any_value({c})" for c in COLUMNS.split(", "))
    started = time.perf_counter()
    con.sql(f"SELECT {floor} FROM read_parquet('{path}')").fetchall()
    times["floor"] = time.perf_counter() - started
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events", type=Path, default=Path("bench/data/peakend-10M/events.parquet")
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs; the median is printed")
    args = parser.parse_args()
    if not args.events.exists():
        raise SystemExit(f"{args.events} does not exist: run bench/engine.py first")
    runs = [run(args.events) for _ in range(args.repeat)]
    for name in runs[0]:
        values = sorted(r[name] for r in runs)
        print(f"sql_plan_{name}_s: {values[len(values) // 2]:.3f}")
    total = sorted(r["total"] for r in runs)[len(runs) // 2]
    floor = sorted(r["floor"] for r in runs)[len(runs) // 2]
    print(f"sql_plan_vs_floor: {total / floor:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
