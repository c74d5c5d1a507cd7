"""Drives the dashboard in headless Chromium (selenium and Debian's chromium
and chromium-driver, installed by scripts/setup) against a running server,
and checks that what the page shows equals what the API says, and that its
actions take effect. DashboardBrowserTests runs it; by hand:

    .venv/bin/python Tests/Support/dashboard_check.py URL ADMIN_KEY READ_ONLY_KEY EXPERIMENT SCREENSHOT_DIR

Exits 0 when every check holds; otherwise prints each failed check and
exits 1. Screenshots of each page go to SCREENSHOT_DIR.
"""
import json
import sys
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

url, admin_key, reader_key, experiment, shots = sys.argv[1:6]
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)


def api(path, key=admin_key, method="GET", body=None):
    request = urllib.request.Request(url + path, method=method, headers={"Authorization": "Bearer " + key},
                                     data=None if body is None else json.dumps(body).encode())
    return json.loads(urllib.request.urlopen(request, timeout=30).read())


options = webdriver.ChromeOptions()
for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000", "--disable-gpu"]:
    options.add_argument(argument)
options.binary_location = "/usr/bin/chromium"
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path="/usr/bin/chromedriver"), options=options)
wait = WebDriverWait(driver, 20)


def console_errors():
    """The console's errors since the last call (network failures apart)."""
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def shot(name):
    driver.save_screenshot(f"{shots}/{name}.png")


def find(selector):
    return wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, selector)))


def value(element):
    text = element.get_attribute("data-value")
    return None if text in (None, "") else float(text)


def data_value(selector):
    """A cell's exact value, read in one step (the list re-renders itself)."""
    find(selector)
    text = driver.execute_script("const e = document.querySelector(arguments[0]); return e ? e.getAttribute('data-value') : null", selector)
    return None if text in (None, "") else float(text)


def go(hash):
    """Another page of the dashboard, as a click on a link goes there."""
    driver.execute_script("location.hash = arguments[0]", hash)


def sign_in(key):
    box = find("#api-key")
    box.clear()
    box.send_keys(key)
    find("#sign-in-button").click()


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b)))


