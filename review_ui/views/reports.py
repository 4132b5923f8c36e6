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
from review_ui.figures import (
    NONE,
    camera_time_text,
    count,
    duration_text,
    per_day_text,
    progress_text,
    rate_headline,
    rate_text,
)
from rollout.reports import (
    CameraDriftStatus,
    GroupRates,
    RateWindow,
    ZoneOverview,
    ZoneShadowReport,
)

RATES = {"false_alert": "False-alert rate", "missed_alert": "Missed-alert rate",
         "night_false_alert": "Night false-alert rate",
         "night_missed_alert": "Night missed-alert rate"}
VERDICTS = {"bear": "Bear", "no_bear": "No bear", "unsure": "Unsure", "pending": "Not reviewed"}


def _rates_table(groups: list[GroupRates], by: str) -> pd.DataFrame:
    """What people read: each rate as `9.5 % · 4 of 42 · 95 % CI 3.8–22 %`, plain names."""
    return pd.DataFrame([{
        by.capitalize(): g.key,
        **{title: rate_text(getattr(g, attr)) for attr, title in RATES.items()},
        "Alerts": count(g.alert_volume), "Night alerts": count(g.night_alert_volume),
        "Reviewed": count(g.reviewed), "Bear": count(g.bear), "No bear": count(g.no_bear),
        "Unsure": count(g.unsure), "Not yet reviewed": count(g.backlog),
        "Missed-bear reports": count(g.missed_reports),
        "Audit frames reviewed": count(g.audit_reviewed),
        "Audit frames with a bear": count(g.audit_bear),
        "Camera time": camera_time_text(g.camera_days),
        "Alerts per camera-day": per_day_text(g.alert_volume_per_camera_day),
        "Median review latency": duration_text(g.median_review_latency_s),
    } for g in groups])


def _rate_cells(title: str, r: Rate) -> dict[str, Any]:
    return {title: r.value, f"{title}, 95 % low": r.low, f"{title}, 95 % high": r.high,
            f"{title}, counted": r.numerator, f"{title}, of": r.denominator}


def _rates_csv(groups: list[GroupRates], by: str) -> pd.DataFrame:
    """The same figures as raw numbers (rates 0..1, camera time in days, latency in s)."""
    rows = []
    for g in groups:
        row: dict[str, Any] = {by.capitalize(): g.key}
        for attr, title in RATES.items():
            row.update(_rate_cells(title, getattr(g, attr)))
        row.update({"Alerts": g.alert_volume, "Night alerts": g.night_alert_volume,
                    "Reviewed": g.reviewed, "Bear": g.bear, "No bear": g.no_bear,
                    "Unsure": g.unsure, "Not yet reviewed": g.backlog,
                    "Missed-bear reports": g.missed_reports,
                    "Audit frames reviewed": g.audit_reviewed,
                    "Audit frames with a bear": g.audit_bear,
                    "Camera-days": round(g.camera_days, 4),
                    "Alerts per camera-day": g.alert_volume_per_camera_day,
                    "Median review latency (s)": g.median_review_latency_s})
        rows.append(row)
    return pd.DataFrame(rows).round(4)


def _gate_progress(zone: ZoneOverview | None) -> tuple[str, str]:
    """The card's value (`12 of 20`: the false-alert gate's reviews against the minimum a gate
    needs) and its caption (`12 of 20 reviews · 3 of 20 night reviews`), over the controller's
    window; `—` without a controller view."""
    by_gate = {g.gate.value: g for g in zone.gates} if zone is not None else {}
    day, night = by_gate.get("false_alert"), by_gate.get("night_false_alert")
    if day is None:
        return NONE, NONE
    caption = progress_text(day.rate.n_effective, day.min_samples, "reviews")
    if night is not None:
        caption += " · " + progress_text(night.rate.n_effective, night.min_samples,
                                         "night reviews")
    return f"{count(day.rate.n_effective)} of {count(day.min_samples)}", caption


