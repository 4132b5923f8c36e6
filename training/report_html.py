"""The evaluation report as one static HTML page an analyst can open anywhere: figures side
by side for a candidate model and the one it would replace, on the same held-out images.

Everything is inline (PNG charts and JPEG thumbnails as base64), so the file can be mailed
or archived alone. Every rate shows its counts and a Wilson 95 % interval (DESIGN.md §4).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: render to memory only
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from scipy.stats import binomtest  # noqa: E402

from training.cache import load_rgb  # noqa: E402
from training.compare import (  # noqa: E402
    HeldOut,
    HeldOutComparison,
    ModelReport,
    is_infrared_image,
    model_report,
    recall_at_equal_false_alarms,
)
from training.evaluation import (  # noqa: E402
    EvalReport,
    LabelledImage,
    threshold_for_recall,
)
from training.figures import pr_curve  # noqa: E402
from training.proposal_eval import BearHits, ProposalFigures  # noqa: E402
from training.rates import Figures  # noqa: E402

TARGET_RECALLS = (0.9, 0.95)
THUMB_SIDE = 160
N_TOP_LOSSES = 12
LIGHTS = ("day", "night", "infrared")
_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1150px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:4px 8px;
text-align:right}th{background:#f3f3f3}td.l,th.l{text-align:left}.ci{color:#777;font-size:11px}
.cols{display:flex;gap:24px;flex-wrap:wrap}.loss{display:inline-block;width:172px;margin:4px;overflow-wrap:anywhere;
font-size:11px;vertical-align:top}.loss img{width:160px;height:120px;object-fit:contain;
background:#eee}.bad{color:#b00}.good{color:#070}.note{color:#555;font-size:13px}
"""


def _e(x: object) -> str:
    return html.escape(str(x))


def _rate(num: int, den: int) -> str:
    """`0.875 (7/8) [0.53–0.98]`, or `– (0/0)` when there is nothing to measure."""
    if den == 0:
        return "– (0/0)"
    ci = binomtest(num, den).proportion_ci(method="wilson")
    return (f"{num / den:.3f} <span class=ci>({num}/{den}) "
            f"[{ci.low:.2f}–{ci.high:.2f}]</span>")


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode()
    return f'<img alt="chart" src="data:image/png;base64,{data}">'