try:
    # Sign-in: a wrong key gets an error, never a blank page.
    driver.get(url + "/dashboard")
    find("#sign-in")
    shot("sign-in")
    sign_in("arb_0_wrong")
    error = find("[data-testid=error]")
    check("not valid" in error.text, f"a wrong key is told so: {error.text!r}")
    check(find("#sign-in").is_displayed(), "the sign-in form stays")
    # The one error expected so far: the refused request itself (401).
    refused = console_errors()
    check(all("401" in entry["message"] for entry in refused), f"only the 401 of the wrong key in the console: {refused}")

    # The experiment list, against the API.
    sign_in(admin_key)
    find("#experiments")
    shot("experiments")
    check(console_errors() == [], "no console errors on the experiment list")
    check("sessionStorage" and driver.execute_script("return sessionStorage.getItem('arbiter-key')") == admin_key,
          "the key is kept in sessionStorage")
    check(driver.get_cookies() == [], "no cookie is set")
    check(admin_key not in driver.current_url, "the key is not in the URL")
    arms = api("/api/learning/agents/performance?limit=50")["agents"]
    # (Each cell found afresh: the list refreshes itself every 5 s.)
    row = f'tr[data-experiment="{experiment}"]'
    decisions = sum(a["decisions"] for a in arms if a["task_type"] == experiment)
    feedback = sum(a["feedback_count"] for a in arms if a["task_type"] == experiment)
    check(data_value(row + ' [data-field="decisions"]') == decisions, f"decisions on the list = API's {decisions}")
    check(data_value(row + ' [data-field="feedback"]') == feedback, f"feedback on the list = API's {feedback}")
    best = max((a for a in arms if a["task_type"] == experiment and a["mean_reward"] is not None), key=lambda a: a["mean_reward"])
    leader = driver.execute_script("return document.querySelector(arguments[0]).textContent", row + ' [data-field="leader"]')
    check(leader == best["agent"], f"leading arm = API's {best['agent']}")

    # Rates per second: 50 decisions now show at a refresh (every 5 s) as
    # 50 over the time since the one before.
    api(f"/v1/experiments/{experiment}/decide", method="POST", body={"requests": [{}] * 50})
    selector = f'tr[data-experiment="{experiment}"] [data-field="decisions_per_second"]'
    WebDriverWait(driver, 20).until(lambda d: (data_value(selector) or 0) > 0)
    rate = data_value(selector)
    check(0 < rate <= 50 / 4, f"50 decisions between two refreshes 5 s apart: {rate} per second")

    # Search narrows the list.
    search = find('#search input[name="q"]')
    search.send_keys(experiment[:4])
    search.submit()
    wait.until(lambda d: "q=" in d.current_url)
    find("#experiments")
    listed = driver.execute_script("return [...document.querySelectorAll('tr[data-experiment]')].map(r => r.dataset.experiment)")
    expected = [e["key"] for e in api("/v1/experiments?limit=50&q=" + experiment[:4])["experiments"]]
    check(listed == expected and experiment in listed, f"the search lists what the API finds: {listed}")
    now = sum(a["decisions"] for a in api(f"/api/learning/agents/performance?task_type={experiment}")["agents"])
    shown = data_value(f'tr[data-experiment="{experiment}"] [data-field="decisions"]')
    check(shown == now, f"a searched experiment's decisions = API's: {shown} = {now}")

    # One experiment: the report's figures, charts, versions.
    link = f'tr[data-experiment="{experiment}"] a'
    find(link)
    driver.execute_script("document.querySelector(arguments[0]).click()", link)  # the link, found afresh
    find("#strategies")
    find('[data-chart="timeline"] svg')
    find('[data-chart="arms"] svg')
    shot("experiment")
    check(console_errors() == [], "no console errors on the experiment page")
    report = api(f"/v1/experiments/{experiment}/report")
    for strategy in report["strategies"]:
        line = find(f'#strategies tr[data-strategy="{strategy["name"]}"]')
        for field in ["decisions", "feedback", "mean_reward", "probability_best", "traffic_share"]:
            shown = value(line.find_element(By.CSS_SELECTOR, f'[data-field="{field}"]'))
            check(same(shown, strategy[field]), f"{strategy['name']} {field}: page {shown} = API {strategy[field]}")
        for arm in strategy["arms"]:
            cell = find(f'#arms tr[data-strategy="{strategy["name"]}"][data-arm="{arm["name"]}"] [data-field="mean_reward"]')
            check(same(value(cell), arm["mean_reward"]), f"{strategy['name']}/{arm['name']} mean reward: page {value(cell)} = API {arm['mean_reward']}")
    circles = driver.find_elements(By.CSS_SELECTOR, '[data-chart="arms"] svg circle')
    check(len(circles) == sum(1 for s in report["strategies"] for a in s["arms"] if a["mean_reward"] is not None),
          f"the arm chart has a point per arm with feedback ({len(circles)})")

    # A rollback, confirmed, takes effect.
    strategy = report["strategies"][0]["name"]
    versions = api(f"/v1/experiments/{experiment}/strategies/{strategy}/versions")["versions"]
    target = next(v for v in versions if v["status"] != "active")
    find(f'[data-rollback="{strategy}:{target["version"]}"]').click()
    wait.until(ready.alert_is_present()).accept()
    notice = find("#notice .notice")
    check(f"version {target['version']}" in notice.text, f"the rollback is confirmed on the page: {notice.text!r}")
    after = api(f"/v1/experiments/{experiment}/strategies/{strategy}/versions")["versions"]
    check(after[0]["reason"] == "rollback" and after[0].get("restored_from") == target["version"],
          f"the API has the rollback: {after[0]}")
    shot("rollback")

    # A weight change, confirmed, takes effect.
    weight = find(f'input[data-weight="{strategy}"]')
    weight.clear()
    weight.send_keys("3")
    find("#weights button").click()
    wait.until(ready.alert_is_present()).accept()
    find("#notice .notice")
    weights = {s["name"]: s["weight"] for s in api(f"/v1/experiments/{experiment}")["strategies"]}
    check(weights[strategy] == 3, f"the API has the new weight: {weights}")
    shown = value(find(f'#strategies tr[data-strategy="{strategy}"] [data-field="weight"]'))
    check(shown == 3, f"the page shows it: {shown}")
    check(console_errors() == [], "no console errors after the actions")

    # Off-policy estimates.
    find("#evaluate button").click()
    find("#estimates")
    check(len(driver.find_elements(By.CSS_SELECTOR, "#estimates tr[data-candidate]")) == 9, "three estimators for three candidates")

    # Plugins and health.
    go("#/plugins")
    find("#plugin-versions")
    listing = api("/v1/plugins")
    for version in listing["versions"]:
        find(f'tr[data-plugin="{version["name"]}"][data-version="{version["version"]}"]')
    check(True, f"every loaded version is listed ({len(listing['versions'])})")
    shot("plugins")
    go("#/health")
    first = find("#updated").text
    shot("health")
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#updated").text != first)
    check(True, "the health page updates by itself")
    check(console_errors() == [], "no console errors on plugins and health")

    # A read-only key: no admin actions, the plugins page refused.
    find("#sign-out").click()
    sign_in(reader_key)
    wait.until(lambda d: "read-only" in d.find_element(By.ID, "who").text)
    go(f"#/experiments/{experiment}")
    find("#strategies")
    check(driver.find_elements(By.CSS_SELECTOR, "[data-rollback]") == [] and driver.find_elements(By.CSS_SELECTOR, "#weights") == [],
          "a read-only key sees no rollback and no weight form")
    plugins_link = driver.find_element(By.CSS_SELECTOR, 'nav a[href="#/plugins"]')
    check(not plugins_link.is_displayed(), "nor the plugins page")

    # A phone's screen.
    driver.set_window_size(390, 844)
    driver.refresh()
    find("#strategies")
    width = driver.execute_script("return document.documentElement.scrollWidth")
    check(width <= 400, f"the page fits a phone's width (scroll width {width})")
    shot("phone")
    errors = console_errors()
    check(errors == [], f"no console errors at the end: {errors}")
except Exception as error:  # a step that could not run is a failure too
    failures.append(f"{type(error).__name__}: {error}")
    print("FAIL", failures[-1], flush=True)
    try:
        shot("failure")
        print("page at the failure:", driver.current_url, driver.find_element(By.ID, "who").text, "|",
              driver.find_element(By.ID, "main").text[:600], flush=True)
    except Exception:
        pass
finally:
    driver.quit()

sys.exit(1 if failures else 0)
