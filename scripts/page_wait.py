"""Waiting for the next page in the browser tests, shared by browser_test.py and browser_roles_test.py."""

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.support.ui import WebDriverWait


def left(old):
    """True once `old` (the previous page's root element) is no longer in the document. Chromium answers a query on
    a node of a page being replaced with a stale-element error or, mid-navigation, with "Node with given id does not
    belong to the document": either means the page has gone."""
    def predicate(_driver):
        try:
            old.is_enabled()
            return False
        except WebDriverException:
            return True
    return predicate


def wait_for_next_page(driver, old, seconds=30):
    WebDriverWait(driver, seconds).until(left(old))
