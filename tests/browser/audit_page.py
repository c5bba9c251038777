"""Renders an nbguard audit HTML page in headless Chromium (Selenium, local chromedriver) and
checks what a reader relies on: nothing wider than a 1400 px window, and the filters.

Usage: audit_page.py PAGE.html SCREENSHOT.png
Prints one JSON object with what it measured; exits non-zero if a check fails.
"""

import json
import os
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

WIDTH = 1400


def driver(profile):
    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("NBGUARD_TEST_CHROMIUM", "/usr/bin/chromium")
    for arg in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        f"--window-size={WIDTH},1000",
    ]:
        opts.add_argument(arg)
    service = Service(os.environ.get("NBGUARD_TEST_CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=opts)


def visible_rows(d):
    return [
        r
        for r in d.find_elements(By.CSS_SELECTOR, "#findings tbody tr")
        if r.value_of_css_property("display") != "none"
    ]


WIDEST = """
var w = window.innerWidth, worst = null, widest = 0;
document.querySelectorAll('body *').forEach(function (e) {
  var r = e.getBoundingClientRect();
  if (r.width === 0 && r.height === 0) return;
  if (r.right > widest) { widest = r.right; worst = e.tagName + '.' + e.className + ': ' + (e.textContent || '').slice(0, 80); }
});
return {inner: w, scroll: document.documentElement.scrollWidth, widest: widest, worst: worst};
"""


def main():
    page, shot = sys.argv[1], sys.argv[2]
    out = {}
    with tempfile.TemporaryDirectory() as profile:
        d = driver(profile)
        try:
            d.get("file://" + os.path.abspath(page))
            out["width"] = d.execute_script(WIDEST)
            out["headline"] = d.find_element(By.ID, "headline").text
            out["rows"] = len(visible_rows(d))
            form = d.find_element(By.ID, "filters")

            def pick(name, value):
                Select(form.find_element(By.NAME, name)).select_by_value(value)
                return len(visible_rows(d))

            def options(name):
                sel = Select(form.find_element(By.NAME, name))
                return [o.get_attribute("value") for o in sel.options if o.get_attribute("value")]

            out["by_severity"] = {s: pick("severity", s) for s in options("severity")}
            pick("severity", "")
            out["by_kind"] = {k: pick("kind", k) for k in options("kind")}
            pick("kind", "")
            out["by_rule"] = {r: pick("rule", r) for r in options("rule")}
            pick("rule", "")
            out["by_author"] = {a: pick("author", a) for a in options("author")}
            pick("author", "")
            path = form.find_element(By.NAME, "path")
            path.send_keys("scripts/")
            out["path_scripts"] = len(visible_rows(d))
            out["shown_text"] = d.find_element(By.ID, "shown").text
            path.clear()
            path.send_keys("x")
            path.clear()
            d.execute_script("document.querySelector('#filters [name=path]').dispatchEvent(new Event('input'))")
            out["rows_after_clear"] = len(visible_rows(d))
            # Unfold every folded list: still nothing wider than the window.
            d.execute_script("document.querySelectorAll('details').forEach(function(e){e.open=true})")
            out["width_unfolded"] = d.execute_script(WIDEST)
            d.execute_script("document.querySelectorAll('details').forEach(function(e){e.open=false})")
            d.set_window_size(WIDTH, 1000)
            total = d.execute_script("return document.body.scrollHeight")
            d.set_window_size(WIDTH, min(max(total, 1000), 6000))
            d.save_screenshot(shot)
        finally:
            d.quit()
    print(json.dumps(out))
    fails = []
    for key in ["width", "width_unfolded"]:
        w = out[key]
        if w["scroll"] > w["inner"] or w["widest"] > w["inner"] + 0.5:
            fails.append(f"{key}: wider than the window: {w}")
    if fails:
        sys.stderr.write("\n".join(fails) + "\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
