"""The verdict controls shared by the Review and Audit pages, with keyboard shortcuts.

Shortcuts (st.button `shortcut`, Streamlit ≥ 1.52): B = bear, U = unsure, N = no bear with
the reason picked below, 1–8 = no bear with that reason directly. ("C" and "R" are reserved by
Streamlit.) Shortcuts do not fire while the cursor is in the note field.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from db.reviews import VerdictInput
from kernel.records import ReasonCode, Verdict

REASON_LABELS: dict[ReasonCode, str] = {
    ReasonCode.OTHER_ANIMAL: "Other animal",
    ReasonCode.PERSON: "Person",
    ReasonCode.VEHICLE: "Vehicle",
    ReasonCode.SHADOW_OR_LIGHT: "Shadow or light",
    ReasonCode.INFRARED_ARTEFACT: "Infrared artefact",
    ReasonCode.VEGETATION_OR_WEATHER: "Vegetation or weather",
    ReasonCode.STATIC_OBJECT: "Static object",
    ReasonCode.OTHER: "Other",
}


BAR_CSS = """<style>
.st-key-review_verdict_bar, .st-key-audit_verdict_bar {
  position: sticky; top: 3.75rem; z-index: 99; padding: .35rem 0;
  background: var(--bw-bar-bg, #ffffff);
}
@media (max-width: 640px) {
  /* A phone: the bar is pinned to the bottom of the screen, thumb's reach, always in view. */
  .st-key-review_verdict_bar, .st-key-audit_verdict_bar {
    position: fixed; top: auto; bottom: 0; left: 0; right: 0; z-index: 999990;
    padding: .5rem .75rem calc(.5rem + env(safe-area-inset-bottom));
    box-shadow: 0 -2px 10px rgba(0, 0, 0, .18);
  }
  [data-testid="stMainBlockContainer"] { padding-bottom: 6rem; }
}
</style>"""


def controls(prefix: str, item_key: str, on_decide: Callable[[VerdictInput], None]) -> None:
    """Draw the verdict controls for one item; call `on_decide` with the operator's decision.

    The Bear / No bear / Unsure bar comes first and stays in view (sticky; on a phone pinned
    to the bottom). The eight reasons follow as rows of two, so the reading order is 1..8
    both side by side and when a narrow screen stacks the columns. The note and the reason
    list are drawn below the buttons but read before deciding, so one click still carries
    them.

    Args:
        prefix: widget-key prefix of the page ("review", "audit").
        item_key: the item's id, so widgets reset when the item changes.
    """
    st.html(BAR_CSS)
    pressed: tuple[Verdict, ReasonCode | None] | None = None
    with st.container(key=f"{prefix}_verdict_bar", horizontal=True, gap="small"):
        if st.button("Bear", key=f"{prefix}_bear", shortcut="B", type="primary",
                     width="stretch"):
            pressed = (Verdict.BEAR, None)
        if st.button("No bear", key=f"{prefix}_nobear", shortcut="N", width="stretch"):
            pressed = (Verdict.NO_BEAR, None)
        if st.button("Unsure", key=f"{prefix}_unsure", shortcut="U", width="stretch"):
            pressed = (Verdict.UNSURE, None)
    st.caption("No bear, with the reason at once (1–8):")
    items = list(REASON_LABELS.items())
    for row in range(0, len(items), 2):
        cols = st.columns(2)
        for col, (i, (code, label)) in zip(cols, enumerate(items[row:row + 2], start=row + 1),
                                           strict=False):
            if col.button(f"{i} · {label}", key=f"{prefix}_reason_btn_{code.value}",
                          shortcut=str(i), width="stretch", help=f"No bear: {label}"):
                pressed = (Verdict.NO_BEAR, code)
    reason = st.selectbox("Reason for No bear", list(REASON_LABELS), index=None,
                          format_func=lambda r: REASON_LABELS[r], key=f"{prefix}_reason_{item_key}",
                          placeholder="pick a reason, or press 1–8")
    note = st.text_input("Note (optional)", key=f"{prefix}_note_{item_key}")
    if pressed is None:
        return
    verdict, given = pressed
    if verdict is Verdict.NO_BEAR and given is None:  # the bar's No bear: the picked reason
        if reason is None:
            st.error("No bear needs a reason: pick one below, or press 1–8.")
            return
        given = reason
    on_decide(VerdictInput(verdict, given, note))
