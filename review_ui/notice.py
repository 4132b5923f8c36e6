"""Whether alerts reach people, said where operators and admins look: a banner naming every
pilot/active zone with no notifier (Review and Rollout pages), and after a verdict or "Warn
now" where the warning went, or that no one was warned (`rollout.notify.delivery_note`)."""

from __future__ import annotations

import streamlit as st

from review_ui import queries
from rollout import Action, RoutingDecision
from rollout.notify import delivery_note, unwarned_banner

DELIVERY_KEY = "notice_delivery"


def remember_delivery(decision: RoutingDecision) -> None:
    """Keep where the last verdict's warning went for the next run of the page (the page
    reruns to claim the next alert); `notifier_banner` shows it once."""
    st.session_state[DELIVERY_KEY] = delivery_note(decision, queries.context().routing)


def show_delivery(note: str | None) -> None:
    """Green when someone was warned, red when no one was; nothing for None."""
    if note is None:
        return
    if note.startswith("No one was warned"):
        st.error(note, icon=":material/notifications_off:")
    else:
        st.success(note, icon=":material/campaign:")


def notifier_banner() -> None:
    """The last verdict's delivery note, then an error banner listing the pilot/active zones
    whose alerts warn no one, or else one caption line saying where those zones' alerts go."""
    show_delivery(st.session_state.pop(DELIVERY_KEY, None))
    coverage = queries.coverage(queries.config_path())
    banner = unwarned_banner(coverage)
    if banner is not None:
        st.error(banner, icon=":material/notifications_off:")
        return
    warning = [c.describe() for c in coverage if c.warns]
    if warning:
        st.caption("Notifications: " + " · ".join(warning))


def warned(decision: RoutingDecision) -> None:
    """Show at once where a "Warn now" went, or that no one was warned."""
    show_delivery(delivery_note(decision, queries.context().routing))


def promotion_override(zone_id: str, action: Action) -> str | None:
    """Under a pending promotion of a zone no notifier reaches: say so, and draw the override
    reason field (audited when used). Returns its text, or None when no override applies."""
    if action is not Action.PROMOTE:
        return None
    cov = next((c for c in queries.coverage(queries.config_path()) if c.zone_id == zone_id),
               None)
    if cov is None or not cov.promotion_unwarned:
        return None
    st.error(f"Zone {zone_id} has no notifier: promoted, its alerts would warn no one. "
             "Configure one under notifier: in config.yaml, or give an override reason "
             "(audited).", icon=":material/notifications_off:")
    return st.text_input("Override: promote without a notifier, because… (audited)",
                         key=f"ro_override_{zone_id}")
