"""The checkout page and its JavaScript client (Public/checkout, Public/js/payments.js) in headless Chromium,
against the real server binary with a fresh database per test.

Run from the repository root after `swift build`:  python3 -m pytest tests/browser
Each test leaves a screenshot of its final state in artifacts/screenshots/<test>.png.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

try:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
except ImportError as error:  # fail the run with the fix, never skip
    hint = "install the test packages with pip install -r tests/browser/requirements.txt"
    raise ImportError(f"{error}: {hint}") from error

REPO = Path(__file__).resolve().parents[2]

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

CARD_SUCCEEDS = "4242424242424242"
CARD_3DS = "4000002500003155"
CARD_INSUFFICIENT_FUNDS = "4000000000009995"


def header(headers: dict, name: str):
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def intents(server):
    return server.query("SELECT id, status FROM payment_intents ORDER BY created")


def submit_with_enter(page):
    page.by_id("postal-code").send_keys(Keys.ENTER)


# The file that releases a request held at the `after-authentication` fault point (debug builds).
HOLD_AFTER_AUTHENTICATION = f"/tmp/payments-browser-hold-{os.getpid()}"


def enter_3ds_frame(page):
    """Waits for the 3-D Secure modal and switches into its frame."""
    dialog = page.wait(lambda d: d.find_element(By.CSS_SELECTOR, "[role=dialog]"), message="no 3-D Secure modal")
    frame = dialog.find_element(By.TAG_NAME, "iframe")
    page.wait(lambda d: frame.get_attribute("src").startswith(page.server.url + "/3ds/"))
    page.driver.switch_to.frame(frame)
    page.wait(lambda d: d.find_element(By.ID, "complete").is_displayed(), message="challenge page not loaded")


# MARK: - Static files


def test_static_files_have_content_types_and_revalidation(server):
    expected = {
        "/checkout/": "text/html",
        "/checkout/checkout.js": "text/javascript",
        "/checkout/checkout.css": "text/css",
        "/js/payments.js": "text/javascript",
    }
    for path, content_type in expected.items():
        with urllib.request.urlopen(server.url + path, timeout=5) as response:
            assert response.status == 200, path
            assert response.headers["Content-Type"].split(";")[0].strip() == content_type, path
            # no-cache + ETag: a deploy is seen at once, an unchanged file costs a 304.
            assert response.headers["Cache-Control"] == "no-cache", path
            etag = response.headers["ETag"]
            assert etag, path
        conditional = urllib.request.Request(server.url + path, headers={"If-None-Match": etag})
        try:
            with urllib.request.urlopen(conditional, timeout=5) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        assert status == 304, path
    with urllib.request.urlopen(server.url + "/checkout/config.json", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("application/json")


# MARK: - Paying


def raise_the_tshirt_to_15_dollars(page, tmp_path):
    """Restarts the server with the T-shirt at $15.00, as a merchant changing a price while pages are open."""
    catalog = tmp_path / "catalog.json"
    catalog.write_text(
        '{"default": "tshirt", "items": [{"id": "tshirt", "name": "T-shirt", "amount": 1500, "currency": "usd"}]}'
    )
    page.server.restart({"PAYMENTS_CATALOG": str(catalog)})


def pay_without_seeing_the_answer(page):
    """Pays with the card that succeeds through a POST /pay that reaches the server, which pays, but whose answer the
    page never sees; returns once the payment went through."""
    page.driver.execute_script(
        """
        const realFetch = window.fetch;
        window.fetch = async (url, init) => {
          if (String(url).endsWith('/pay')) { realFetch(url, init); return new Promise(() => {}); }
          return realFetch(url, init);
        };
        """
    )
    page.fill(number=CARD_SUCCEEDS)
    page.by_id("pay").click()
    page.wait(
        lambda d: page.server.count("SELECT count(*) FROM payment_intents WHERE status = 'succeeded'") == 1,
        message="the payment did not reach the server",
    )


def test_receipt_shows_what_was_charged_after_a_price_change(checkout, tmp_path):
    # Given a page that loaded the T-shirt at $14.00
    page = checkout.open()
    assert "$14.00" in page.by_id("pay").text
    # When the merchant restarts the server with a new price before the shopper pays
    raise_the_tshirt_to_15_dollars(page, tmp_path)
    page.fill(number=CARD_SUCCEEDS)
    page.by_id("pay").click()
    # Then the receipt shows what the card was charged, not the price the page had loaded
    page.wait_success()
    assert page.server.query("SELECT amount, currency FROM payment_intents") == [(1500, "usd")]
    assert "$15.00" in page.by_id("success-message").text, page.by_id("success-message").text


def test_4242_pays_and_shows_success(checkout):
    page = checkout.open()
    assert page.driver.execute_script("return document.documentElement.lang") == "en"
    assert "$14.00" in page.by_id("pay").text
    page.fill(number=CARD_SUCCEEDS)
    assert page.by_id("card-number").get_attribute("value") == "4242 4242 4242 4242"
    assert page.by_id("card-brand").text == "Visa"
    submit_with_enter(page)  # Enter in a field submits the form

    intent_id = page.wait_success()
    assert intent_id.startswith("pi_")
    assert "$14.00" in page.by_id("success-message").text
    assert page.driver.switch_to.active_element == page.by_id("success-heading")
    assert page.server.count("SELECT count(*) FROM payment_intents WHERE status = 'succeeded'") == 1
    assert intents(page.server) == [(intent_id, "succeeded")]
    assert page.server.query("SELECT amount, currency FROM payment_intents") == [(1400, "usd")]

    # The seed's order, with one Idempotency-Key for the attempt.
    events = page.network()
    created = page.requests_to(events, "/v1/payment_methods")
    pays = page.requests_to(events, "/pay")
    assert len(created) == 1 and len(pays) == 1
    assert created[0]["timestamp"] < pays[0]["timestamp"]
    assert '"payment_method_id":"pm_' in pays[0]["request"]["postData"]
    assert '"item":"tshirt"' in pays[0]["request"]["postData"]
    assert UUID.match(header(pays[0]["request"]["headers"], "Idempotency-Key"))


def test_other_item_is_charged_its_catalogue_price(checkout_desktop):
    page = checkout_desktop.open()
    page.find("input[name=item][value=tote]").click()
    assert "¥2,000" in page.by_id("pay").text
    page.fill(number=CARD_SUCCEEDS)
    page.by_id("pay").click()
    intent_id = page.wait_success()
    assert "¥2,000" in page.by_id("success-message").text
    assert page.server.query("SELECT amount, currency FROM payment_intents WHERE id = ?", intent_id) == [
        (2000, "jpy")
    ]
    # "Make another payment" brings back an empty form, focused on the card number.
    assert page.by_id("again").text == "Make another payment"
    page.by_id("again").click()
    assert page.by_id("payment-form").is_displayed() and not page.by_id("success").is_displayed()
    assert page.by_id("card-number").get_attribute("value") == ""
    assert page.driver.switch_to.active_element == page.by_id("card-number")


def test_prices_use_the_services_minor_units_not_the_browsers(checkout_desktop, tmp_path):
    """Chromium's Intl writes HUF, ISK and IDR without decimals, where Stripe (and the service) take their amounts with
    two: the page showed a HUF 200.50 item as HUF 20,050 (a probe of currencies)."""
    # Given a catalogue in currencies the browser and Stripe disagree on, and in a three-decimal one
    catalog = tmp_path / "catalog.json"
    catalog.write_text(
        json.dumps(
            {
                "default": "huf",
                "items": [
                    {"id": "huf", "name": "HUF item", "amount": 20050, "currency": "huf"},
                    {"id": "isk", "name": "ISK item", "amount": 1000, "currency": "isk"},
                    {"id": "idr", "name": "IDR item", "amount": 1500000, "currency": "idr"},
                    {"id": "bhd", "name": "BHD item", "amount": 1250, "currency": "bhd"},
                ],
            }
        )
    )
    page = checkout_desktop.open()
    page.server.restart({"PAYMENTS_CATALOG": str(catalog)})
    page = checkout_desktop.open()
    # Then each price is its amount in the currency's minor units: a fraction where there is one, none for a whole
    # amount where the browser writes none
    prices = {
        label.find_element(By.CSS_SELECTOR, "input").get_attribute("value"): label.find_element(
            By.CSS_SELECTOR, ".item-price"
        ).text
        for label in page.driver.find_elements(By.CSS_SELECTOR, "#items label.item")
    }
    plain = {item: re.sub(r"\s", " ", price) for item, price in prices.items()}
    assert plain == {"huf": "HUF 200.50", "isk": "ISK 10", "idr": "IDR 15,000", "bhd": "BHD 1.250"}, plain
    assert "HUF 200.50" in re.sub(r"\s", " ", page.by_id("pay").text)
    # And what is charged is that amount
    page.fill(number=CARD_SUCCEEDS)
    page.by_id("pay").click()
    page.wait_success()
    assert "HUF 200.50" in re.sub(r"\s", " ", page.by_id("success-message").text)
    assert page.server.query("SELECT amount, currency FROM payment_intents") == [(20050, "huf")]


def test_3ds_challenge_in_modal_then_complete_succeeds(checkout):
    page = checkout.open()
    page.fill(number=CARD_3DS)
    page.by_id("pay").click()

    dialog = page.wait(lambda d: d.find_element(By.CSS_SELECTOR, "[role=dialog]"))
    assert dialog.get_attribute("aria-modal") == "true"
    title = page.by_id(dialog.get_attribute("aria-labelledby"))
    assert title.text == "Confirm your payment"
    # Focus moved into the dialog; the page behind it is inert.
    assert page.driver.execute_script("return arguments[0].contains(document.activeElement)", dialog)
    assert page.driver.execute_script("return document.getElementById('checkout').inert") is True
    assert not page.by_id("pay").is_enabled()
    enter_3ds_frame(page)
    page.driver.switch_to.default_content()
    page.shot("challenge", full_page=False)

    page.driver.switch_to.frame(dialog.find_element(By.TAG_NAME, "iframe"))
    page.by_id("complete").click()
    page.driver.switch_to.default_content()

    intent_id = page.wait_success()
    assert not page.driver.find_elements(By.CSS_SELECTOR, "[role=dialog]")
    assert intents(page.server) == [(intent_id, "succeeded")]
    pays = page.requests_to(page.network(), "/pay")
    assert len(pays) == 2
    assert '"payment_method_id"' in pays[0]["request"]["postData"]
    # The second /pay names the intent and proves it is the page's own with the client secret it was given.
    [(secret,)] = page.server.query("SELECT client_secret FROM payment_intents WHERE id = ?", intent_id)
    assert pays[1]["request"]["postData"] == (
        f'{{"payment_intent_id":"{intent_id}","payment_intent_client_secret":"{secret}"}}'
    )
    first_key = header(pays[0]["request"]["headers"], "Idempotency-Key")
    second_key = header(pays[1]["request"]["headers"], "Idempotency-Key")
    assert UUID.match(first_key) and second_key.startswith(first_key) and second_key != first_key
    # The page's content security policy (scripts and connections to this server only, its 3-D Secure page the
    # only frame) refused nothing the checkout and its modal do
    console = [entry["message"] for entry in page.driver.get_log("browser")]
    assert not [line for line in console if "Content Security Policy" in line], console


def test_3ds_fail_shows_error_and_the_form_pays_again(checkout):
    page = checkout.open()
    page.fill(number=CARD_3DS)
    page.by_id("pay").click()
    enter_3ds_frame(page)
    page.by_id("fail").click()
    page.driver.switch_to.default_content()

    message = page.wait_alert()
    assert "unable to authenticate" in message
    page.wait_idle()
    assert page.find("#form-error").get_attribute("role") == "alert"
    assert not page.driver.find_elements(By.CSS_SELECTOR, "[role=dialog]")
    assert page.by_id("card-number").is_enabled()
    page.shot("auth-failure")
    [(failed_id, status)] = intents(page.server)
    assert status == "requires_payment_method"
    assert page.server.query("SELECT json_extract(last_payment_error, '$.code') FROM payment_intents") == [
        ("payment_intent_authentication_failure",)
    ]

    page.fill(number=CARD_SUCCEEDS)
    page.by_id("pay").click()
    intent_id = page.wait_success()
    assert intent_id != failed_id
    assert page.server.count("SELECT count(*) FROM payment_intents WHERE status = 'succeeded'") == 1
    pays = page.requests_to(page.network(), "/pay")
    keys = {header(p["request"]["headers"], "Idempotency-Key").split(":")[0] for p in pays}
    assert len(keys) == 2  # a new attempt after a failed one gets a new key


def test_challenge_already_answered_elsewhere_pays_instead_of_failing(checkout_desktop):
    page = checkout_desktop.open()
    page.fill(number=CARD_3DS)
    page.by_id("pay").click()
    enter_3ds_frame(page)
    # The same challenge was answered in another window (or the form was posted twice): the frame's own answer then
    # gets the page of a used link. The authentication did pass, so the page must pay, not say it failed.
    link = page.driver.execute_script("return location.href")
    answered = urllib.request.Request(link, data=b"outcome=complete", method="POST")
    with urllib.request.urlopen(answered, timeout=5) as response:
        assert response.status in (200, 303)
    page.by_id("complete").click()
    page.driver.switch_to.default_content()

    intent_id = page.wait_success()
    assert intents(page.server) == [(intent_id, "succeeded")]
    assert page.server.count("SELECT count(*) FROM charges WHERE status = 'succeeded'") == 1


def start_merchant_card_action(page, extra=b""):
    """Creates a merchant's own intent for a 3-D Secure card, confirmed at once with the secret key (plus the form
    fields `extra`), and calls payments.js's handleCardAction on it: `window.actionResult` holds its result once it
    resolves. Returns the intent."""
    created = urllib.request.Request(
        page.server.url + "/v1/payment_intents",
        data=b"amount=1500&currency=usd&payment_method=pm_card_threeDSecure2Required&confirm=true" + extra,
        headers={"Authorization": "Bearer sk_test_development_51PaymentsLocalKeyDoNotUse"},
    )
    with urllib.request.urlopen(created, timeout=10) as response:
        intent = json.load(response)
    assert intent["status"] == "requires_action", intent
    page.driver.execute_script(
        """
        const secret = arguments[0];
        window.actionResult = null;
        import('/js/payments.js').then(async ({ Payments }) => {
          const config = await (await fetch('/checkout/config.json')).json();
          window.actionResult = await Payments(config.publishable_key).handleCardAction(secret);
        });
        """,
        intent["client_secret"],
    )
    return intent


@pytest.mark.settings(
    PAYMENTS_FAULT_POINT="after-authentication", PAYMENTS_FAULT_ACTION=f"hold:{HOLD_AFTER_AUTHENTICATION}"
)
def test_card_action_answered_elsewhere_while_its_payment_is_on_its_way_succeeds(checkout_desktop):
    if os.path.exists(HOLD_AFTER_AUTHENTICATION):
        os.remove(HOLD_AFTER_AUTHENTICATION)
    page = checkout_desktop.open()
    # A merchant's own intent, confirmed automatically: the answer to its challenge goes on to the payment at once
    intent = start_merchant_card_action(page)
    enter_3ds_frame(page)
    # The other window's answer is recorded, and the payment after it held back (the fault point), so the frame's
    # own answer gets the used link's page while the intent has no challenge left and no outcome yet
    link = page.driver.execute_script("return location.href")
    elsewhere = threading.Thread(
        target=lambda: urllib.request.urlopen(
            urllib.request.Request(link, data=b"outcome=complete", method="POST"), timeout=30
        ).read()
    )
    elsewhere.start()
    try:
        page.wait(lambda d: "fault point after-authentication: holding" in page.server.log(), message="not held")
        page.by_id("complete").click()
        page.driver.switch_to.default_content()
        time.sleep(1.5)  # payments.js reads the intent meanwhile, finding it between the answer and the payment
        assert page.driver.execute_script("return window.actionResult") is None
    finally:
        open(HOLD_AFTER_AUTHENTICATION, "w").close()

    result = page.wait(lambda d: d.execute_script("return window.actionResult"), message="no result")
    elsewhere.join()
    # Then the card action resolves with the intent once the payment goes on (it reported a failed authentication)
    assert "error" not in result, result
    assert result["paymentIntent"]["status"] in ("processing", "succeeded"), result
    assert intents(page.server) == [(intent["id"], "succeeded")]
    assert page.server.count("SELECT count(*) FROM charges WHERE status = 'succeeded'") == 1
    os.remove(HOLD_AFTER_AUTHENTICATION)


def test_card_action_of_an_intent_with_a_return_url_resolves_in_the_modal(checkout_desktop):
    page = checkout_desktop.open()
    # A merchant's own intent, confirmed with a return_url (an ordinary server-side integration)
    intent = start_merchant_card_action(page, b"&return_url=https%3A%2F%2Fshop.example%2Fdone")
    enter_3ds_frame(page)
    page.by_id("complete").click()
    page.driver.switch_to.default_content()
    # Then the card action resolves with the paid intent and the modal closes: the frame went to the return_url's page
    # before, and nothing told the modal
    result = page.wait(lambda d: d.execute_script("return window.actionResult"), message="no result")
    assert "error" not in result, result
    assert result["paymentIntent"]["status"] == "succeeded", result
    assert not page.driver.find_elements(By.CSS_SELECTOR, "[data-payments3ds=modal]")
    assert intents(page.server) == [(intent["id"], "succeeded")]


@pytest.mark.settings(PAYMENTS_CONFIRMATION_WINDOW="3")
def test_challenge_answered_past_its_window_closes_and_says_it_took_too_long(checkout_desktop):
    page = checkout_desktop.open()
    page.fill(number=CARD_3DS)
    page.by_id("pay").click()
    enter_3ds_frame(page)
    # The shopper answers after the 3-second window: the link is no longer valid.
    time.sleep(3.5)
    page.by_id("complete").click()
    page.driver.switch_to.default_content()
    # The modal closes by itself, and the page says the payment took too long (not that authentication failed).
    message = page.wait_alert()
    assert "took too long" in message, message
    page.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, "[role=dialog]"), message="the modal stayed open")
    page.wait_idle()
    assert [status for _, status in intents(page.server)] == ["requires_payment_method"]
    assert page.server.count("SELECT count(*) FROM charges WHERE status = 'succeeded'") == 0


def test_3ds_escape_cancels_as_a_failure(checkout_desktop):
    page = checkout_desktop.open()
    page.fill(number=CARD_3DS)
    page.by_id("pay").click()
    enter_3ds_frame(page)
    page.driver.switch_to.default_content()
    ActionChains(page.driver).send_keys(Keys.ESCAPE).perform()

    assert "unable to authenticate" in page.wait_alert()
    page.wait_idle()
    assert not page.driver.find_elements(By.CSS_SELECTOR, "[role=dialog]")
    # Closing the modal fails the authentication at once, as Stripe.js does.
    assert [status for _, status in intents(page.server)] == ["requires_payment_method"]
    assert not page.requests_to(page.network(), "/pay")[1:]  # no confirm after a cancel


def test_3ds_escape_inside_the_frame_cancels(checkout_phone):
    page = checkout_phone.open()
    page.fill(number=CARD_3DS)
    page.by_id("pay").click()
    enter_3ds_frame(page)
    page.by_id("complete").send_keys(Keys.ESCAPE)  # focus inside the frame
    page.driver.switch_to.default_content()
    assert "unable to authenticate" in page.wait_alert()
    assert [status for _, status in intents(page.server)] == ["requires_payment_method"]


def test_9995_shows_insufficient_funds_and_reenables_the_form(checkout):
    page = checkout.open()
    page.fill(number=CARD_INSUFFICIENT_FUNDS)
    page.by_id("pay").click()

    assert page.wait_alert() == "Your card has insufficient funds."
    page.wait_idle()
    for element_id in ["card-number", "card-expiry", "card-cvc", "postal-code", "pay"]:
        assert page.by_id(element_id).is_enabled(), element_id
    assert page.find("#payment-form").get_attribute("aria-busy") == "false"
    assert not page.by_id("spinner").is_displayed()
    assert page.by_id("success").is_displayed() is False
    assert page.server.count("SELECT count(*) FROM payment_intents WHERE status = 'succeeded'") == 0
    assert page.server.query(
        "SELECT status, json_extract(last_payment_error, '$.decline_code') FROM payment_intents"
    ) == [
        ("requires_payment_method", "insufficient_funds")
    ]


def test_form_is_disabled_with_a_spinner_while_working(checkout_desktop):
    page = checkout_desktop.open()
    # Slow /pay down in the page so the working state can be seen.
    page.driver.execute_script(
        """
        const realFetch = window.fetch;
        window.fetch = async (url, init) => {
          if (String(url).endsWith('/pay')) await new Promise((r) => setTimeout(r, 1500));
          return realFetch(url, init);
        };
        """
    )
    page.fill(number=CARD_SUCCEEDS)
    page.by_id("pay").click()
    page.wait(lambda d: d.find_element(By.ID, "spinner").is_displayed())
    assert not page.by_id("pay").is_enabled()
    assert not page.by_id("card-number").is_enabled()
    assert page.find("#payment-form").get_attribute("aria-busy") == "true"
    assert page.by_id("pay").text == "Processing…"
    page.shot("working")
    page.wait_success()


def test_double_click_on_pay_creates_one_intent(checkout):
    page = checkout.open()
    page.fill(number=CARD_SUCCEEDS)
    ActionChains(page.driver).double_click(page.by_id("pay")).perform()
    page.wait_success()
    time.sleep(0.5)  # a second submission, if any, would have reached the server by now
    assert page.server.count("SELECT count(*) FROM payment_intents") == 1
    assert page.server.count("SELECT count(*) FROM payment_methods") == 1
    events = page.network()
    assert len(page.requests_to(events, "/pay")) == 1
    assert len(page.requests_to(events, "/v1/payment_methods")) == 1


def one_payment_sent_twice(page):
    """Waits for the page's success, and checks that one intent succeeded through two POST /pay with one key.
    Returns the DevTools network events and the two requests."""
    intent_id = page.wait_success()
    assert intents(page.server) == [(intent_id, "succeeded")]
    events = page.network()
    pays = page.requests_to(events, "/pay")
    assert len(pays) == 2
    keys = [header(p["request"]["headers"], "Idempotency-Key") for p in pays]
    assert keys[0] == keys[1] and UUID.match(keys[0])
    return events, pays


def test_lost_answer_is_retried_with_the_same_key_and_charges_once(checkout_desktop):
    page = checkout_desktop.open()
    # The first POST /pay reaches the server, but its answer is lost on the way back.
    page.driver.execute_script(
        """
        const realFetch = window.fetch;
        let lost = false;
        window.fetch = async (url, init) => {
          const response = await realFetch(url, init);
          if (String(url).endsWith('/pay') && !lost) { lost = true; throw new TypeError('Failed to fetch'); }
          return response;
        };
        """
    )
    page.fill(number=CARD_SUCCEEDS)
    page.by_id("pay").click()
    events, pays = one_payment_sent_twice(page)
    assert pays[0]["request"]["postData"] == pays[1]["request"]["postData"]
    replayed = [
        e["params"]["response"]
        for e in events
        if e["method"] == "Network.responseReceived" and e["params"]["requestId"] == pays[1]["requestId"]
    ]
    assert replayed and header(replayed[0]["headers"], "Idempotent-Replayed") == "true"


@pytest.mark.settings(PAYMENTS_FAULT_POINT="after-network", PAYMENTS_FAULT_ACTION="fail")
def test_server_error_is_retried_with_the_same_key_and_charges_once(checkout_desktop):
    # Given a server whose first payment is approved by the network and then not recorded (a 500 saying to retry
    # with the same key, as when the network answers too late or the database is locked)
    page = checkout_desktop.open()
    page.fill(number=CARD_SUCCEEDS)
    # When the shopper pays
    page.by_id("pay").click()
    # Then the page sends the same request again, key and body, and shows the one payment (it showed the 500's
    # message and dropped the key: the shopper's next Pay was a second payment)
    events, pays = one_payment_sent_twice(page)
    statuses = [
        e["params"]["response"]["status"]
        for e in events
        if e["method"] == "Network.responseReceived" and e["params"]["requestId"] in {p["requestId"] for p in pays}
    ]
    assert sorted(statuses) == [200, 500], statuses


def test_reload_while_paying_after_a_price_change_shows_what_was_charged(checkout_desktop, tmp_path):
    # Given a page that loaded the T-shirt at $14.00, and a merchant who raised its price since
    page = checkout_desktop.open()
    raise_the_tshirt_to_15_dollars(page, tmp_path)
    # And a POST /pay that reaches the server, which pays, but whose answer the page never sees
    pay_without_seeing_the_answer(page)
    # When the shopper reloads, and the page settles that payment
    page.driver.refresh()
    page.wait_success()
    # Then the receipt shows what the card was charged (it showed the $14.00 the page had loaded)
    assert page.server.query("SELECT amount FROM payment_intents") == [(1500,)]
    assert "$15.00" in page.by_id("success-message").text, page.by_id("success-message").text


def test_answers_lost_then_another_item_replays_the_first_payment(checkout_desktop):
    page = checkout_desktop.open()
    # Every answer to POST /pay is lost on the way back: the payment goes through, the page cannot tell.
    page.driver.execute_script(
        """
        const realFetch = window.fetch;
        window.dropPayAnswers = true;
        window.fetch = async (url, init) => {
          const response = await realFetch(url, init);
          if (String(url).endsWith('/pay') && window.dropPayAnswers) throw new TypeError('Failed to fetch');
          return response;
        };
        """
    )
    page.fill(number=CARD_SUCCEEDS)
    page.by_id("pay").click()
    page.wait_alert()
    page.wait_idle()
    assert [status for _, status in intents(page.server)] == ["succeeded"]
    # The connection is back; the shopper picks another item and pays again.
    page.driver.execute_script("window.dropPayAnswers = false;")
    page.find("input[name=item][value=tote]").click()
    page.by_id("pay").click()
    intent_id = page.wait_success()
    # The page shows the payment that went through, for the item it was for; nothing else was charged.
    assert intents(page.server) == [(intent_id, "succeeded")]
    assert "¥2,000" not in page.by_id("success-message").text
    assert page.server.count("SELECT count(*) FROM payment_methods") == 1


def test_reload_while_paying_resumes_that_payment_instead_of_paying_again(checkout_desktop):
    page = checkout_desktop.open()
    # The POST /pay reaches the server, which pays, but the page never sees the answer.
    pay_without_seeing_the_answer(page)
    # What the page keeps for it holds no card data (a browser may write session storage to disk)
    stored = page.driver.execute_script("return JSON.stringify(Object.assign({}, sessionStorage));")
    assert "payments-checkout-unsettled" in stored
    assert CARD_SUCCEEDS not in stored and "4242 4242" not in stored and '"123"' not in stored, stored
    # The shopper reloads: the page settles that payment (a replay), and shows it.
    page.driver.refresh()
    intent_id = page.wait_success()
    assert intents(page.server) == [(intent_id, "succeeded")]
    pays = page.requests_to(page.network(), "/pay")
    assert pays and header(pays[-1]["request"]["headers"], "Idempotency-Key")
    # Settled: the next visit is a fresh form.
    page.open()
    assert page.by_id("payment-form").is_displayed() and not page.by_id("success").is_displayed()
    assert page.server.count("SELECT count(*) FROM payment_intents") == 1


# MARK: - Saving the card for later


def test_save_card_with_3ds_then_recharge_charges_it(checkout):
    page = checkout.open()
    page.by_id("save-card").click()
    assert page.by_id("pay").text == "Save card"
    assert not page.find("input[name=item]").is_enabled()  # saving pays for no product
    page.fill(number=CARD_3DS)
    page.by_id("pay").click()

    dialog = page.wait(lambda d: d.find_element(By.CSS_SELECTOR, "[role=dialog]"))
    assert page.by_id(dialog.get_attribute("aria-labelledby")).text == "Confirm your card"
    enter_3ds_frame(page)
    assert "saved for later payments" in page.find("body").text
    page.by_id("complete").click()
    page.driver.switch_to.default_content()

    setup_id = page.wait_success()
    assert setup_id.startswith("seti_")
    assert page.by_id("success-heading").text == "Card saved"
    assert "ending in 3155" in page.by_id("success-message").text
    assert page.by_id("reference-label").text == "Setup reference"
    # The button offers another card, not another payment (the form stays on saving)
    assert page.by_id("again").text == "Save another card"
    # The card is saved to a new customer, ready for off-session charges, and nothing was paid.
    [(status, customer, card)] = page.server.query("SELECT status, customer, payment_method FROM setup_intents")
    assert status == "succeeded" and customer.startswith("cus_")
    assert customer in page.by_id("success-message").text
    assert page.server.query("SELECT customer, off_session_ready FROM payment_methods WHERE id = ?", card) == [
        (customer, 1)
    ]
    assert page.server.count("SELECT count(*) FROM payment_intents") == 0
    events = page.network()
    saves = page.requests_to(events, "/save-card")
    assert len(saves) == 1 and not page.requests_to(events, "/pay")
    # And the page asked for no favicon (a 404 in the console on every load)
    assert page.requests_to(events, "/favicon.ico", method="GET") == []
    assert saves[0]["request"]["postData"] == f'{{"payment_method_id":"{card}"}}'
    assert UUID.match(header(saves[0]["request"]["headers"], "Idempotency-Key"))

    # payments recharge then charges the saved card off-session, without 3-D Secure.
    csv_in = page.server.workdir / "recharge.csv"
    csv_out = page.server.workdir / "recharge-out.csv"
    csv_in.write_text(f"customer,amount,currency,reference\n{customer},1500,usd,browser-{setup_id}\n")
    run = subprocess.run(
        [page.server.binary, "recharge", "--db", str(page.server.db), "--input", str(csv_in), "--output",
         str(csv_out)],
        cwd=REPO,  # config/ and migrations/ are read from the working directory, as the server's are
        env={k: v for k, v in os.environ.items() if not k.startswith("PAYMENTS_")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert ",succeeded," in csv_out.read_text()
    assert page.server.query("SELECT status, amount_received, customer FROM payment_intents") == [
        ("succeeded", 1500, customer)
    ]


def test_save_card_declined_shows_the_decline_and_saves_nothing(checkout_desktop):
    page = checkout_desktop.open()
    page.by_id("save-card").click()
    page.fill(number=CARD_INSUFFICIENT_FUNDS)
    page.by_id("pay").click()

    assert page.wait_alert() == "Your card has insufficient funds."
    page.wait_idle()
    assert page.by_id("pay").text == "Save card"
    page.shot("declined")
    assert page.server.query("SELECT status FROM setup_intents") == [("requires_payment_method",)]
    assert page.server.count("SELECT count(*) FROM payment_methods WHERE customer IS NOT NULL") == 0

    # Unticked, the same form pays again.
    page.by_id("save-card").click()
    assert "$14.00" in page.by_id("pay").text
    page.fill(number=CARD_SUCCEEDS)
    page.by_id("pay").click()
    assert page.wait_success().startswith("pi_")
    assert page.by_id("success-heading").text == "Payment succeeded"


# MARK: - Validation in the page


@pytest.mark.parametrize(
    ("field", "values", "message"),
    [
        ("card-number", {"number": "4242 4242 4242 4241"}, "Your card number is invalid."),
        ("card-expiry", {"expiry": "0120"}, "Your card's expiry date is in the past."),
        ("card-cvc", {"cvc": ""}, "Enter your card's security code."),
    ],
    ids=["invalid-number", "past-expiry", "empty-cvc"],
)
def test_invalid_input_is_refused_before_any_request(checkout_phone, field, values, message):
    page = checkout_phone.open()
    page.fill(**values)
    submit_with_enter(page)

    error_id = f"{field}-error"
    page.wait(lambda d: d.find_element(By.ID, error_id).text == message)
    element = page.by_id(field)
    assert element.get_attribute("aria-invalid") == "true"
    assert error_id in element.get_attribute("aria-describedby").split()
    assert page.driver.switch_to.active_element == element  # focus on the invalid field
    assert page.by_id("pay").is_enabled()
    time.sleep(0.3)
    events = page.network()
    assert not page.requests_to(events, "/v1/payment_methods")
    assert not page.requests_to(events, "/pay")
    assert page.server.count("SELECT count(*) FROM payment_methods") == 0
    assert page.server.count("SELECT count(*) FROM payment_intents") == 0


def test_pay_pressed_with_the_mouse_while_a_field_is_wrong_submits_once(checkout_desktop):
    # Given a postal code that is wrong, the focus still in it, and a count of the form's submissions
    page = checkout_desktop.open()
    page.fill(postal="!")
    assert page.driver.switch_to.active_element == page.by_id("postal-code")
    page.driver.execute_script(
        "window.submits = 0; document.getElementById('payment-form').addEventListener('submit', () => window.submits++);"
    )
    # When the shopper presses Pay with the mouse (down, then up, where the button was)
    ActionChains(page.driver).move_to_element(page.by_id("pay")).click().perform()
    # Then the press submits the form: its check shows the error and puts the focus on the field (leaving the field
    # on the press showed its error above the button, which moved from under the pointer: the click was lost)
    page.wait(lambda d: d.execute_script("return window.submits") == 1, message="the press did not submit")
    page.wait(lambda d: d.find_element(By.ID, "postal-code-error").text.strip() != "")
    assert page.driver.switch_to.active_element == page.by_id("postal-code")
    assert page.server.count("SELECT count(*) FROM payment_methods") == 0


@pytest.mark.settings(PAYMENTS_RATE_LIMIT="0.01", PAYMENTS_RATE_LIMIT_BURST="1")
def test_rate_limited_card_creation_says_the_service_is_busy(checkout_desktop):
    # Given a publishable key whose one request of the moment is spent
    page = checkout_desktop.open()
    publishable = page.driver.execute_script(
        "return fetch('/checkout/config.json').then((r) => r.json()).then((c) => c.publishable_key);"
    )
    spent = urllib.request.Request(
        f"{page.server.url}/v1/payment_methods",
        data=b"type=card&card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2040&card[cvc]=123",
        headers={"Authorization": f"Bearer {publishable}"},
    )
    with urllib.request.urlopen(spent, timeout=10) as answer:
        assert answer.status == 200
    # When the shopper pays
    page.fill(number=CARD_SUCCEEDS)
    page.by_id("pay").click()
    # Then the page says, in its words, that the service is busy (it showed the API's advice to developers about
    # exponential backoff), and nothing was paid
    message = page.wait_alert()
    assert message == "The payment service is busy. Press Pay again in a moment; you will not be charged twice.", message
    assert page.server.count("SELECT count(*) FROM payment_intents") == 0


def test_all_problems_shown_and_focus_on_the_first(checkout):
    page = checkout.open()
    page.fill(number="4000 0000 0000 0001", expiry="0120", cvc="1", postal="")
    # The messages shown on leaving each field push Pay below a phone's screen: bring it up as a thumb would
    # (Selenium's own scrolling misses it under the emulated phone viewport).
    pay = page.by_id("pay")
    page.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", pay)
    pay.click()
    page.wait(lambda d: d.find_element(By.ID, "card-number-error").text == "Your card number is invalid.")
    assert page.by_id("card-expiry-error").text == "Your card's expiry date is in the past."
    assert page.by_id("card-cvc-error").text == "Your card's security code is incomplete."
    assert page.by_id("postal-code-error").text == "Enter your postal code."
    assert page.driver.switch_to.active_element == page.by_id("card-number")
    # Fixing a field clears its message as soon as it is right.
    page.by_id("card-cvc").send_keys("23")
    page.wait(lambda d: d.find_element(By.ID, "card-cvc-error").text == "")
    assert page.by_id("card-cvc").get_attribute("aria-invalid") == "false"
    page.by_id("card-cvc").send_keys(Keys.BACKSPACE)
    assert not page.requests_to(page.network(), "/v1/payment_methods")
    assert page.server.count("SELECT count(*) FROM payment_methods") == 0


def test_number_grouping_brands_and_expiry_format(checkout_desktop):
    page = checkout_desktop.open()
    number = page.by_id("card-number")
    cases = [
        ("4242424242424242", "4242 4242 4242 4242", "Visa"),
        ("5555555555554444", "5555 5555 5555 4444", "Mastercard"),
        ("2223003122003222", "2223 0031 2200 3222", "Mastercard"),
        ("378282246310005", "3782 822463 10005", "American Express"),
        ("6011111111111117", "6011 1111 1111 1117", "Discover"),
        ("3566002020360505", "3566 0020 2036 0505", "JCB"),
        ("36227206271667", "3622 720627 1667", "Diners Club"),
        ("6200000000000005", "6200 0000 0000 0005", "UnionPay"),
        ("42424242424242429999", "4242 4242 4242 4242 999", "Visa"),  # at most 19 digits
    ]
    for typed, shown, brand in cases:
        number.clear()
        number.send_keys(typed)
        assert number.get_attribute("value") == shown, typed
        assert page.by_id("card-brand").text == brand, typed
    # Amex takes a 4-digit CVC; 3 digits are not enough.
    number.clear()
    number.send_keys("378282246310005")
    cvc = page.by_id("card-cvc")
    assert cvc.get_attribute("maxlength") == "4"
    cvc.send_keys("123")
    page.by_id("pay").click()
    page.wait(lambda d: d.find_element(By.ID, "card-cvc-error").text == "Your card's security code is incomplete.")

    expiry = page.by_id("card-expiry")
    for typed, shown in [
        ("1230", "12 / 30"),
        ("5", "05 / "),
        ("0", "0"),
        # A one-digit month ended by a separator, and a year typed in full, key by key
        ("1/30", "01 / 30"),
        ("1 / 30", "01 / 30"),
        ("12/2030", "12 / 30"),
        # Full-width digits and slash, as a Japanese input method types them
        ("１２／３０", "12 / 30"),
    ]:
        expiry.clear()
        expiry.send_keys(typed)
        assert expiry.get_attribute("value") == shown, typed
    number.clear()
    number.send_keys("４２４２４２４２４２４２４２４２")
    assert number.get_attribute("value") == "4242 4242 4242 4242"
    cvc.clear()
    cvc.send_keys("１２３")
    assert cvc.get_attribute("value") == "123"
    # Autofill and paste may bring a four-digit year.
    page.driver.execute_script(
        "arguments[0].value = '12/2031';"
        "arguments[0].dispatchEvent(new InputEvent('input', {inputType: 'insertFromPaste', bubbles: true}));",
        expiry,
    )
    assert expiry.get_attribute("value") == "12 / 31"
    expiry.clear()
    expiry.send_keys("12")
    expiry.send_keys(Keys.BACKSPACE)  # deleting the separator does not put it back
    assert expiry.get_attribute("value") in ("12", "12 /")
    # Phone keyboards and autofill: numeric input modes and autocomplete tokens on the card fields.
    for element_id, mode, token in [
        ("card-number", "numeric", "cc-number"),
        ("card-expiry", "numeric", "cc-exp"),
        ("card-cvc", "numeric", "cc-csc"),
        ("postal-code", None, "postal-code"),
    ]:
        element = page.by_id(element_id)
        assert element.get_attribute("inputmode") == mode, element_id
        assert element.get_attribute("autocomplete") == token, element_id
        label = page.find(f"label[for={element_id}]")
        assert label.text.strip(), element_id


# MARK: - Japanese


def test_japanese_browser_gets_the_japanese_page(checkout_ja):
    page = checkout_ja.open()
    assert page.driver.execute_script("return navigator.languages[0]").startswith("ja")
    assert page.driver.execute_script("return document.documentElement.lang") == "ja"
    assert page.driver.title == "お支払い"
    assert page.find("h1").text == "お支払い"
    assert page.find("label[for=card-number]").text == "カード番号"
    assert page.find("label[for=card-expiry]").text == "有効期限"
    assert page.find("label[for=card-cvc]").text == "セキュリティコード"
    assert page.find("label[for=postal-code]").text == "郵便番号"
    assert page.by_id("pay").text == "$14.00 を支払う"

    page.by_id("pay").click()
    page.wait(lambda d: d.find_element(By.ID, "card-number-error").text == "カード番号を入力してください。")
    assert page.by_id("card-cvc-error").text == "セキュリティコードを入力してください。"
    page.shot("validation")

    page.fill(number=CARD_INSUFFICIENT_FUNDS)
    page.by_id("pay").click()
    assert page.wait_alert() == "カードの残高が不足しています。"
    page.wait_idle()
    page.shot("decline")

    # The 3-D Secure modal of payments.js speaks Japanese too.
    page.fill(number=CARD_3DS)
    page.by_id("pay").click()
    dialog = page.wait(lambda d: d.find_element(By.CSS_SELECTOR, "[role=dialog]"))
    assert page.by_id(dialog.get_attribute("aria-labelledby")).text == "お支払いの確認"
    assert dialog.find_element(By.TAG_NAME, "button").get_attribute("aria-label") == "認証をキャンセル"
    # and so does the challenge page inside it (it was English on this page before)
    enter_3ds_frame(page)
    assert page.driver.execute_script("return document.documentElement.lang") == "ja"
    assert page.find("h1").text == "お支払いの認証"
    assert page.by_id("complete").text == "承認する" and page.by_id("fail").text == "失敗させる"
    page.driver.switch_to.default_content()
    dialog.find_element(By.TAG_NAME, "button").click()  # the close button cancels, like Escape
    page.wait(lambda d: d.find_element(By.ID, "form-error").text.startswith("お支払い方法を認証できませんでした"))
    page.wait_idle()


# MARK: - payments.js on its own


def test_payments_js_returns_stripe_shapes(checkout_desktop):
    page = checkout_desktop.open()
    result = page.driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        (async () => {
          const { Payments } = await import('/js/payments.js');
          const config = await (await fetch('/checkout/config.json')).json();
          const payments = Payments(config.publishable_key);
          let secretRefused = false;
          try { Payments('sk_test_123'); } catch (e) { secretRefused = e instanceof TypeError; }
          const card = { number: '4242424242424242', exp_month: 12, exp_year: new Date().getFullYear() + 2, cvc: '123' };
          const ok = await payments.createPaymentMethod({
            type: 'card', card, billing_details: { address: { postal_code: '94107' } },
          });
          const bad = await payments.createPaymentMethod({ type: 'card', card: { ...card, number: '4242424242424241' } });
          const noSecret = await payments.handleCardAction('pi_123');
          const unknown = await payments.handleCardAction('pi_doesnotexist_secret_nope');
          const setupWithPaymentSecret = await payments.handleCardSetup('pi_123_secret_abc');
          const unknownSetup = await payments.handleCardSetup('seti_doesnotexist_secret_nope');
          return { secretRefused, ok, bad, noSecret, unknown, setupWithPaymentSecret, unknownSetup };
        })().then(done, (e) => done({ thrown: String(e) }));
        """
    )
    assert "thrown" not in result, result
    assert result["secretRefused"] is True
    method = result["ok"]["paymentMethod"]
    assert method["id"].startswith("pm_") and method["card"]["last4"] == "4242" and method["card"]["brand"] == "visa"
    assert method["billing_details"]["address"]["postal_code"] == "94107"
    assert "error" not in result["ok"]
    error = result["bad"]["error"]
    assert set(error) >= {"type", "message"} and "paymentMethod" not in result["bad"]
    assert error["type"] in ("card_error", "invalid_request_error")
    assert result["noSecret"]["error"]["type"] == "invalid_request_error"
    assert result["unknown"]["error"]["type"] == "invalid_request_error"
    assert result["setupWithPaymentSecret"]["error"]["message"] == "The client secret is not a SetupIntent client secret."
    assert result["unknownSetup"]["error"]["code"] == "resource_missing"
    assert page.server.count("SELECT count(*) FROM payment_methods") == 1
