"""The staff console in a real browser: each demo staff account signs in through the admin's
form, the delivery board is filtered to overdue orders, an order moves one step and its
timeline shows the move, and the pharmacy liaison cannot open questionnaire responses.
Screenshots of every page land in var/screenshots/."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from prescriptions.models import OrderEvent, OrderStatus
from seeds.demo import DEMO_PASSWORD
from seeds.demo import accounts as demo_accounts
from tests.patients.factories import PatientProfileFactory, SafetyFlagFactory
from tests.prescriptions.factories import DeliveryOrderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

COORDINATOR = "staff@demo.practice.example"
LIAISON = "pharmacy@demo.practice.example"
DIRECTOR = "director@demo.practice.example"
ADMIN = "admin@demo.practice.example"


@pytest.fixture
def demo():
    demo_accounts.run(io.StringIO())
    now = timezone.now()
    orders = {
        "stuck": DeliveryOrderFactory(
            ship_to_name="Stella Stuck", status=OrderStatus.SENT_TO_PHARMACY, status_changed_at=now - timedelta(days=3)
        ),
        "silent": DeliveryOrderFactory(
            ship_to_name="Simon Silent",
            status=OrderStatus.IN_TRANSIT,
            status_changed_at=now - timedelta(days=4),
            shipped_at=now - timedelta(days=4),
            carrier="USPS",
            tracking_number="9400111899223100000000",
            last_carrier_update=now - timedelta(days=4),
        ),
        "exception": DeliveryOrderFactory(ship_to_name="Eve Exception", status=OrderStatus.EXCEPTION),
        "on_time": DeliveryOrderFactory(ship_to_name="Olive Ontime", ship_to_state="NJ"),
    }
    flagged = PatientProfileFactory(legal_first_name="Fred", legal_last_name="Flagged")
    SafetyFlagFactory(patient=flagged.user)
    PatientProfileFactory(legal_first_name="Wanda", legal_last_name="Waiting", assigned_physician=None)
    return orders


def sign_in(browser, email: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{browser.live_server_url}/admin/login/?next=/admin/")
    browser.find_element(By.ID, "id_username").send_keys(email)
    browser.find_element(By.ID, "id_password").send_keys(DEMO_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    assert browser.find_element(By.ID, "user-tools").is_displayed(), f"{email} did not get in"


def submit(browser, button_id: str) -> None:
    """Click a form's submit button and wait for the next page: the old one gone (stale), the new
    one loaded. Read right after the click, current_url could still be the old page's (CI, once)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.ID, button_id).click()
    wait = WebDriverWait(browser, 20)
    wait.until(expected_conditions.staleness_of(old))
    wait.until(lambda b: b.execute_script("return document.readyState") == "complete")


def open_page(browser, path: str) -> str:
    browser.get(f"{browser.live_server_url}{path}")
    return browser.page_source


