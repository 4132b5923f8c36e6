"""Reports (analysts): false-alert, missed-alert and night rates per zone or camera with 95 %
intervals and counts, over time; alert volume by hour, day vs night; model score vs verdict;
review latency and backlog; the cameras whose data drifted from the model's training
(domain shift); live vs shadow model per zone. Every figure comes from rollout's functions
(the ones the controller uses) and every table downloads as CSV."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal

import altair as alt
import pandas as pd
import streamlit as st

from kernel.intervals import Rate
from kernel.records import ShadowFigures
from review_ui import queries
from rollout.reports import CameraDriftStatus, GroupRates, RateWindow, ZoneShadowReport

RATES = {"false_alert": "False-alert rate", "missed_alert": "Missed-alert rate",
         "night_false_alert": "Night false-alert rate",
         "night_missed_alert": "Night missed-alert rate"}


def _rate_cells(prefix: str, r: Rate) -> dict[str, Any]:
    return {f"{prefix}": r.value, f"{prefix} low": r.low, f"{prefix} high": r.high,
            f"{prefix} n": r.numerator, f"{prefix} of": r.denominator}


def _rates_table(groups: list[GroupRates]) -> pd.DataFrame:
    rows = []
    for g in groups:
        row: dict[str, Any] = {"group": g.key}
        for attr in RATES:
            row.update(_rate_cells(attr, getattr(g, attr)))
        row.update({"alerts": g.alert_volume, "night alerts": g.night_alert_volume,
                    "reviewed": g.reviewed, "bear": g.bear, "no bear": g.no_bear,
                    "unsure": g.unsure, "missed reports": g.missed_reports,
                    "audit reviewed": g.audit_reviewed, "audit bear": g.audit_bear,
                    "camera days": round(g.camera_days, 2),
                    "alerts per camera-day": g.alert_volume_per_camera_day})
        rows.append(row)
    return pd.DataFrame(rows).round(4)


def _download(df: pd.DataFrame, name: str) -> None:
    st.download_button(f"Download {name}.csv", df.to_csv(index=False).encode(), f"{name}.csv",
                       "text/csv", key=f"dl_{name}")


def _window() -> tuple[RateWindow, float]:
    today = datetime.now(UTC).date()
    cols = st.columns(3)
    span = cols[0].date_input("Window (UTC dates)", value=(today - timedelta(days=29), today),
                              key="rep_window")
    per = cols[1].radio("Per", ["zone", "camera"], horizontal=True, key="rep_by")
    by: Literal["zone", "camera"] = "camera" if per == "camera" else "zone"
    bucket = cols[2].selectbox("Chart bucket (days)", [1, 7], index=1, key="rep_bucket")
    # While a range is being picked the widget holds one date (or none) for a moment.
    dates = span if isinstance(span, tuple) else (span,)
    start, end = (dates[0], dates[-1]) if dates else (today, today)
    since = datetime.combine(start, time(0), tzinfo=UTC)
    until = datetime.combine(end, time(0), tzinfo=UTC) + timedelta(days=1)
    return RateWindow(since=since, until=until, by=by), float(bucket)


def _rate_chart(path: str, window: RateWindow, bucket: float, attr: str) -> pd.DataFrame:
    rows = []
    for at in queries.rates_series(path, window, bucket):
        for g in at.groups:
            r: Rate = getattr(g, attr)
            rows.append({"from": at.since, "group": g.key, "rate": r.value, "low": r.low,
                         "high": r.high, "n": r.numerator, "of": r.denominator})
    df = pd.DataFrame(rows)
    if df.empty or not (df["of"] > 0).any():
        st.info("No reviewed data in this window.")
        return df
    # A bucket with nothing to count has the interval (0, 1): true but it hides the rest.
    shown = df[df["of"] > 0]
    base = alt.Chart(shown).encode(x=alt.X("from:T", title="bucket start (UTC)"),
                                   color=alt.Color("group:N", scale=alt.Scale(scheme="category10")))
    band = base.mark_area(opacity=0.2).encode(y=alt.Y("low:Q", title=RATES[attr],
                                                      scale=alt.Scale(domain=[0, 1])), y2="high:Q")
    line = base.mark_line(point=True).encode(
        y="rate:Q", tooltip=["group", "from:T", "rate", "low", "high", "n", "of"])
    st.altair_chart(band + line, width="stretch")
    st.caption("Lines: the rate per bucket; bands: its 95 % interval. Buckets with no "
               "reviewed data are left out of the chart (they are in the CSV).")
    return df


def _drift_table(statuses: list[CameraDriftStatus]) -> pd.DataFrame:
    return pd.DataFrame([{
        "camera": d.camera_id, "zone": d.zone_id, "model version": d.model_version,
        "frames": d.n_frames, "score PSI": d.psi_score, "score KS": d.ks_score,
        "luma PSI": d.psi_luma, "luma KS": d.ks_luma, "PSI max": d.psi_max, "why": d.reason,
    } for d in statuses]).round(4)


def _domain_shift(path: str) -> None:
    cfg = queries.context().config.detector
    st.subheader("Domain shift")
    st.caption(f"Last {cfg.drift_window_hours:g} h per camera against the training reference of "
               f"the model that scored it; flagged when a PSI exceeds {cfg.drift_psi_max:g}. "
               "Out-of-domain data lowers trust in the model's figures; it holds promotion.")
    statuses = queries.drift(path)
    flagged = [d for d in statuses if d.flagged]
    if not flagged:
        assessed = sum(d.assessed for d in statuses)
        st.info(f"No camera flagged ({assessed} of {len(statuses)} camera window(s) assessed).")
        return
    table = _drift_table(flagged)
    st.dataframe(table, hide_index=True, width="stretch")
    _download(table, "domain_shift")


def _shadow_cells(light: str, f: ShadowFigures) -> dict[str, Any]:
    return {"light": light, "frames": f.n_frames, "agree": f.n_agree,
            "agreement": f.agreement.value, "shadow only": f.n_shadow_only,
            "shadow-only rate": f.shadow_only.value, "live only": f.n_live_only,
            "live-only rate": f.live_only.value}


def _shadow_table(reports: list[ZoneShadowReport], configured: str) -> pd.DataFrame:
    rows = []
    for r in reports:
        versions = {"zone": r.zone_id, "live": r.live or f"configured ({configured})",
                    "shadow": r.shadow or "—", "compared version": r.version}
        for light, f in (("day", r.day), ("night", r.night), ("all", r.total)):
            rows.append({**versions, **_shadow_cells(light, f)})
    return pd.DataFrame(rows).round(4)


def _shadow_models(path: str, window: RateWindow) -> None:
    configured = queries.context().config.detector.model
    st.subheader("Live vs shadow model")
    st.caption("Per zone and shadow version, frames both models scored in the window: "
               "agreement = same side of the zone's threshold; shadow only = alerts the shadow "
               "would have raised that live did not; live only = ones it would have missed. "
               "Rates are per frame, beside their counts.")
    reports = queries.shadow_models(path, window.since, window.until)
    if not reports:
        st.info("No zone runs a shadow model and no shadow counts in this window.")
        return
    table = _shadow_table(reports, configured)
    st.dataframe(table, hide_index=True, width="stretch")
    _download(table, "live_vs_shadow")


def render() -> None:
    st.title("Reports")
    path = queries.config_path()
    window, bucket = _window()
    groups = queries.rates(path, window)
    st.subheader(f"Rates per {window.by} (95 % Wilson intervals, with counts)")
    table = _rates_table(groups)
    st.dataframe(table, hide_index=True, width="stretch")
    _download(table, f"rates_by_{window.by}")
    tabs = st.tabs(list(RATES.values()))
    for tab, attr in zip(tabs, RATES, strict=True):
        with tab:
            df = _rate_chart(path, window, bucket, attr)
            if not df.empty:
                _download(df, f"{attr}_over_time")
    left, right = st.columns(2)
    with left:
        st.subheader("Alert volume by hour of day (UTC)")
        hours = pd.DataFrame([{"hour": h.hour, "day": h.day, "night": h.night}
                              for h in queries.volume_by_hour(path, window)])
        if hours.empty:
            st.info("No alerts in this window.")
        else:
            long = hours.melt("hour", var_name="light", value_name="alerts")
            st.altair_chart(alt.Chart(long).mark_bar().encode(
                x="hour:O", y="alerts:Q", color="light:N", xOffset="light:N"), width="stretch")
            _download(hours, "volume_by_hour")
    with right:
        st.subheader("Model score vs verdict")
        cells = pd.DataFrame([{"score": f"{c.bucket / 10:.1f}–{(c.bucket + 1) / 10:.1f}",
                               "verdict": c.verdict or "pending", "alerts": c.count}
                              for c in queries.score_vs_verdict(path, window)])
        if cells.empty:
            st.info("No alerts in this window.")
        else:
            matrix = cells.pivot_table(index="score", columns="verdict", values="alerts",
                                       fill_value=0, aggfunc="sum").reset_index()
            st.dataframe(matrix, hide_index=True, width="stretch")
            _download(matrix, "score_vs_verdict")
    st.subheader("Review latency and backlog")
    latency = pd.DataFrame([{"group": g.key, "median review latency (s)": g.median_review_latency_s,
                             "unreviewed backlog": g.backlog, "reviewed": g.reviewed}
                            for g in groups])
    st.dataframe(latency, hide_index=True, width="stretch")
    _download(latency, "latency_backlog")
    _domain_shift(path)
    _shadow_models(path, window)


if __name__ == "__main__":  # run as a page by st.navigation
    render()
