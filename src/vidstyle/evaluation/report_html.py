"""The self-contained HTML report: summary and dataset tables, per-metric charts, and per video a frame strip,
its metrics and per-frame curves. Images are inline PNG data, charts inline SVG: one file, no network."""

from __future__ import annotations

import base64
from html import escape

from vidstyle.evaluation.svg import bar_chart, line_chart

STYLE = """body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}th{background:#f3f3f3}
.num{text-align:right;font-variant-numeric:tabular-nums}section{margin:24px 0}.small{color:#666;font-size:12px}
.charts svg{margin:4px 12px 4px 0;vertical-align:top}"""


def _num(value: float) -> str:
    return f"{value:.4f}"


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td class="{"num" if i else ""}">{escape(c)}</td>' for i, c in enumerate(r))
                   + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render_html(report: dict, strips: dict[str, bytes]) -> str:
    """The report dict of :func:`vidstyle.evaluation.run.evaluate` and its frame strips -> one HTML page."""
    definitions = report.get("definitions", {})
    out = ["<!doctype html><html><head><meta charset='utf-8'><title>vidstyle evaluation</title>",
           f"<style>{STYLE}</style></head><body><h1>vidstyle evaluation</h1>",
           f"<p class='small'>{escape(report['created'])} · predictions <code>{escape(report['predictions'])}"
           f"</code> · dataset <code>{escape(report['dataset_folder'])}</code> · "
           f"{len(report['videos'])} video(s)</p>"]
    summary = [(k, _num(v), definitions.get(k, "")) for k, v in report["summary"].items()]
    out.append("<section><h2>Summary (mean over videos)</h2>" + _table(summary, ("metric", "mean", "definition")))
    if report["dataset"]:
        rows = [(k, _num(v), definitions.get(k, "")) for k, v in report["dataset"].items()]
        out.append("<h2>Dataset metrics</h2>" + _table(rows, ("metric", "value", "definition")))
    out.append("</section>")
    if len(report["videos"]) > 1:
        out.append("<section><h2>Per video</h2><div class='charts'>")
        for key in report["summary"]:
            pairs = [(v["id"], v["metrics"][key]) for v in report["videos"] if key in v["metrics"]]
            out.append(bar_chart(key, [p[0] for p in pairs], [p[1] for p in pairs]))
        out.append("</div></section>")
    for video in report["videos"]:
        out.append(f"<section><h2>{escape(video['id'])}</h2><p class='small'>{escape(video['prediction'])} · "
                   f"{video['frames']} frames · {video['width']}x{video['height']} · {video['fps']:.3g} fps · "
                   f"style {escape(video['style_id'])}</p>")
        if video["id"] in strips:
            data = base64.b64encode(strips[video["id"]]).decode("ascii")
            out.append(f"<img alt='frames of {escape(video['id'])}' src='data:image/png;base64,{data}'>")
        out.append(_table([(k, _num(v)) for k, v in video["metrics"].items()], ("metric", "value")))
        charts = []
        change = {k: v for k, v in video["series"].items() if k in ("frame_change", "raw_frame_change")}
        if change:
            charts.append(line_chart("mean |frame - previous frame|", change))
        if "lpips_content" in video["series"]:
            charts.append(line_chart("LPIPS to the input per frame", {"lpips": video["series"]["lpips_content"]}))
        out.append(f"<div class='charts'>{''.join(charts)}</div></section>")
    if report["skipped"] or report["missing"]:
        out.append("<section><h2>Not computed</h2>")
        if report["missing"]:
            out.append(f"<p>No prediction for: {escape(', '.join(report['missing']))}</p>")
        out.append(_table(sorted(report["skipped"].items()), ("metric", "why")) + "</section>")
    encoders = sorted(report["encoders"].items())
    out.append("<section><h2>Encoders</h2>" + _table(encoders, ("encoder", "loaded from")) + "</section>")
    out.append("</body></html>")
    return "\n".join(out)
