"""The report in a real browser: headless Debian chromium, driven by Playwright (which downloads no browser).

Every image must load, the console must stay free of errors, the page must ask for nothing outside itself,
and the sample slider must switch pictures. The screenshot is kept as .test-artifacts/report.png.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ganforge.report import write_report

from .test_report import tiny_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / ".test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser():
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (scripts/setup.sh installs Debian's chromium when run as root)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install "
                                   "'ganforge[test]')")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


def test_report_renders_in_chromium(browser, tiny_images, tmp_path):
    report = write_report(tiny_run(tiny_images, tmp_path))
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems, outside = [], []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith(("data:", report.as_uri())) else None)
    page.goto(report.as_uri(), wait_until="load")
    images = page.evaluate("Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0])")
    assert len(images) >= 5
    assert [alt for alt, loaded in images if not loaded] == []
    # the slider shows one snapshot at a time and moves to the one asked for
    shown = "Array.from(document.querySelectorAll('.slider figure')).map(f => f.offsetParent !== null)"
    assert page.evaluate(shown) == [False, True]
    page.eval_on_selector(".slider input", "e => { e.value = 0; e.dispatchEvent(new Event('input')); }")
    assert page.evaluate(shown) == [True, False]
    screenshot = tmp_path / "report.png"
    page.screenshot(path=str(screenshot), full_page=True)
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(screenshot, ARTIFACTS / "report.png")
    assert problems == [] and outside == []
