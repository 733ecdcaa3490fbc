"""The lineage of an output as an SVG picture: columns from rights on the left to the signed
output on the right, one box per record, red where a right was revoked.

Hand-written SVG (no drawing library): every piece of text goes through ``_text``, which
escapes it for XML and drops characters XML cannot carry, so a title or reason typed by
a user can never inject markup. Takes the value ``lineage.lineage`` returns; no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

BOX_W, BOX_H, GAP_Y, GAP_X = 210, 66, 22, 40
TOP, LEFT = 96, 24
#: training-set licences drawn before the rest are summed up in one box
MAX_LICENCES = 6
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

STYLES = {
    "ok": ("#e8f4ea", "#2e7d32"),
    "revoked": ("#fdecea", "#c62828"),
    "neutral": ("#eef2f7", "#455a64"),
    "output": ("#e3f2fd", "#1565c0"),
}
COLUMNS = ("Rights", "Inputs", "Model", "Request", "Decision", "Approval", "Signed output")


def _text(value: Any, limit: int = 34) -> str:
    text = _NOT_XML.sub("", str(value if value is not None else "-"))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return escape(text, {'"': "&quot;", "'": "&apos;"})


@dataclass
class Box:
    key: str
    column: int
    lines: list[str]
    style: str = "neutral"
    y: float = 0.0
    links: list[str] = field(default_factory=list)  # keys of boxes this one feeds

    @property
    def x(self) -> float:
        return LEFT + self.column * (BOX_W + GAP_X)


def _boxes(data: dict[str, Any]) -> list[Box]:
    boxes: list[Box] = []
    seen_licences: dict[str, Box] = {}

    def licence_box(lic: dict[str, Any], feeds: str) -> None:
        box = seen_licences.get(lic["ref"])
        if box is None:
            style = "revoked" if lic.get("takedown") else "ok"
            status = "TAKEN DOWN" if lic.get("takedown") else "in force"
            box = Box(f"licence:{lic['ref']}", 0, [f"Licence {lic['ref']}", lic.get("licensor") or "", status], style)
            seen_licences[lic["ref"]] = box
            boxes.append(box)
        box.links.append(feeds)

    for i, ref in enumerate(data.get("references") or []):
        key = f"reference:{i}"
        who = ", ".join(ref.get("people") or []) or "no people"
        boxes.append(Box(key, 1, [f"Reference: {ref.get('title') or '?'}", f"sha256 {ref['sha256'][:16]}", who],
                         links=["request"]))
        if ref.get("licence"):
            licence_box(ref["licence"], key)
    ts = data.get("training_set")
    if ts:
        boxes.append(Box("training_set", 1, [f"Training set {ts['name']}", f"{ts['size']} assets",
                                             f"root {ts['merkle_root'][:16]}"], links=["model"]))
        licences = ts.get("licences") or []
        for lic in licences[:MAX_LICENCES]:
            licence_box(lic, "training_set")
        if len(licences) > MAX_LICENCES:
            rest = licences[MAX_LICENCES:]
            style = "revoked" if any(lic.get("takedown") for lic in rest) else "ok"
            boxes.append(Box("licences:more", 0, [f"+{len(rest)} more licences",
                                                  f"{sum(lic.get('assets', 0) for lic in rest)} assets",
                                                  "see the JSON lineage"], style, links=["training_set"]))
    for consent in data.get("consents") or []:
        revoked = consent.get("revoked")
        boxes.append(Box(f"consent:{consent['id']}", 0,
                         [f"Consent #{consent['id']}", consent.get("person") or "",
                          "REVOKED" if revoked else "in force"],
                         "revoked" if revoked else "ok", links=["request"]))
    model = data.get("model") or {}
    flagged = model.get("needs_retirement_review")
    weights = f"weights {str(model.get('weights_hash', ''))[:14]}"
    boxes.append(Box("model", 2, [f"Model {model.get('ref', '?')}", f"status {model.get('status', '?')}",
                                  "retirement review" if flagged else weights],
                     "revoked" if flagged or model.get("status") == "retired" else "neutral", links=["request"]))
    request = data.get("request") or {}
    boxes.append(Box("request", 3, [f"Request #{request.get('id', '?')}",
                                    f"{request.get('production', '?')} / {request.get('use', '?')}",
                                    f"prompt sha256 {str(request.get('prompt_sha256', ''))[:12]}"], links=["decision"]))
    decision = data.get("decision") or {}
    policy = decision.get("policy") or {}
    approval = data.get("approval")
    boxes.append(Box("decision", 4, [f"Decision #{decision.get('id', '?')}: {decision.get('outcome', '?')}",
                                     f"policy v{policy.get('version', '?')}",
                                     f"sha256 {str(policy.get('sha256', ''))[:14]}"],
                     links=["approval" if approval else "output"]))
    if approval:
        boxes.append(Box("approval", 5, [f"Approved by {approval.get('approver')}", str(approval.get("verdict")),
                                         str(approval.get("at", ""))[:19]], links=["output"]))
    output = data.get("output") or {}
    standing = data.get("standing") or {}
    good = standing.get("in_good_standing", True)
    boxes.append(Box("output", 6, [f"Output {str(output.get('sha256', ''))[:16]}",
                                   str(output.get("signed_at", ""))[:19],
                                   "in good standing" if good else "NOT in good standing"],
                     "output" if good else "revoked"))
    return boxes


def _place(boxes: list[Box]) -> float:
    """Stack each column's boxes, centred on the tallest column; returns the picture's height."""
    columns: dict[int, list[Box]] = {}
    for box in boxes:
        columns.setdefault(box.column, []).append(box)
    tallest = max(len(c) for c in columns.values())
    span = tallest * (BOX_H + GAP_Y)
    for column in columns.values():
        offset = TOP + (span - len(column) * (BOX_H + GAP_Y)) / 2
        for i, box in enumerate(column):
            box.y = offset + i * (BOX_H + GAP_Y)
    return TOP + span + 60


def _box_svg(box: Box) -> str:
    fill, stroke = STYLES[box.style]
    lines = [(f'<rect x="{box.x:.0f}" y="{box.y:.0f}" width="{BOX_W}" height="{BOX_H}" rx="8" '
              f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>')]
    for i, line in enumerate(box.lines[:3]):
        weight = ' font-weight="bold"' if i == 0 else ""
        colour = stroke if i == 2 and box.style == "revoked" else "#222"
        lines.append(f'<text x="{box.x + 10:.0f}" y="{box.y + 20 + i * 18:.0f}" fill="{colour}"{weight}>'
                     f'{_text(line)}</text>')
    return "\n".join(lines)


def _edge_svg(source: Box, target: Box) -> str:
    x1, y1 = source.x + BOX_W, source.y + BOX_H / 2
    x2, y2 = target.x, target.y + BOX_H / 2
    mid = (x1 + x2) / 2
    return (f'<path d="M{x1:.0f},{y1:.0f} C{mid:.0f},{y1:.0f} {mid:.0f},{y2:.0f} {x2 - 6:.0f},{y2:.0f}" '
            f'fill="none" stroke="#90a4ae" stroke-width="1.5" marker-end="url(#arrow)"/>')


def lineage_svg(data: dict[str, Any]) -> str:
    """The picture of one output's lineage (``lineage.lineage``'s value) as an SVG document."""
    boxes = _boxes(data)
    height = _place(boxes)
    width = LEFT * 2 + len(COLUMNS) * BOX_W + (len(COLUMNS) - 1) * GAP_X
    by_key = {b.key: b for b in boxes}
    output = data.get("output") or {}
    standing = data.get("standing") or {}
    good = standing.get("in_good_standing", True)
    reasons = standing.get("revoked_rights") or ([standing.get("ledger", {}).get("reason")] if not good else [])
    banner = "In good standing" if good else "NOT in good standing: " + "; ".join(r for r in reasons if r)
    parts = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0f}" '
         f'viewBox="0 0 {width} {height:.0f}" font-family="Helvetica, Arial, sans-serif" font-size="12">'),
        f"<title>{_text('Lineage of output ' + str(output.get('sha256', '')), 120)}</title>",
        ('<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
         'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#90a4ae"/></marker></defs>'),
        f'<rect width="{width}" height="{height:.0f}" fill="#ffffff"/>',
        (f'<text x="{LEFT}" y="30" font-size="18" font-weight="bold">'
         f'{_text("Lineage of output " + str(output.get("sha256", ""))[:16], 80)}</text>'),
        f'<text x="{LEFT}" y="52" fill="{STYLES["ok" if good else "revoked"][1]}">{_text(banner, 160)}</text>',
    ]
    for i, name in enumerate(COLUMNS):
        parts.append(f'<text x="{LEFT + i * (BOX_W + GAP_X) + 10}" y="{TOP - 14}" fill="#607d8b" '
                     f'font-weight="bold">{_text(name)}</text>')
    for box in boxes:
        for key in box.links:
            if key in by_key:
                parts.append(_edge_svg(box, by_key[key]))
    parts += [_box_svg(box) for box in boxes]
    legend = "green: in force; red: revoked, taken down or under review; the prompt is shown only as its SHA-256"
    parts.append(f'<text x="{LEFT}" y="{height - 20:.0f}" fill="#607d8b">{_text(legend, 140)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


__all__ = ["lineage_svg"]
