"""The canvas benchmark page works (benchmarks/canvas_draw.py drives it for the figures; timings are
not asserted here): it draws 300 labelled boxes per frame with the tool's canvas layer and reports
per-frame draw times."""

from playwright.sync_api import expect


def test_bench_page_draws_300_boxes_and_reports(server, signed_in):
    page = signed_in("admin")
    page.goto(f"{server.url}/bench/canvas/?boxes=300&frames=20")
    expect(page.get_by_test_id("bench")).to_have_attribute("data-state", "done", timeout=60_000)
    result = page.evaluate("() => window.benchResult")
    assert result["boxes"] == 300 and result["frames"] == 20
    assert 0 <= result["median"] <= result["p95"] <= result["max"]
    assert result["with_raster"]["median"] >= result["median"]
    expect(page.get_by_test_id("bench-result")).to_contain_text("p95")
    # The boxes really were drawn: many pixels of the figure layer carry the labels' colours.
    painted = page.evaluate(
        """() => { const c = window.benchView.canvas; const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n / (c.width * c.height); }"""
    )
    assert painted > 0.02, painted
