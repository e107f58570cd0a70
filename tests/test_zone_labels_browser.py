"""On the Zones page, as Chromium draws it, no zone number covers a flag and none is covered,
and flags that crowd are merged into one mark that counts them.

A laptop screenshot of the Zones page showed zone numbers on top of the "!" and "?" marks of
flagged areas (the number sat at the zone's representative point, the flag at its area's). Here
the real app opens the Zones page at a desktop (1440x900), a laptop (1366x768) and a phone
(390x844) size, builds the suggested zones, waits for the map to settle on its fitted view, and
compares the boxes of every zone number with those of every flag mark. The page has no tabs; the
map is checked fitted to the authority (not at the world zoom of a frame drawn while hidden)
before any box is read. Screenshots of the map go to tests/screenshots/ (git-ignored).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit_server import CHROMIUM, settle, shown_maps
from test_app_browser import check_map

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "tests" / "screenshots"
SIZES = {"desktop": (1440, 900), "laptop": (1366, 768), "phone": (390, 844)}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium"),
]

#: Every mark on the map with its box (page pixels of the frame), and whether a zone number is
#: the top element at its own centre (nothing drawn over it).
MARKS = """() => {
    // Marks catch no clicks (pointer-events: none), which hit testing skips: let them, to see
    // what is drawn on top at a number's centre, then put it back.
    const style = document.createElement('style');
    style.textContent = '.needmap-mark-icon, .needmap-mark {pointer-events: auto !important}';
    document.head.appendChild(style);
    try {
        return Array.from(document.querySelectorAll('.needmap-mark')).map(el => {
            const r = el.getBoundingClientRect(), label = el.getAttribute('aria-label') || '';
            const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            const more = el.querySelector('.needmap-more');
            return {label: label, kind: el.dataset.kind,
                    box: [r.left, r.top, r.right, r.bottom], visible: r.width > 0 && r.height > 0,
                    hidden: getComputedStyle(el).visibility === 'hidden',
                    more: more ? Number(more.textContent.slice(1)) : 0,
                    onTop: !!top && (top === el || el.contains(top))};
        });
    } finally {
        style.remove();
    }
}"""


def _meet(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("size", list(SIZES))
def test_no_zone_number_covers_a_flag_on_the_zones_map(app, browser, size):
    url, snapshot = app
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    try:
        page.goto(f"{url}/zones")
        settle(page)
        page.get_by_role("button", name="Build zones").click()
        settle(page)
        maps = shown_maps(page)
        assert len(maps) == 1, "the Zones page draws one map"
        handle, frame = maps[0]
        west, south, east, north = snapshot.ward.to_crs(4326).total_bounds
        check_map(handle, frame, n=len(snapshot.lsoa), bounds=[south, west, north, east])
        SHOTS.mkdir(exist_ok=True)
        handle.screenshot(path=SHOTS / f"{size}_zones_labels.png")
        marks = frame.evaluate(MARKS)
        zones = [m for m in marks if m["kind"] == "zone"]
        flags = [m for m in marks if m["kind"] == "flag"]
        assert len(zones) >= 2 and flags, marks  # the demo has flagged areas in several zones
        assert all(m["visible"] for m in zones + flags)
        meets = [(z["label"], f["label"]) for z in zones for f in flags
                 if _meet(z["box"], f["box"])]
        assert not meets, f"at {width}x{height}, zone numbers on flags: {meets}"
        hidden = [z["label"] for z in zones if not z["onTop"]]
        assert not hidden, f"at {width}x{height}, something is drawn over {hidden}"
    finally:
        page.close()


def _flags(frame) -> tuple[list, list]:
    flags = [m for m in frame.evaluate(MARKS) if m["kind"] == "flag"]
    return [m for m in flags if not m["hidden"]], [m for m in flags if m["hidden"]]


def test_crowded_flags_merge_into_one_mark_that_counts_them_until_a_zoom_parts_them(
    app, browser
):
    # The demo's flags in Oldham's dense west overlapped each other (9 pairs of flag boxes met
    # on a phone, 7 at 1440x900); each shown flag now stands clear and counts those it hides.
    url, _ = app
    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        page.goto(f"{url}/zones")
        settle(page)
        page.get_by_role("button", name="Build zones").click()
        settle(page)
        handle, frame = shown_maps(page)[0]
        check_map(handle, frame)
        shown, hidden = _flags(frame)
        meets = [(a["label"], b["label"]) for i, a in enumerate(shown) for b in shown[i + 1:]
                 if _meet(a["box"], b["box"])]
        assert not meets, f"flags over flags on a phone: {meets}"
        assert hidden, "the demo's flags crowd on a phone: some should be merged"
        assert sum(m["more"] for m in shown) == len(hidden)
        for m in hidden:  # each hidden flag is named by the mark that stands for it
            hosts = [h for h in shown if h["more"] and m["label"] in h["label"]]
            assert len(hosts) == 1, (m["label"], [h["label"] for h in shown])
            assert _meet(hosts[0]["box"], m["box"])
        assert all("zoom in" in h["label"] for h in shown if h["more"])
        SHOTS.mkdir(exist_ok=True)
        handle.screenshot(path=SHOTS / "phone_zones_flags_merged.png")
        # Zoomed in far enough, every flag has room of its own again.
        for _ in range(4):  # as a person does (a zoom made by code is fitted back)
            frame.locator(".leaflet-control-zoom-in").click()
            page.wait_for_timeout(400)
        shown_in, hidden_in = _flags(frame)
        assert len(hidden_in) < len(hidden)
        assert sum(m["more"] for m in shown_in) == len(hidden_in)
        assert not [(a["label"], b["label"]) for i, a in enumerate(shown_in)
                    for b in shown_in[i + 1:] if _meet(a["box"], b["box"])]
    finally:
        page.close()
