"""ml benchmark: the no-show pipeline on the public Kaggle set, and optionally on the warehouse's
marts and at scale. Prints a Markdown section and appends it to docs/benchmarks.md.

    .venv/bin/python -m benchmarks.ml_bench                 # Kaggle (read in place from ../shared/data)
    .venv/bin/python -m benchmarks.ml_bench --marts         # also the practice in CLICKHOUSE_URL's marts
    .venv/bin/python -m benchmarks.ml_bench --scale-rows 1100000   # also time training at that size

Kaggle context rows explain the gap to published figures: the same pipeline with a *leaky*
patient rate (every other appointment's outcome, future included, as random-split notebooks
compute it), a random instead of a time-based split, and the holdout without same-day visits.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from benchmarks.machine import machine
from ml.features import no_show_labels
from ml.kaggle import kaggle_path, read_kaggle
from ml.no_show.train import Labelled, holdout_split, labelled, make_pipeline, train, usable_features

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
TEST_FRACTION = 0.2
COLUMNS = ("roc_auc", "pr_auc", "brier", "brier_base_rate")


def metrics_table(metrics: dict[str, dict[str, float]]) -> list[str]:
    lines = ["| model | ROC AUC | PR AUC | Brier | Brier (base rate) |", "|---|---|---|---|---|"]
    for name, m in metrics.items():
        lines.append(f"| {name} | " + " | ".join(f"{m[c]:.3f}" for c in COLUMNS) + " |")
    return lines


def _fit_auc(train_set: Labelled, test_set: Labelled, extra: list[str] = ()) -> float:
    categorical, numeric = usable_features(train_set.X.drop(columns=list(extra)))
    pipeline = make_pipeline(categorical, [*numeric, *extra]).fit(train_set.X, train_set.y)
    return float(roc_auc_score(test_set.y, pipeline.predict_proba(test_set.X)[:, 1]))


def kaggle_context(appts: pd.DataFrame, model, threads: int) -> dict[str, float]:
    """Same-day-excluded holdout AUC, a random split, and the leaky patient-rate reference."""
    data = labelled(appts)
    train_set, test_set, _ = holdout_split(data, TEST_FRACTION)
    later = (test_set.X["lead_days"] > 0).to_numpy()
    with threadpool_limits(threads):
        p = model.predict_proba(test_set.X)[:, 1]
        out = {"holdout_without_same_day": float(roc_auc_score(test_set.y[later], p[later])), "same_day_share": float(1 - later.mean())}
        first, second = train_test_split(np.arange(len(data.y)), test_size=TEST_FRACTION, random_state=0)
        out["random_split"] = _fit_auc(data.take(np.isin(np.arange(len(data.y)), first)), data.take(np.isin(np.arange(len(data.y)), second)))
        label = no_show_labels(appts)
        by_patient = label.groupby(appts["patient_id"])
        others = by_patient.transform("count") - 1
        leaky = ((by_patient.transform("sum") - label) / others).where(others > 0)
        leaked = Labelled(data.X.assign(patient_rate_all_outcomes=leaky.loc[data.X.index].to_numpy()), data.y, data.starts_at)
        tr, te, _ = holdout_split(leaked, TEST_FRACTION)
        out["leaky_patient_rate"] = _fit_auc(tr, te, ["patient_rate_all_outcomes"])
    return out


def kaggle_section(threads: int) -> list[str]:
    path = kaggle_path()
    if path is None:
        return ["### Kaggle no-show set", "", "Skipped: shared/data/noshow/KaggleV2-May-2016.csv.zip not found beside the project."]
    started = time.perf_counter()
    appts = read_kaggle(path)
    read_seconds = time.perf_counter() - started
    model, card = train(appts, test_fraction=TEST_FRACTION, refit=False, threads=threads)
    context = kaggle_context(appts, model, threads)
    window = card["data_window"]
    timings = card["timings_seconds"]
    lines = [
        "### No-show model on the Kaggle set (Vitória, 2016), time-based holdout",
        "",
        f"{len(appts):,} appointments (5 dated before their booking dropped). Train: appointment days "
        f"{window['train']['from']:%Y-%m-%d}..{window['train']['to']:%Y-%m-%d} ({window['train']['rows']:,}); "
        f"test: {window['test']['from']:%Y-%m-%d}..{window['test']['to']:%Y-%m-%d} ({window['test']['rows']:,}, "
        f"no-show rate {window['test']['no_show_rate']:.3f}). Calibration: {card['calibration']} on the latest 20 % of the training window.",
        "",
        *metrics_table(card["metrics"]),
        "",
        "Published: 0.72-0.85 ROC AUC on comparable primary-care data; about 0.70-0.75 on this set without visit history.",
        "",
        "| context (gradient boosting, ROC AUC) | value |",
        "|---|---|",
        f"| time-based holdout, same-day bookings excluded ({context['same_day_share']:.0%} of the holdout are same-day) | {context['holdout_without_same_day']:.3f} |",
        f"| random 80/20 split instead of time-based (same leakage-safe features) | {context['random_split']:.3f} |",
        f"| **invalid** reference: + patient no-show rate over all other appointments, future ones included | {context['leaky_patient_rate']:.3f} |",
        "",
        "Top features (permutation importance, ROC AUC drop): "
        + ", ".join(f"{name} {value:.3f}" for name, value in list(card["permutation_importance"].items())[:6]) + ".",
        "",
        f"Time (wall): read {read_seconds:.1f} s, features {timings['features']:.1f} s, fit + calibrate {timings['fit']:.1f} s, "
        f"evaluate (baselines, importance) {timings['evaluate']:.1f} s; CPU {timings['cpu_total']:.1f} s.",
    ]
    return lines


def marts_section(threads: int) -> list[str]:
    from ml.features import read_mart, weekly_payments
    from ml.forecast import train as forecast_train
    from warehouse.client import get_client

    client = get_client()
    started = time.perf_counter()
    appts = read_mart(client, "fct_appointments")
    read_seconds = time.perf_counter() - started
    _, card = train(appts, test_fraction=TEST_FRACTION, threads=threads)
    started, cpu = time.perf_counter(), time.process_time()
    _, forecast_card = forecast_train.train(weekly_payments(read_mart(client, "fct_payments")))
    forecast_seconds, forecast_cpu = time.perf_counter() - started, time.process_time() - cpu
    t = card["timings_seconds"]
    lines = [
        "### Simulated practice (the warehouse's marts)",
        "",
        f"{len(appts):,} appointments, {card['data_window']['test']['rows']:,} in the holdout "
        f"(from {card['data_window']['test_cut']:%Y-%m-%d}). Read {read_seconds:.1f} s; features {t['features']:.1f} s, "
        f"fit {t['fit']:.1f} s, evaluate {t['evaluate']:.1f} s, refit {t.get('refit', 0):.1f} s, total {t['total']:.1f} s wall, "
        f"{t['cpu_total']:.1f} s CPU.",
        "",
        *metrics_table(card["metrics"]),
        "",
        "| revenue forecast (rolling origin, 13 weeks) | season | origins | MASE model | MASE seasonal naive | MASE moving average | MAE ÷ seasonal naive | 80 % coverage | 95 % coverage |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for series, m in forecast_card["metrics"].items():
        lines.append(
            f"| {series} | {m['season']:.0f} | {m['origins']:.0f} | {m['mase_model']:.3f} | {m['mase_seasonal_naive']:.3f} | "
            f"{m['mase_moving_average']:.3f} | {m['mae_ratio_to_seasonal_naive']:.3f} | {m['coverage_80']:.2f} | {m['coverage_95']:.2f} |"
        )
    lines += ["", f"Forecast training (all series, backtests included): {forecast_seconds:.1f} s wall, {forecast_cpu:.1f} s CPU."]
    return lines


def scale_section(rows: int, threads: int) -> list[str]:
    """Training time at ``rows`` appointments: the Kaggle set tiled with distinct patients."""
    base = read_kaggle()
    copies = -(-rows // len(base))
    tiled = pd.concat(
        [base.assign(appointment_id=base["appointment_id"] + f"-{i}", patient_id=base["patient_id"] + f"-{i}") for i in range(copies)],
        ignore_index=True,
    ).iloc[:rows]
    _, card = train(tiled, test_fraction=TEST_FRACTION, threads=threads)
    t = card["timings_seconds"]
    return [
        "### No-show training at scale",
        "",
        f"{len(tiled):,} appointments (the Kaggle set tiled with distinct patients), refit included: features {t['features']:.1f} s, "
        f"fit {t['fit']:.1f} s, evaluate {t['evaluate']:.1f} s, refit {t['refit']:.1f} s, total {t['total']:.1f} s wall, "
        f"{t['cpu_total']:.1f} s CPU.",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--marts", action="store_true", help="also benchmark the practice in CLICKHOUSE_URL's marts")
    parser.add_argument("--scale-rows", type=int, default=0, help="also time training at this many appointments")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-append", action="store_true", help="print only")
    args = parser.parse_args()

    lines = [f"## ml: no-show and revenue forecast ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)", "", f"Machine: {machine()}.", ""]
    lines += kaggle_section(args.threads)
    if args.marts:
        lines += ["", *marts_section(args.threads)]
    if args.scale_rows:
        lines += ["", *scale_section(args.scale_rows, args.threads)]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_append:
        DOC.parent.mkdir(exist_ok=True)
        header = "" if DOC.exists() else "# Benchmarks\n\nAppended by the benchmark scripts, newest last.\n"
        with DOC.open("a") as fh:
            fh.write(f"{header}\n{text}")


if __name__ == "__main__":
    main()