@pytest.mark.parametrize(
    "email, pages, refused",
    [
        (COORDINATOR, ["Delivery board", "Prescribing readiness", "Review queue"], []),
        (LIAISON, ["Delivery board"], ["/admin/console/prescribing-readiness/", "/admin/console/review-queue/"]),
        (DIRECTOR, ["Prescribing readiness", "Review queue"], ["/admin/console/deliveries/"]),
        (ADMIN, [], ["/admin/console/deliveries/", "/admin/console/review-queue/"]),
    ],
    ids=["care_coordinator", "pharmacy_liaison", "medical_director", "admin"],
)
def test_each_staff_role_signs_in_and_opens_its_pages(browser, screenshot, demo, email, pages, refused):
    from selenium.webdriver.common.by import By

    sign_in(browser, email)
    screenshot("admin-home")
    links = {a.text: a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#console-module a")}
    assert set(pages) <= set(links)
    assert not {"Delivery board", "Prescribing readiness", "Review queue"} - set(pages) & set(links)
    for title in pages:
        browser.get(links[title])
        assert browser.find_element(By.TAG_NAME, "h1").text == title
        screenshot(title.lower().replace(" ", "-"))
    for path in refused:
        body = open_page(browser, path)
        assert "not_found" in body or "Not Found" in body, path
        screenshot("refused-" + path.strip("/").split("/")[-1])


def test_the_liaison_filters_overdue_moves_an_order_one_step_and_sees_it_in_the_timeline(browser, screenshot, demo):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    sign_in(browser, LIAISON)
    open_page(browser, "/admin/console/deliveries/")
    rows = browser.find_elements(By.CSS_SELECTOR, "#board tbody tr[data-order]")
    assert [r.get_attribute("class") for r in rows[:3]] == [
        "attention-exception",
        "attention-silent",
        "attention-stuck",
    ]
    screenshot("board")

    Select(browser.find_element(By.ID, "f-overdue")).select_by_value("yes")
    submit(browser, "filter-submit")
    assert "overdue=yes" in browser.current_url
    shown = {
        r.get_attribute("data-order") for r in browser.find_elements(By.CSS_SELECTOR, "#board tbody tr[data-order]")
    }
    assert shown == {str(demo["stuck"].public_id), str(demo["silent"].public_id)}
    tracking = browser.find_element(By.CSS_SELECTOR, f'tr[data-order="{demo["silent"].public_id}"] a[target=_blank]')
    assert tracking.get_attribute("href").startswith("https://tools.usps.com/")
    screenshot("board-overdue")

    stuck = str(demo["stuck"].public_id)
    browser.find_element(By.CSS_SELECTOR, f'input[name=orders][value="{stuck}"]').click()
    Select(browser.find_element(By.ID, "b-to")).select_by_value(OrderStatus.COMPOUNDING)
    browser.find_element(By.ID, "b-note").send_keys("pharmacy confirmed")
    submit(browser, "bulk-submit")
    assert "1 order(s) moved to compounding." in browser.find_element(By.CSS_SELECTOR, "ul.messagelist").text
    assert "overdue=yes" in browser.current_url  # back to the same filter
    screenshot("board-after-move")

    open_page(browser, f"/admin/console/deliveries/{stuck}/")
    last = browser.find_elements(By.CSS_SELECTOR, "#timeline tbody tr")[-1].text
    assert (
        "Sent to pharmacy" in last and "Compounding" in last and "Pat Liaison" in last and "pharmacy confirmed" in last
    )
    screenshot("order")
    event = OrderEvent.objects.filter(order__public_id=stuck).latest("id")
    assert event.to_status == OrderStatus.COMPOUNDING and event.actor == User.objects.get(email=LIAISON)


def test_a_refused_move_is_shown_as_a_message(browser, screenshot, demo):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    sign_in(browser, COORDINATOR)
    open_page(browser, "/admin/console/deliveries/")
    on_time = str(demo["on_time"].public_id)
    browser.find_element(By.CSS_SELECTOR, f'input[name=orders][value="{on_time}"]').click()
    Select(browser.find_element(By.ID, "b-to")).select_by_value(OrderStatus.DELIVERED)
    submit(browser, "bulk-submit")
    assert "refused (illegal_transition)" in browser.find_element(By.CSS_SELECTOR, "ul.messagelist").text
    screenshot("board-refusal")


def test_the_pharmacy_liaison_cannot_open_questionnaire_responses(browser, screenshot, demo):
    from selenium.webdriver.common.by import By

    sign_in(browser, LIAISON)
    home = browser.page_source
    assert "Questionnaire responses" not in home and "Delivery orders" in home
    open_page(browser, "/admin/patients/questionnaireresponse/")
    assert "403 Forbidden" in browser.find_element(By.TAG_NAME, "body").text
    screenshot("questionnaire-responses-refused")


def test_the_coordinator_reads_the_worklist_and_the_review_queue_with_their_exports(browser, screenshot, demo):
    from selenium.webdriver.common.by import By

    sign_in(browser, COORDINATOR)
    open_page(browser, "/admin/console/review-queue/")
    assert "Fred Flagged" in browser.page_source and "Wanda Waiting" in browser.page_source
    assert browser.find_element(By.ID, "flags-csv").get_attribute("href").endswith("?export=flags")
    screenshot("review-queue")
    open_page(browser, "/admin/console/prescribing-readiness/")
    assert "format=csv" in browser.find_element(By.ID, "readiness-csv").get_attribute("href")
    screenshot("prescribing-readiness")
