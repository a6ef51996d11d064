#!/usr/bin/env python3
"""The coordinator's, the M&E officer's and the admin's pages in a real headless Chromium (Debian's chromium +
chromium-driver, Selenium).

Usage: browser_roles_test.py BASE_URL SCREENSHOT_DIR

Against a `concord serve` with the demo reference data and the demo users (deploy/demo-users.json): the coordinator
opens the area page, the auditor (M&E) the dashboard with a filter and its CSV link, the admin the users and tokens
pages and issues a token; each signs in and sees only their own pages in the navigation. Each page is shot at
desktop width and at 360 px (where nothing may be wider than the screen) into SCREENSHOT_DIR, which the script
empties of its own earlier shots first. Any failure raises: the exit status is not 0 and the message says where.
"""
import os
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from page_wait import wait_for_next_page

BASE, SHOTS = sys.argv[1].rstrip("/"), sys.argv[2]
PREFIX = "roles-"
os.makedirs(SHOTS, exist_ok=True)
for old in os.listdir(SHOTS):  # each run's screenshots are its own (browser_test.py's are left alone)
    if old.startswith(PREFIX) and old.endswith(".png"):
        os.remove(os.path.join(SHOTS, old))
step = 0
STYLESHEET = len(urllib.request.urlopen(BASE + "/static/concord.css").read())


def check(condition, message, driver):
    if not condition:
        raise AssertionError(f"{message} at {driver.current_url}:\n{driver.page_source[:3000]}")


def shot(driver, name):
    """A screenshot at desktop width, then one at 360 px after checking nothing is wider than the screen."""
    global step
    step += 1
    size = len(driver.page_source.encode())
    check(size + STYLESHEET < 100_000, f"{name}: first load {size + STYLESHEET} bytes", driver)
    path = os.path.join(SHOTS, f"{PREFIX}{step:02d}-{name}.png")
    check(driver.save_screenshot(path), f"no screenshot at {path}", driver)
    driver.set_window_size(360, 800)
    width = driver.execute_script("return document.documentElement.scrollWidth")
    check(width <= 360, f"{name} is {width} px wide at 360 px", driver)
    phone = os.path.join(SHOTS, f"{PREFIX}{step:02d}-{name}-360px.png")
    check(driver.save_screenshot(phone), f"no screenshot at {phone}", driver)
    driver.set_window_size(1024, 900)
    print(f"screenshots {path} and {phone} ({driver.current_url}: {size} bytes + {STYLESHEET} of stylesheet)")


def click(driver, element):
    """Clicks what leads to a new page and waits (at most 30 s) until the old one is gone."""
    old = driver.find_element(By.TAG_NAME, "html")
    element.click()
    wait_for_next_page(driver, old)


def sign_in(driver, login, password, pages):
    """Signs in; the navigation offers exactly `pages` (the ids of its links)."""
    driver.get(BASE + "/")
    driver.find_element(By.ID, "login").send_keys(login)
    driver.find_element(By.ID, "password").send_keys(password)
    click(driver, driver.find_element(By.ID, "signin"))
    links = sorted(e.get_attribute("id") for e in driver.find_elements(By.CSS_SELECTOR, "nav.pages a"))
    check(links == sorted(f"nav-{p}" for p in pages), f"{login}'s navigation is {links}", driver)
    shot(driver, f"home-{login}")


def sign_out(driver):
    click(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/signout'] button"))


def refused(driver, path):
    driver.get(BASE + path)
    check("403" in driver.title or "Not allowed" in driver.page_source, f"{path} was not refused", driver)


def coordinator(driver):
    sign_in(driver, "coordinator", "demo-coordinator-2026", ["area", "dashboard"])
    click(driver, driver.find_element(By.ID, "nav-area"))
    check(driver.find_element(By.ID, "breakdown").is_displayed(), "no breakdown by district", driver)
    check(driver.find_element(By.ID, "sensitive-counts").is_displayed(), "no sensitive counts", driver)
    shot(driver, "area-coordinator")
    Select(driver.find_element(By.ID, "area-choice")).select_by_value("D-01")
    click(driver, driver.find_element(By.ID, "area-submit"))
    check("D-01" in driver.find_element(By.TAG_NAME, "h1").text, "the district did not open", driver)
    shot(driver, "area-district")
    refused(driver, "/admin/users")
    shot(driver, "forbidden-coordinator")
    sign_out(driver)


def auditor(driver):
    sign_in(driver, "auditor", "demo-auditor-2026", ["area", "dashboard"])
    click(driver, driver.find_element(By.ID, "nav-dashboard"))
    charts = driver.find_elements(By.CSS_SELECTOR, "svg.chart")
    check(len(charts) >= 1, "no chart on the dashboard", driver)
    shot(driver, "dashboard")
    Select(driver.find_element(By.ID, "programme")).select_by_value("CCT")
    click(driver, driver.find_element(By.ID, "dashboard-submit"))
    check("programme=CCT" in driver.current_url, "the filter was not applied", driver)
    shot(driver, "dashboard-cct")
    link = driver.find_element(By.ID, "csv-programme").get_attribute("href")
    check("format=csv" in link and "programme=CCT" in link, f"the CSV link is {link}", driver)
    sign_out(driver)


def admin(driver):
    sign_in(driver, "admin", "demo-admin-2026", ["area", "dashboard", "users", "tokens"])
    click(driver, driver.find_element(By.ID, "nav-users"))
    check(driver.find_elements(By.ID, "user-clerk"), "the clerk is not listed", driver)
    # A user with a scope the reference data does not define: the message beside the field, the values kept.
    driver.find_element(By.ID, "login").send_keys(f"browser{int(time.time())}")
    driver.find_element(By.ID, "name").send_keys("Browser Test")
    Select(driver.find_element(By.ID, "role")).select_by_value("office")
    driver.find_element(By.ID, "scope").send_keys("NOPE")
    driver.find_element(By.ID, "password").send_keys("browser test password")
    click(driver, driver.find_element(By.ID, "create-user-submit"))
    check(driver.find_elements(By.ID, "scope-error"), "no error beside the scope", driver)
    check(driver.find_element(By.ID, "name").get_attribute("value") == "Browser Test", "the name was lost", driver)
    shot(driver, "users-refused")
    click(driver, driver.find_element(By.ID, "nav-tokens"))
    shot(driver, "tokens")
    Select(driver.find_element(By.ID, "role")).select_by_value("auditor")
    driver.find_element(By.ID, "label").send_keys("browser test export")
    click(driver, driver.find_element(By.ID, "issue-token-submit"))
    secret = driver.find_element(By.ID, "token-secret").text
    check(secret.startswith("concord_"), f"no secret shown: {secret!r}", driver)
    shot(driver, "token-issued")
    sign_out(driver)


def main():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1024,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    try:
        started = time.monotonic()
        coordinator(driver)
        auditor(driver)
        admin(driver)
        print(f"browser roles test passed in {time.monotonic() - started:.1f} s ({step * 2} screenshots)")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
