"""Report a missed bear: where (zone, camera if known), when, optional photo and note. Then
the camera's stored frames around that time are shown so the operator can attach the right one.
Night is decided by the sun at the camera when it has coordinates, else the operator ticks it."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import streamlit as st

from db.errors import DatabaseError
from db.missed import MissedReportInput, NearbyFrame
from review_ui import actions, queries
from review_ui.display import local_time, night_from_sun, resolve_image
from review_ui.errors import ReviewUIError
from review_ui.session import current_user, flash, show_flash

KEY = "miss_report_id"
NO_CAMERA = "— camera not known —"


def _form() -> None:
    ctx, path = queries.context(), queries.config_path()
    tz = ZoneInfo(ctx.config.review_ui.timezone)
    zones = queries.zones(path)
    if not zones:
        st.info("No zones in the catalog yet.")
        return
    zone = st.selectbox("Zone", [z.id for z in zones], key="miss_zone",
                        format_func=lambda z: next(x.name for x in zones if x.id == z))
    cams = [c for c in queries.cameras(path) if c.zone_id == zone]
    cam_id = st.selectbox("Camera", [NO_CAMERA, *[c.id for c in cams]], key="miss_camera")
    now_local = ctx.clock().astimezone(tz)
    cols = st.columns(2)
    day = cols[0].date_input("Date", value=now_local.date(), key="miss_date")
    clock = cols[1].time_input("Time", value=time(now_local.hour, now_local.minute),
                               key="miss_time", step=60)
    at = datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)
    cam = next((c for c in cams if c.id == cam_id), None)
    by_sun = night_from_sun(at, cam.latitude, cam.longitude) if cam else None
    if by_sun is None:
        night = st.checkbox("It was night (dark or infrared)", key="miss_night")
    else:
        night = by_sun
        st.caption(f"By the sun at {cam.name if cam else ''}: {'night' if night else 'day'}.")
    photo = st.file_uploader("Photo (optional)", type=list(actions.PHOTO_TYPES), key="miss_photo")
    note = st.text_area("Note", key="miss_note",
                        placeholder="who saw it, where exactly, what it did")
    if st.button("Submit report", key="miss_submit", type="primary"):
        try:
            photo_path = (str(actions.save_photo(ctx, photo.name, photo.getvalue()))
                          if photo else None)
            report = MissedReportInput(zone_id=zone, occurred_at=at, is_night=night,
                                       camera_id=cam.id if cam else None, note=note,
                                       photo_path=photo_path)
            st.session_state[KEY] = actions.report_miss(ctx, current_user(), report)
            st.session_state["miss_report_at"] = at
            st.session_state["miss_report_camera"] = cam.id if cam else None
        except (ReviewUIError, DatabaseError) as exc:
            st.error(f"Report not saved: {exc}")
            return
        flash(f"Missed bear reported (report {st.session_state[KEY]}).")
        st.rerun()


def _one_per_picture(frames: list[NearbyFrame]) -> list[NearbyFrame]:
    """The first frame of each image file. Alerts stored before each frame had its own image
    pointed all their frames at the one snapshot, which showed as a row of identical
    pictures; attaching any of them attaches the same file."""
    seen: set[str] = set()
    out = []
    for f in frames:
        if f.image_path not in seen:
            seen.add(f.image_path)
            out.append(f)
    return out


def _attach(report_id: int) -> None:
    ctx = queries.context()
    cam_id = st.session_state.get("miss_report_camera")
    at: datetime = st.session_state["miss_report_at"]
    st.subheader(f"Attach a frame to report {report_id}")
    if cam_id is None:
        st.info("No camera was named, so there are no frames to attach.")
    else:
        minutes = st.slider("Minutes either side", 1, 120, 15, key="miss_window")
        frames = _one_per_picture(
            queries.nearby_frames(queries.config_path(), cam_id, at, float(minutes)))
        if not frames:
            st.info(f"No stored frames of {cam_id} within ±{minutes} min of "
                    f"{local_time(at, ctx.config.review_ui.timezone)}.")
        cols = st.columns(4)
        for i, f in enumerate(frames):
            with cols[i % 4]:
                img = resolve_image(ctx.config.storage, f.image_path)
                score = "" if f.p_bear is None else f" · p {f.p_bear:.2f}"
                caption = (f"{f.source} "
                           f"{local_time(f.captured_at, ctx.config.review_ui.timezone)}{score}")
                if img is not None:
                    st.image(str(img), caption=caption)
                else:
                    st.caption(f"{caption} (file missing)")
                if st.button("Attach", key=f"miss_attach_{i}"):
                    actions.attach_report_frame(ctx, current_user(), report_id, f.image_path)
                    flash(f"Frame attached to report {report_id}.")
                    st.session_state[KEY] = None
                    st.rerun()
    if st.button("Done", key="miss_done"):
        st.session_state[KEY] = None
        st.rerun()


def render() -> None:
    st.title("Report a missed bear")
    show_flash()
    report_id = st.session_state.get(KEY)
    if report_id is None:
        _form()
    else:
        _attach(int(report_id))




if __name__ == "__main__":  # run as a page by st.navigation
    render()