def _headlines(path: str, window: RateWindow, zones: list[str]) -> None:
    """One card per zone: its rates, latency and backlog over the window, and how far it is
    toward the reviews a gate needs before it can pass."""
    per_zone = {g.key: g for g in queries.rates(path, RateWindow(
        since=window.since, until=window.until, by="zone", zone_id=window.zone_id))}
    overview = {z.zone_id: z for z in queries.overview(path)}
    days = queries.context().config.rollout.window_days
    for zone_id in zones:
        g = per_zone.get(zone_id)
        if g is None:
            continue
        z = overview.get(zone_id)
        with st.container(border=True):
            title = f"{z.name or zone_id} ({zone_id}) · {z.stage.value}" if z else zone_id
            st.markdown(f"**{title}**")
            cols = st.columns(6)
            for col, attr in zip(cols[:3], ("false_alert", "missed_alert", "night_false_alert"),
                                 strict=True):
                r: Rate = getattr(g, attr)
                col.metric(RATES[attr], rate_headline(r), help=rate_text(r), border=False)
                col.caption(rate_text(r).split(" · ", 1)[1])
            value, caption = _gate_progress(z)
            cols[3].metric("Toward the gates", value,
                           help=f"Reviews the controller counts over its last {days:g} days; "
                                "a gate with fewer is inconclusive and the zone holds.")
            cols[3].caption(caption)
            cols[4].metric("Median review latency", duration_text(g.median_review_latency_s))
            cols[4].caption(f"{count(g.reviewed)} reviewed")
            cols[5].metric("Not yet reviewed", count(g.backlog))
            cols[5].caption(f"{count(g.alert_volume)} alerts · "
                            f"{per_day_text(g.alert_volume_per_camera_day)} per camera-day")


def _download(df: pd.DataFrame, name: str) -> None:
    """A CSV of `df` (raw numbers) named like `false-alert-over-time.csv`."""
    file = f"{name.replace('_', '-')}.csv"
    st.download_button(f"Download {file}", df.to_csv(index=False).encode(), file, "text/csv",
                       key=f"dl_{name}")


def _zone_from_link() -> str | None:
    """`?zone=ID` in the page's URL (a deep link, kept through the log-in): that zone only,
    when the catalog has it."""
    wanted = st.query_params.get("zone")
    if wanted and wanted in {z.id for z in queries.zones(queries.config_path())}:
        return wanted
    return None


def _window(zone_id: str | None) -> tuple[RateWindow, float]:
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
    return RateWindow(since=since, until=until, by=by, zone_id=zone_id), float(bucket)


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
    base = alt.Chart(shown).encode(x=alt.X("from:T", title="Bucket start (UTC)"),
                                   color=alt.Color("group:N", title="Zone or camera",
                                                   scale=alt.Scale(scheme="category10")))
    band = base.mark_area(opacity=0.2).encode(y=alt.Y("low:Q", title=RATES[attr],
                                                      scale=alt.Scale(domain=[0, 1]),
                                                      axis=alt.Axis(format="%")), y2="high:Q")
    line = base.mark_line(point=True).encode(y="rate:Q", tooltip=[
        alt.Tooltip("group:N", title="Zone or camera"),
        alt.Tooltip("from:T", title="Bucket start (UTC)"),
        alt.Tooltip("rate:Q", title="Rate", format=".1%"),
        alt.Tooltip("low:Q", title="95 % low", format=".1%"),
        alt.Tooltip("high:Q", title="95 % high", format=".1%"),
        alt.Tooltip("n:Q", title="Counted"), alt.Tooltip("of:Q", title="Of")])
    st.altair_chart(band + line, width="stretch")
    st.caption("Lines: the rate per bucket; bands: its 95 % interval. Buckets with no "
               "reviewed data are left out of the chart (they are in the CSV).")
    return df


