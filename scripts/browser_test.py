#!/usr/bin/env python3
"""End-to-end test of the web workspace in a real headless Chromium (Debian's chromium + chromium-driver, Selenium).

Usage: browser_test.py BASE_URL SCREENSHOT_DIR

Against a `concord serve` with the demo reference data and the demo users (deploy/demo-users.json): the clerk signs
in and lodges a complaint, the CCT officer acknowledges, assigns and resolves it, the clerk records that the
complainant was told and closes it, and the public tracking page shows it closed. Then a referral: the clerk fills
the standard referral form to Health Insurance, its officer acknowledges, accepts, serves and completes it and sends
the counter-referral feedback, the clerk finds the feedback waiting and acknowledges it, which closes the loop. A
screenshot of each page visited goes to SCREENSHOT_DIR. Any failure raises: the exit status is not 0 and the
message says what and where.
"""
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from page_wait import wait_for_next_page

BASE, SHOTS = sys.argv[1].rstrip("/"), sys.argv[2]
os.makedirs(SHOTS, exist_ok=True)
for old in os.listdir(SHOTS):  # each run's screenshots are its own
    if old.endswith(".png"):
        os.remove(os.path.join(SHOTS, old))
step = 0


def shot(driver, name):
    global step
    step += 1
    path = os.path.join(SHOTS, f"{step:02d}-{name}.png")
    if not driver.save_screenshot(path):
        raise RuntimeError(f"no screenshot at {path}")
    size = len(driver.page_source.encode())
    css = stylesheet_size()
    print(f"screenshot {path} ({driver.current_url}, page {size} bytes + stylesheet {css} bytes)")
    check(size + css < 100_000, f"{name}: a first load of {size + css} bytes, over 100 KB", driver)


stylesheet = []


def stylesheet_size():
    """The shared stylesheet's size, fetched once: every page loads it, nothing else."""
    if not stylesheet:
        import urllib.request
        with urllib.request.urlopen(BASE + "/static/concord.css") as answer:
            stylesheet.append(len(answer.read()))
    return stylesheet[0]


def check(condition, message, driver):
    if not condition:
        raise AssertionError(f"{message} at {driver.current_url}:\n{driver.page_source[:3000]}")


def click(driver, element):
    """Clicks what leads to a new page, and waits (at most 30 s) until the old page is gone: a click returns
    before the next page has loaded."""
    old = driver.find_element(By.TAG_NAME, "html")
    element.click()
    wait_for_next_page(driver, old)


def sign_in(driver, login, password):
    driver.get(BASE + "/")
    shot(driver, f"signin-{login}")
    driver.find_element(By.ID, "login").send_keys(login)
    driver.find_element(By.ID, "password").send_keys(password)
    click(driver, driver.find_element(By.ID, "signin"))
    check("/signout" in driver.page_source, f"{login} is not signed in", driver)
    shot(driver, f"home-{login}")


