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


def controls(prefix: str, item_key: str, on_decide: Callable[[VerdictInput], None]) -> None:
    """Draw the verdict buttons for one item; call `on_decide` with the operator's decision.

    Args:
        prefix: widget-key prefix of the page ("review", "audit").
        item_key: the item's id, so widgets reset when the item changes.
    """
    note = st.text_input("Note (optional)", key=f"{prefix}_note_{item_key}")
    reason = st.selectbox("Reason for No bear", list(REASON_LABELS), index=None,
                          format_func=lambda r: REASON_LABELS[r], key=f"{prefix}_reason_{item_key}",
                          placeholder="pick a reason, or press 1–8")
    cols = st.columns(3)
    decision: VerdictInput | None = None
    if cols[0].button("Bear", key=f"{prefix}_bear", shortcut="B", type="primary",
                      width="stretch"):
        decision = VerdictInput(Verdict.BEAR, note=note)
    if cols[1].button("No bear", key=f"{prefix}_nobear", shortcut="N", width="stretch"):
        if reason is None:
            st.error("No bear needs a reason: pick one above, or press 1–8.")
        else:
            decision = VerdictInput(Verdict.NO_BEAR, reason, note)
    if cols[2].button("Unsure", key=f"{prefix}_unsure", shortcut="U", width="stretch"):
        decision = VerdictInput(Verdict.UNSURE, note=note)
    st.caption("No bear, with the reason at once:")
    reason_cols = st.columns(2)
    for i, (code, label) in enumerate(REASON_LABELS.items(), start=1):
        if reason_cols[(i - 1) % 2].button(label, key=f"{prefix}_reason_btn_{code.value}",
                                           shortcut=str(i), width="stretch",
                                           help=f"No bear: {label}"):
            decision = VerdictInput(Verdict.NO_BEAR, code, note)
    if decision is not None:
        on_decide(decision)