def _drift_table(statuses: list[CameraDriftStatus]) -> pd.DataFrame:
    return pd.DataFrame([{
        "Camera": d.camera_id, "Zone": d.zone_id, "Model version": d.model_version,
        "Frames": d.n_frames, "Score PSI": d.psi_score, "Score KS": d.ks_score,
        "Brightness PSI": d.psi_luma, "Brightness KS": d.ks_luma, "PSI limit": d.psi_max,
        "Why": d.reason,
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
    return {"Light": light, "Frames compared": count(f.n_frames),
            "Agreement": rate_text(f.agreement), "Shadow only": rate_text(f.shadow_only),
            "Live only": rate_text(f.live_only)}


def _shadow_table(reports: list[ZoneShadowReport], configured: str) -> pd.DataFrame:
    rows = []
    for r in reports:
        versions = {"Zone": r.zone_id, "Live model": r.live or f"configured ({configured})",
                    "Shadow model": r.shadow or NONE, "Compared version": r.version}
        for light, f in (("day", r.day), ("night", r.night), ("all", r.total)):
            rows.append({**versions, **_shadow_cells(light, f)})
    return pd.DataFrame(rows)


def _shadow_models(path: str, window: RateWindow) -> None:
    configured = queries.context().config.detector.model
    st.subheader("Live vs shadow model")
    st.caption("Per zone and shadow version, frames both models scored in the window: "
               "agreement = same side of the zone's threshold; shadow only = alerts the shadow "
               "would have raised that live did not; live only = ones it would have missed. "
               "Rates are per frame: the share, its counts and its 95 % interval.")
    reports = queries.shadow_models(path, window.since, window.until)
    if not reports:
        st.info("No zone runs a shadow model and no shadow counts in this window.")
        return
    table = _shadow_table(reports, configured)
    st.dataframe(table, hide_index=True, width="stretch")
    _download(table, "live_vs_shadow")


def _volume_and_scores(path: str, window: RateWindow) -> None:
    left, right = st.columns(2)
    with left:
        st.subheader("Alerts by hour of day (UTC)")
        hours = pd.DataFrame([{"Hour": h.hour, "Day": h.day, "Night": h.night}
                              for h in queries.volume_by_hour(path, window)])
        if hours.empty or not (hours["Day"] + hours["Night"]).any():
            st.info("No alerts in this window.")
        else:
            long = hours.melt("Hour", var_name="Light", value_name="Alerts")
            st.altair_chart(alt.Chart(long).mark_bar().encode(
                x="Hour:O", y="Alerts:Q", color="Light:N", xOffset="Light:N"), width="stretch")
            _download(hours, "volume_by_hour")
    with right:
        st.subheader("Model score vs verdict")
        cells = pd.DataFrame([{"Model score": f"{c.bucket / 10:.1f}–{(c.bucket + 1) / 10:.1f}",
                               "verdict": VERDICTS.get(c.verdict or "pending", c.verdict),
                               "alerts": c.count}
                              for c in queries.score_vs_verdict(path, window)])
        if cells.empty:
            st.info("No alerts in this window.")
        else:
            matrix = cells.pivot_table(index="Model score", columns="verdict", values="alerts",
                                       fill_value=0, aggfunc="sum").reset_index()
            matrix.columns.name = None
            st.dataframe(matrix, hide_index=True, width="stretch")
            _download(matrix, "score_vs_verdict")


def render() -> None:
    st.title("Reports")
    path = queries.config_path()
    zone_id = _zone_from_link()
    if zone_id is not None:
        st.caption(f"Zone {zone_id} only, as the link asked.")
        if st.button("Show all zones", key="rep_all_zones"):
            del st.query_params["zone"]
            st.rerun()
    window, bucket = _window(zone_id)
    zones = [z.id for z in queries.zones(path) if zone_id in (None, z.id)]
    _headlines(path, window, zones)
    groups = queries.rates(path, window)
    st.subheader(f"Rates per {window.by}")
    st.caption("Each rate: the share, its counts, and its 95 % Wilson interval. Camera time "
               "counts from when a camera was added and leaves out its offline time.")
    st.dataframe(_rates_table(groups, window.by), hide_index=True, width="stretch")
    _download(_rates_csv(groups, window.by), f"rates_by_{window.by}")
    tabs = st.tabs(list(RATES.values()))
    for tab, attr in zip(tabs, RATES, strict=True):
        with tab:
            df = _rate_chart(path, window, bucket, attr)
            if not df.empty:
                _download(df, f"{attr}_over_time")
    _volume_and_scores(path, window)
    _domain_shift(path)
    _shadow_models(path, window)


if __name__ == "__main__":  # run as a page by st.navigation
    render()