def sign_out(driver):
    click(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/signout'] button"))
    check('action="/signin"' in driver.page_source, "not signed out", driver)


def send(driver, command, fields=None, selects=None):
    """Fills and sends the case page's form for `command`, then checks the page came back without an error."""
    for name, value in (selects or {}).items():
        Select(driver.find_element(By.ID, f"{command}-{name}")).select_by_value(value)
    for name, value in (fields or {}).items():
        driver.find_element(By.ID, f"{command}-{name}").send_keys(value)
    click(driver, driver.find_element(By.ID, f"submit-{command}"))
    check('role="alert"' not in driver.page_source, f"{command} was refused", driver)
    shot(driver, f"case-after-{command}")


def phone_width(driver, name):
    """The page at 360 px wide: nothing wider than the screen (no sideways scrolling), and a screenshot."""
    driver.set_window_size(360, 800)
    driver.refresh()
    width = driver.execute_script("return document.documentElement.scrollWidth")
    check(width <= 360, f"{name} is {width} px wide at 360 px", driver)
    shot(driver, f"{name}-360px")
    driver.set_window_size(1024, 900)


def open_case(driver, code):
    driver.get(BASE + "/")
    driver.find_element(By.ID, "find-code").send_keys(code)
    click(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/complaints/find'] button"))
    check(code in driver.page_source and "case-status" in driver.page_source, f"case {code} did not open", driver)


def wait_for(driver, path, code):
    """Reloads `path` until `code` is on it (the lists read a projection that follows the log closely)."""
    deadline = time.monotonic() + 30
    while True:
        driver.get(BASE + path)
        if code in driver.page_source:
            return
        check(time.monotonic() < deadline, f"{code} never reached {path}", driver)
        time.sleep(0.5)


def referral_journey(driver):
    """The clerk refers a household to Health Insurance; its officer works the referral and sends the
    counter-referral feedback; the clerk acknowledges it, which closes the loop."""
    sign_in(driver, "clerk", "demo-clerk-2026")
    click(driver, driver.find_element(By.ID, "referral-link"))
    shot(driver, "referral-form")
    for name, value in {"receiver": "HEALTH", "urgency": "priority", "kind": "household", "sex": "female",
                        "age_group": "0-17"}.items():
        Select(driver.find_element(By.ID, name)).select_by_value(value)
    for name, value in {"referral_type": "nutrition", "reason": "Child needs a nutrition assessment.",
                        "reference": "HH-42", "form_name": "Awa Sow", "form_household_size": "5",
                        "form_address": "Mafuta, near the well", "form_needs": "Underweight child, 2 years"}.items():
        driver.find_element(By.ID, name).send_keys(value)
    driver.find_element(By.ID, "form_consent").click()
    click(driver, driver.find_element(By.ID, "referral-submit"))
    check('role="alert"' not in driver.page_source, "the referral was refused", driver)
    code = driver.find_element(By.CSS_SELECTOR, "h1 .code").text.strip()
    check(code.startswith("R-"), f"not a referral code: {code!r}", driver)
    loop = driver.find_element(By.ID, "case-loop").text
    check(loop.startswith("Acknowledgement from National Health Insurance Scheme"), f"the loop says {loop!r}", driver)
    shot(driver, "referral-created")
    sign_out(driver)

    sign_in(driver, "health.officer", "demo-health-2026")
    wait_for(driver, "/queue", code)
    shot(driver, "queue-health")
    click(driver, driver.find_element(By.LINK_TEXT, code))
    shot(driver, "referral-receiver")
    for command in ("acknowledge", "accept", "start_service"):
        send(driver, command)
    send(driver, "complete", selects={"outcome": "delivered"})
    loop = driver.find_element(By.ID, "case-loop").text
    check(loop.startswith("Counter-referral feedback from National Health Insurance Scheme, due"),
          f"the loop says {loop!r}", driver)
    send(driver, "post_feedback", fields={"outcome": "Enrolled in the nutrition programme",
                                          "services_given": "Nutrition assessment\nFood supplement",
                                          "notes": "Next visit in one month."})
    sign_out(driver)

    sign_in(driver, "clerk", "demo-clerk-2026")
    wait_for(driver, "/feedback", code)
    shot(driver, "feedback-waiting")
    click(driver, driver.find_element(By.LINK_TEXT, code))
    check("Food supplement" in driver.page_source, "the feedback is not on the referral's page", driver)
    shot(driver, "referral-feedback")
    send(driver, "acknowledge_feedback")
    status = driver.find_element(By.ID, "case-status").text
    check(status == "Closed: the feedback was acknowledged", f"the referral says {status!r}", driver)
    phone_width(driver, "referral-closed")
    driver.get(BASE + "/cases")
    check(code in driver.page_source, "the referral is not in the office's cases", driver)
    phone_width(driver, "office-cases")
    sign_out(driver)

    driver.get(BASE + "/track")
    driver.find_element(By.ID, "code").send_keys(code)
    click(driver, driver.find_element(By.ID, "track-submit"))
    tracked = driver.find_element(By.ID, "track-status").text
    check(tracked == "Your referral is closed.", f"the tracking page says {tracked!r}", driver)
    check("Awa" not in driver.page_source, "the public page shows the person", driver)
    shot(driver, "track-referral-closed")


def main():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1024,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    try:
        started = time.monotonic()
        # The clerk lodges a complaint and gets the slip.
        sign_in(driver, "clerk", "demo-clerk-2026")
        click(driver, driver.find_element(By.ID, "lodge-link"))
        shot(driver, "lodge-form")
        for name, value in {"channel": "walk_in", "category": "payment_delay", "programme": "CCT",
                            "area": "D-01", "contact_preference": "sms"}.items():
            Select(driver.find_element(By.ID, name)).select_by_value(value)
        driver.find_element(By.ID, "name").send_keys("Amina Diallo")
        driver.find_element(By.ID, "phone").send_keys("+221770000000")
        driver.find_element(By.ID, "description").send_keys("The March payment has not arrived.")
        click(driver, driver.find_element(By.ID, "lodge-submit"))
        codes = driver.find_elements(By.ID, "tracking-code")
        check(len(codes) == 1, "no slip after lodging", driver)
        code = codes[0].text.strip()
        check(code.startswith("C-"), f"not a complaint code: {code!r}", driver)
        shot(driver, "slip")
        sign_out(driver)

        # The programme finds it in its queue (once the projection has it), acknowledges, assigns and resolves it.
        sign_in(driver, "cct.officer", "demo-officer-2026")
        deadline = time.monotonic() + 30
        while True:
            driver.get(BASE + "/queue")
            if code in driver.page_source:
                break
            check(time.monotonic() < deadline, f"{code} never reached the queue", driver)
            time.sleep(0.5)
        shot(driver, "queue")
        click(driver, driver.find_element(By.LINK_TEXT, code))
        shot(driver, "case-programme")
        send(driver, "acknowledge")
        send(driver, "assign")
        send(driver, "resolve", fields={"actions_taken": "Payment re-issued on 3 December."},
             selects={"outcome": "upheld"})
        sign_out(driver)

        # The clerk tells the complainant and closes the complaint.
        sign_in(driver, "clerk", "demo-clerk-2026")
        open_case(driver, code)
        shot(driver, "case-office")
        send(driver, "notify_complainant", selects={"method": "sms"})
        send(driver, "close", selects={"satisfaction": "satisfied"})
        status = driver.find_element(By.ID, "case-status").text
        check(status == "Closed", f"the case says {status!r}, not Closed", driver)
        phone_width(driver, "case-closed")
        sign_out(driver)

        # Anyone can follow it with the code: closed, and no personal data.
        driver.get(BASE + "/track")
        driver.find_element(By.ID, "code").send_keys(code)
        click(driver, driver.find_element(By.ID, "track-submit"))
        tracked = driver.find_element(By.ID, "track-status").text
        check(tracked == "Your complaint is closed.", f"the tracking page says {tracked!r}", driver)
        check("Amina" not in driver.page_source, "the public page shows the complainant", driver)
        shot(driver, "track-closed")
        referral_journey(driver)
        print(f"browser test passed in {time.monotonic() - started:.1f} s ({step} screenshots)")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
