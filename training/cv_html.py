"""The leave-one-source-out report as a static HTML page (no scripts, no external files)."""

from __future__ import annotations

from html import escape

from training.cv_report import BUDGETS, CrossValReport, side_by_side

_STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;
text-align:left;font-size:13px}th{background:#f4f4f4}.worse{background:#fde2e2}
.note{color:#555;font-size:13px}"""


def render_cross_val(report: CrossValReport, *, title: str = "Leave-one-source-out") -> str:
    """The tables per false-alarm budget (models side by side), the folds and the slices
    where a model catches fewer bears than the baseline."""
    worse = {(c.model, c.slice, c.budget) for c in report.comparisons if c.worse}
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
             f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>",
             "<p class='note'>Each frame is scored by a model that never saw its photo source "
             "(the folds below). "
             "Each model is taken at its own threshold for each false-alarm budget over the "
             "pooled out-of-fold no-bear frames. Cells: hits / n (rate, Wilson 95 % "
             "interval). A frame's score is the max of its whole image and its changed-region "
             "crops. Red: fewer bears than the baseline.</p>",
             "<h2>Folds</h2><ol>" + "".join(f"<li>{escape(', '.join(f.sources))}</li>"
                                             for f in report.folds) + "</ol>"]
    for budget in BUDGETS:
        view = side_by_side(report, budget)
        head = "".join(f"<th colspan=2>{escape(t.model)}<br>threshold {t.threshold:.4f}</th>"
                       for t in view.tables)
        sub = "".join("<th>bears caught</th><th>false alarms</th>" for _ in view.tables)
        rows = []
        for name, cells in view.rows:
            tds = []
            for t, r in zip(view.tables, cells, strict=True):
                cls = " class='worse'" if (t.model, name, budget) in worse else ""
                tds.append(f"<td{cls}>{escape(r.recall.text())}</td>"
                           f"<td>{escape(r.false_alarms.text())}</td>")
            rows.append(f"<tr><td>{escape(name)}</td>{''.join(tds)}</tr>")
        parts.append(f"<h2>False-alarm rate at most {budget:.0%}</h2><table><tr><th>slice</th>"
                     f"{head}</tr><tr><th></th>{sub}</tr>{''.join(rows)}</table>")
    if report.known_scene:
        rows = []
        for t in report.known_scene:
            for r in t.rows:
                if r.recall.n:
                    rows.append(f"<tr><td>{t.budget:.0%} (threshold {t.threshold:.4f})</td>"
                                f"<td>{escape(r.name)}</td><td>{escape(r.recall.text())}</td></tr>")
        parts.append(f"<h2>Known scene: {escape(report.known_scene[0].model)}</h2><p class="
                     "'note'>The trail camera whose bears are boxed, one visit held out at a "
                     "time: the model trained on every source and on that camera's other "
                     "visits, scored at the leave-one-source-out thresholds.</p><table><tr><th>"
                     "false-alarm budget</th><th>slice</th><th>bears caught</th></tr>"
                     + "".join(rows) + "</table>")
    parts.append("</body></html>")
    return "".join(parts)