def _thumb(heldout: HeldOut, i: int) -> str:
    try:
        rgb = Image.fromarray(heldout.image(i, max_side=THUMB_SIDE * 2))
    except OSError:
        return "<div>(image unreadable)</div>"
    rgb.thumbnail((THUMB_SIDE, THUMB_SIDE))
    buf = io.BytesIO()
    rgb.save(buf, format="JPEG", quality=80)
    return f'<img alt="" src="data:image/jpeg;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _figures_table(heldout: HeldOut, scores: Mapping[str, np.ndarray], threshold: float) -> str:
    y = heldout.is_bear
    masks = {"overall": np.ones(len(heldout), bool), **heldout.subsets()}
    head = "".join(f"<th colspan=3>{_e(v)}</th>" for v in scores)
    sub = "<th>recall</th><th>precision</th><th>false-alarm rate</th>" * len(scores)
    rows = []
    for name, mask in masks.items():
        cells = []
        for p in scores.values():
            s = Figures.of(y[mask], p[mask], threshold)
            cells += [_rate(s.tp, s.tp + s.fn), _rate(s.tp, s.tp + s.fp), _rate(s.fp, s.fp + s.tn)]
        rows.append(f"<tr><td class=l>{name} <span class=ci>({int(y[mask].sum())} bear / "
                    f"{int((~y[mask]).sum())} no bear)</span></td>"
                    + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return (f"<table><tr><th class=l rowspan=2>images</th>{head}</tr><tr>{sub}</tr>"
            + "".join(rows) + "</table>")


def _confusions(heldout: HeldOut, scores: Mapping[str, np.ndarray], threshold: float) -> str:
    parts = []
    for version, p in scores.items():
        s = Figures.of(heldout.is_bear, p, threshold)
        parts.append(
            f"<div><b>{_e(version)}</b><table><tr><th class=l>actual \\ predicted</th>"
            f"<th>bear</th><th>no bear</th></tr><tr><th class=l>bear</th><td class=good>{s.tp}"
            f"</td><td class=bad>{s.fn}</td></tr><tr><th class=l>no bear</th><td class=bad>"
            f"{s.fp}</td><td class=good>{s.tn}</td></tr></table></div>")
    return "<div class=cols>" + "".join(parts) + "</div>"


def _pr_chart(heldout: HeldOut, scores: Mapping[str, np.ndarray]) -> str:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for version, p in scores.items():
        for ax, (name, mask) in zip(axes, (("all images", np.ones(len(heldout), bool)),
                                            ("day", heldout.light == "day")), strict=True):
            c = pr_curve(heldout.is_bear[mask], p[mask])
            ax.step(c.recall, c.precision, where="post", label=version)
            ax.set_title(f"precision–recall, {name}")
    for ax in axes:
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left", fontsize=8)
    return _png(fig)


def _thresholds(heldout: HeldOut, scores: Mapping[str, np.ndarray]) -> str:
    y = heldout.is_bear
    rows = []
    for version, p in scores.items():
        for target in TARGET_RECALLS:
            point = threshold_for_recall(y, p, target)
            if point is None:
                rows.append(f"<tr><td class=l>{_e(version)}</td><td>{target:.0%}</td>"
                            "<td colspan=3>no bears held out</td></tr>")
                continue
            t = point.threshold
            s = Figures.of(y, p, t)
            rows.append(f"<tr><td class=l>{_e(version)}</td><td>{target:.0%}</td><td>{t:.4f}</td>"
                        f"<td>{_rate(s.tp, s.n_bear)}</td><td>{_rate(s.fp, s.n_no_bear)}</td></tr>")
    return ("<table><tr><th class=l>model</th><th>target recall</th><th>threshold</th>"
            "<th>recall</th><th>false-alarm rate</th></tr>" + "".join(rows) + "</table>")


def _equal_far(doc: HeldOutComparison) -> str:
    versions = [r.model_version for r in doc.reports]
    out = []
    for light, block in doc.recall_at_equal_false_alarm_rate.slices.items():
        rows = []
        for row in block.rows:
            cells = []
            for v in versions:
                r = row.by_model.get(v)
                cells.append("–" if r is None else
                             f"{_rate(r.tp, r.n_bear)} <span class=ci>at t={r.threshold}, "
                             f"FAR {r.fp}/{r.n_no_bear}</span>")
            rows.append(f"<tr><td>≤ {row.max_false_alarm_rate:.0%}</td>"
                        + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        out.append(f"<h3>{_e(light)} ({block.n_bear} bear / {block.n_no_bear} no bear)</h3>"
                   "<table><tr><th>false-alarm budget</th>"
                   + "".join(f"<th>recall of {_e(v)}</th>" for v in versions) + "</tr>"
                   + "".join(rows) + "</table>")
    return "".join(out)


def _top_losses(heldout: HeldOut, scores: Mapping[str, np.ndarray], version: str) -> str:
    p = scores[version]
    y = heldout.is_bear
    loss = np.where(y, 1 - p, p)
    cards = []
    for i in np.argsort(-loss, kind="stable")[:N_TOP_LOSSES]:
        others = " · ".join(f"{_e(v)}: {q[i]:.3f}" for v, q in scores.items())
        light = "infrared" if heldout.infrared[i] else heldout.light[i]
        cards.append(f"<div class=loss>{_thumb(heldout, i)}<br><b>{'bear' if y[i] else 'no bear'}"
                     f"</b> ({_e(light)}), loss {loss[i]:.3f}<br>{others}<br>"
                     f"<span class=ci>{_e(heldout.refs[i])}</span></div>")
    return "".join(cards)


def render_report(heldout: HeldOut, doc: HeldOutComparison, *,
                  title: str = "Bearwatch model evaluation") -> str:
    """The HTML page for a `bearwatch eval-report` comparison.

    Args:
        heldout: the images both models were scored on (for counts and thumbnails).
        doc: the candidate's and baseline's reports (each with `p_bear`, one per held-out
            image, in order) and recall at equal false-alarm rates.

    Raises:
        ValueError: a report holds scores of another number of images than `heldout`.
    """
    cand, base = doc.candidate, doc.baseline
    scores: dict[str, np.ndarray] = {
        r.model_version: np.asarray(r.p_bear, dtype=np.float64) for r in doc.reports}
    for v, p in scores.items():
        if p.shape != (len(heldout),):
            raise ValueError(f"report of {v} has {p.shape[0]} scores for {len(heldout)} "
                             "held-out images; score the same split")
    threshold = float(cand.threshold)
    split = "the labelled set" if doc.split is None else doc.split
    n_bear, n_no = int(heldout.is_bear.sum()), int((~heldout.is_bear).sum())
    return "".join([
        f"<!doctype html><html><head><meta charset=utf-8><title>{_e(title)}</title>",
        f"<style>{_CSS}</style></head><body><h1>{_e(title)}</h1>",
        f"<p>Model <b>{_e(cand.model_version)}</b>"
        + (f" against the model it would replace, <b>{_e(base.model_version)}</b>, on the same"
           if base else " on") +
        f" {len(heldout)} images ({n_bear} bear, {n_no} no bear; {_e(split)}). "
        f"Alert threshold {threshold}. Rates show (count) and [Wilson 95 % interval].</p>",
        "<h2>Precision, recall and false-alarm rate, overall and by light</h2>",
        _figures_table(heldout, scores, threshold),
        "<p class=note>night = the manifest's night (infrared included); infrared = greyscale "
        "images measured on the pixels, day or night.</p>",
        "<h2>Confusion matrices</h2>", _confusions(heldout, scores, threshold),
        "<h2>Precision–recall curves</h2>", _pr_chart(heldout, scores),
        "<h2>Threshold for a target recall</h2>", _thresholds(heldout, scores),
        "<h2>Recall at equal false-alarm rates</h2>",
        "<p class=note>Each model at its own threshold that keeps its false-alarm rate within "
        "the budget: fair to both whatever their score calibration.</p>", _equal_far(doc),
        f"<h2>Top losses of {_e(cand.model_version)}</h2>",
        _top_losses(heldout, scores, cand.model_version),
        *([f"<h2>Top losses of {_e(base.model_version)}</h2>",
           _top_losses(heldout, scores, base.model_version)] if base else []),
        "</body></html>",
    ])


def heldout_of(images: Sequence[LabelledImage]) -> HeldOut:
    """Scored images as a `HeldOut` (day/night from the labels, infrared measured)."""
    return HeldOut(refs=tuple(im.name for im in images), paths=tuple(im.path for im in images),
                   is_bear=np.array([im.is_bear for im in images], dtype=bool),
                   light=np.array([im.light for im in images]),
                   infrared=np.array([is_infrared_image(load_rgb(im.path, max_side=256))
                                      for im in images], dtype=bool))


def _proposals_section(proposals: Mapping[str, ProposalFigures]) -> str:
    """Whole image vs whole image + regions, per model: the trail-camera bears per frame, per
    sequence and by size, and the false alarms the regions add."""
    def cell(f: BearHits) -> str:
        return _rate(f.hits, f.n)

    rows = []
    for version, p in proposals.items():
        cam, cost = p.trail_camera_bears, p.false_alarm_cost
        lines = [("trail-camera bears, per frame", cell(cam.per_frame.whole),
                  cell(cam.per_frame.with_proposals)),
                 ("trail-camera bears, per sequence", cell(cam.per_sequence.whole),
                  cell(cam.per_sequence.with_proposals))]
        lines += [(f"bears {r.size}", cell(r.whole), cell(r.with_proposals))
                  for r in cam.by_bear_size]
        lines.append(("false alarms on no-bear images",
                      _rate(cost.false_alarms_whole, cost.n_no_bear),
                      _rate(cost.false_alarms_with_proposals, cost.n_no_bear)))
        rows += [f"<tr><td class=l>{_e(version)}</td><td class=l>{_e(what)}</td><td>{a}</td>"
                 f"<td>{b}</td></tr>" for what, a, b in lines]
        rows.append(f"<tr><td class=l>{_e(version)}</td><td class=l>regions per image; s per "
                    f"image</td><td></td><td>{round(p.regions_per_image, 1)}; "
                    f"{round(p.seconds_per_image, 3)}</td></tr>")
    return ("<h2>Region proposals: small, far bears</h2><p class=note>Each image scored as the "
            "detector scores a camera-trap still: p_bear is the highest of the whole image and "
            "its tiles. Recall is at the alert threshold; the figures above already use the "
            "proposals' scores.</p><table><tr><th class=l>model</th><th class=l>what</th>"
            "<th>whole image</th><th>with proposals</th></tr>" + "".join(rows) + "</table>")


def render_eval(report: EvalReport, baseline: EvalReport | None = None, *,
                proposals: Mapping[str, ProposalFigures] | None = None) -> str:
    """The HTML page for `bearwatch eval … --html`: one model's report, or two scored on the
    same images side by side (`baseline` = the model it would replace); with `proposals`
    (model version → its `ProposalFigures`), a section on region proposals.

    Raises:
        ValueError: the two reports are not of the same images.
    """
    images = report.images
    if baseline is not None and [im.path for im in baseline.images] != [im.path for im in images]:
        raise ValueError(f"{baseline.model_version} was scored on other images than "
                         f"{report.model_version}; evaluate both on the same set")
    heldout = heldout_of(images)
    def scored(r: EvalReport) -> ModelReport:
        return model_report(heldout, np.asarray(r.scores, dtype=np.float64),
                            version=r.model_version, threshold=report.threshold)

    doc = HeldOutComparison(split=None, candidate=scored(report),
                            baseline=None if baseline is None else scored(baseline),
                            recall_at_equal_false_alarm_rate=recall_at_equal_false_alarms(
                                heldout, {r.model_version: np.asarray(r.scores, dtype=np.float64)
                                          for r in (report, baseline) if r is not None}))
    page = render_report(heldout, doc)
    if proposals:
        page = page.replace("</body></html>", _proposals_section(proposals) + "</body></html>")
    return page
