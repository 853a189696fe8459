"""The dashboard's inline SVG charts (pure): well-formed, scaled to the data, text escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from app.console import charts

NS = "{http://www.w3.org/2000/svg}"


def parse(svg) -> ET.Element:
    return ET.fromstring(str(svg).replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))


def test_stacked_bars_stack_each_day_to_its_total_and_scale_to_a_round_axis():
    svg = parse(charts.stacked_bars(["2026-01-01", "2026-01-02"], {"faq": [3, 0], "rag": [1, 6]}, "per day"))
    rects = svg.findall(f"{NS}rect")
    assert len(rects) == 3  # a zero is not drawn
    heights = [float(r.get("height")) for r in rects]
    # axis top is 8 (four steps of 2 at or above 6): day 2's bar is 6/8 of the plot height
    span = charts.H - charts.PAD_T - charts.PAD_B
    assert abs(heights[2] - span * 6 / 8) < 0.2 and abs(heights[0] + heights[1] - span * 4 / 8) < 0.2
    assert [t.text for t in svg.iter(f"{NS}text")][-2:] == ["01-01", "01-02"]


def test_lines_break_on_a_day_without_data_and_escape_labels():
    svg = parse(
        charts.lines(["2026-01-01", "2026-01-02", "2026-01-03"], {"p50": [10, None, 30]}, "<lat>", unit="ms")
    )
    assert len(svg.findall(f"{NS}polyline")) == 2 and len(svg.findall(f"{NS}circle")) == 2
    assert svg.find(f"{NS}title").text == "<lat>"  # escaped in the markup, intact once parsed


def test_share_bar_splits_by_share():
    svg = parse(charts.share_bar({"faq": 3, "rag": 1, "no_answer": 0}, "mix"))
    widths = [float(r.get("width")) for r in svg.findall(f"{NS}rect")]
    assert widths == [480.0, 160.0]


def test_nice_axis_tops():
    assert [charts._nice_max(v) for v in (0, 3, 5, 7, 41, 1000)] == [4.0, 4.0, 8.0, 8.0, 80.0, 1000.0]
