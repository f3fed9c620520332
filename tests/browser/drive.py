"""Headless Chromium (Debian's, through its chromedriver) driven for the dashboard's end-to-end test.

  drive.py audit URL...             axe-core (as bundled by axe-selenium-python) on each page: JSON of violations
  drive.py live URL SERVICE STATE   prints "loaded"; then, with the page left open, the seconds until the tile
                                    of SERVICE says STATE (updated by the page's own script), then the seconds
                                    from the page noticing its stream broke to its stream being back
  drive.py peak URL                 the highest value the first chart's lines and bands reach as Chromium laid
                                    them out (read off the drawn geometry against the chart's own axis), and the
                                    chart's sentence: JSON
"""
import json
import sys
import time

from axe_selenium_python import Axe
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By


def browser():
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"]:
        options.add_argument(arg)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def holds(test):
    # The page's script swaps <main> whole: an element found a moment ago may be gone by the next call.
    try:
        return test()
    except (NoSuchElementException, StaleElementReferenceException):
        return False


def wait(driver, what, test, timeout):
    started = time.monotonic()
    while not holds(test):
        if time.monotonic() - started > timeout:
            raise SystemExit(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)
    return time.monotonic() - started


def audit(urls):
    driver = browser()
    found = {}
    for url in urls:
        driver.get(url)
        axe = Axe(driver)
        axe.inject()
        result = axe.run()
        found[url] = [
            {"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["html"][:160] for n in v["nodes"][:3]]}
            for v in result["violations"]
        ]
    driver.quit()
    print(json.dumps(found))


def live(url, service, state):
    driver = browser()
    driver.get(url)
    status = lambda: driver.find_element(By.ID, "live").text
    wait(driver, "the live stream", lambda: status().startswith("Live"), 10)
    print("loaded", flush=True)
    tile = lambda: driver.find_element(By.CSS_SELECTOR, f'[data-service="{service}"]').get_attribute("data-condition")
    turned = wait(driver, f"{service} to say {state}", lambda: tile() == state, 30)
    print(json.dumps({"turned": turned}), flush=True)
    broke = wait(driver, "the stream to break", lambda: "reconnecting" in status(), 60)
    back = wait(driver, "the stream to come back", lambda: status() == "Live" or status().startswith("Live: updated"), 30)
    print(json.dumps({"broke": broke, "back": back}), flush=True)
    driver.quit()


# The drawn top of every line and band of the first chart, and its axis: the grid lines at 0 and at the top
# value, whose label says that value (e.g. "100.0 %").
PEAK = """
const figure = document.querySelector('figure.chart');
const svg = figure.querySelector('svg');
let drawnTop = Infinity;
for (const p of svg.querySelectorAll('path.line, path.band')) {
  const box = p.getBBox();
  if (box.width > 0 || box.height > 0) drawnTop = Math.min(drawnTop, box.y);
}
const grid = [...svg.querySelectorAll('line.grid')].map(l => l.y1.baseVal.value);
const labels = [...svg.querySelectorAll('text.axis')].map(t => t.textContent);
return {drawnTop, zeroY: Math.max(...grid), topY: Math.min(...grid), topLabel: labels[2],
        sentence: figure.querySelector('p.summary').textContent};
"""


def peak(url):
    driver = browser()
    driver.get(url)
    found = driver.execute_script(PEAK)
    driver.quit()
    top_value = float(found["topLabel"].split()[0].replace(",", ""))
    span = found["zeroY"] - found["topY"]
    found["peak"] = top_value * (found["zeroY"] - found["drawnTop"]) / span if span > 0 else None
    print(json.dumps(found))


if __name__ == "__main__":
    if sys.argv[1] == "audit":
        audit(sys.argv[2:])
    elif sys.argv[1] == "peak":
        peak(sys.argv[2])
    else:
        live(*sys.argv[2:5])
