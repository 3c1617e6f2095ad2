#!/usr/bin/env python3
"""Runs the official Stripe Python library (PyPI `stripe`) against a running payments server.

    python3 compat/stripe_compat.py --base-url http://127.0.0.1:4242 --secret-key sk_test_...

Each check prints PASS or FAIL; the last line is "N passed, M failed" and the exit status is non-zero when
any check failed. scripts/test makes a virtualenv at .venv with `stripe` installed; run it with .venv/bin/python.
"""

import argparse
import sys
import traceback
import urllib.parse
import urllib.request

try:
    import stripe
except ImportError:
    print("The `stripe` package is not installed for %s. Run scripts/test (it creates .venv with stripe), "
          "then use .venv/bin/python." % sys.executable)
    print("0 passed, 1 failed")
    sys.exit(2)

DEVELOPMENT_PUBLISHABLE_KEY = "pk_test_development_51PaymentsLocalKeyDoNotUse"

CARD_SUCCEEDS = "4242424242424242"
CARD_NEEDS_AUTHENTICATION = "4000002500003155"
CARD_INSUFFICIENT_FUNDS = "4000000000009995"
CARD_REFUND_PENDING = "4000000000007726"


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


class Compat:
    def __init__(self, base_url, secret_key, publishable_key):
        self.base_url = base_url.rstrip("/")
        self.secret_key = secret_key
        self.publishable_key = publishable_key
        self.passed = 0
        self.failed = 0
        self.state = {}
        # The module-level configuration the Stripe docs show, pointed at this server.
        stripe.api_base = self.base_url
        stripe.api_key = secret_key
        stripe.max_network_retries = 0
        # The client object (stripe >= 8) with its own base address.
        self.client = stripe.StripeClient(secret_key, base_addresses={"api": self.base_url}, max_network_retries=0)

    def check(self, name, function):
        try:
            function()
        except Exception as error:  # noqa: BLE001 - every failure is reported, none stops the run
            self.failed += 1
            detail = str(error) if isinstance(error, CheckFailed) else "".join(
                traceback.format_exception_only(type(error), error)).strip()
            print("FAIL %s: %s" % (name, detail))
        else:
            self.passed += 1
            print("PASS %s" % name)
        sys.stdout.flush()

    def need(self, key):
        """What an earlier check created; fails this check when that one failed."""
        if key not in self.state:
            raise CheckFailed("needs %r from an earlier check, which failed" % key)
        return self.state[key]

    def card_payment_method(self, number, api_key=None):
        return stripe.PaymentMethod.create(
            type="card",
            card={"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
            api_key=api_key or self.secret_key,
        )

    # -- the checks, in order; later ones use what earlier ones created --

    def create_payment_method_with_publishable_key(self):
        pm = self.card_payment_method(CARD_SUCCEEDS, api_key=self.publishable_key)
        expect(pm.id.startswith("pm_"), "id %r" % pm.id)
        expect(pm.object == "payment_method", "object %r" % pm.object)
        expect(pm.type == "card", "type %r" % pm.type)
        expect(pm.card.last4 == "4242", "last4 %r" % pm.card.last4)
        expect(pm.card.brand == "visa", "brand %r" % pm.card.brand)
        expect(pm.card.exp_month == 12 and pm.card.exp_year == 2034, "expiry %r/%r" % (pm.card.exp_month, pm.card.exp_year))
        expect("number" not in pm.card and "cvc" not in pm.card, "the card's number or CVC came back")
        self.state["pm"] = pm.id

    def retrieve_payment_method(self):
        pm = stripe.PaymentMethod.retrieve(self.need("pm"))
        expect(pm.id == self.need("pm"), "id %r" % pm.id)
        expect(pm.card.last4 == "4242", "last4 %r" % pm.card.last4)

    def create_confirmed_payment_intent(self):
        pi = stripe.PaymentIntent.create(
            amount=1099, currency="usd", payment_method=self.need("pm"), confirm=True,
            metadata={"order": "compat-1"},
        )
        expect(pi.id.startswith("pi_"), "id %r" % pi.id)
        expect(pi.status == "succeeded", "status %r" % pi.status)
        expect(pi.amount == 1099 and pi.amount_received == 1099, "amounts %r/%r" % (pi.amount, pi.amount_received))
        expect(pi.currency == "usd", "currency %r" % pi.currency)
        expect(pi.latest_charge and pi.latest_charge.startswith("ch_"), "latest_charge %r" % pi.latest_charge)
        expect(pi.client_secret.startswith(pi.id + "_secret_"), "client_secret %r" % pi.client_secret)
        expect(pi.metadata["order"] == "compat-1", "metadata %r" % pi.metadata)
        self.state["pi"] = pi.id

    def shipping_round_trips(self):
        shipping = {"name": "Jenny Rosen", "phone": "+15555550100", "carrier": "UPS", "tracking_number": "1Z999",
                    "address": {"line1": "510 Townsend St", "city": "San Francisco", "postal_code": "94103",
                                "country": "US"}}
        pi = stripe.PaymentIntent.create(amount=1099, currency="usd", shipping=shipping)
        expect(pi.shipping is not None, "shipping %r" % pi.shipping)
        expect(pi.shipping.name == "Jenny Rosen" and pi.shipping.tracking_number == "1Z999", "shipping %r" % pi.shipping)
        expect(pi.shipping.address.line1 == "510 Townsend St" and pi.shipping.address.country == "US",
               "address %r" % pi.shipping.address)
        expect(pi.shipping.address.line2 is None and pi.shipping.address.state is None, "address %r" % pi.shipping.address)
        again = stripe.PaymentIntent.retrieve(pi.id)
        expect(again.shipping.to_dict() == pi.shipping.to_dict(), "retrieved %r" % again.shipping)
        pi = stripe.PaymentIntent.modify(pi.id, shipping="")
        expect(pi.shipping is None, "after shipping='': %r" % pi.shipping)

    def retrieve_payment_intent(self):
        pi = stripe.PaymentIntent.retrieve(self.need("pi"))
        expect(pi.id == self.need("pi"), "id %r" % pi.id)
        expect(pi.status == "succeeded", "status %r" % pi.status)
        expect(pi.payment_method == self.need("pm"), "payment_method %r" % pi.payment_method)

    def retrieve_with_expand(self):
        pi = stripe.PaymentIntent.retrieve(self.need("pi"), expand=["payment_method", "latest_charge"])
        expect(getattr(pi.payment_method, "id", None) == self.need("pm"), "payment_method %r" % pi.payment_method)
        expect(pi.payment_method.card.last4 == "4242", "expanded card %r" % pi.payment_method.card)
        expect(getattr(pi.latest_charge, "object", None) == "charge", "latest_charge %r" % pi.latest_charge)

    def pinned_old_version_reads_charges(self):
        # A client pinned before 2022-11-15 reads the charge from the intent's `charges` list
        pi = stripe.PaymentIntent.retrieve(self.need("pi"), stripe_version="2020-08-27")
        current = stripe.PaymentIntent.retrieve(self.need("pi"))
        expect("charges" in pi and pi.charges.object == "list", "no charges list in %r" % sorted(pi.to_dict()))
        expect([c.id for c in pi.charges.data] == [current.latest_charge],
               "charges %r, latest_charge %r" % ([c.id for c in pi.charges.data], current.latest_charge))
        expect(pi.charges.data[0].amount_captured == 1099, "charge %r" % pi.charges.data[0])
        expect("charges" not in current, "a current version shows charges")

    def list_payment_intents(self):
        page = stripe.PaymentIntent.list(limit=10)
        expect(page.object == "list", "object %r" % page.object)
        ids = [pi.id for pi in page.auto_paging_iter()]
        expect(self.need("pi") in ids, "%s not in %r" % (self.need("pi"), ids))

    def stripe_client_object(self):
        pi = self.client.v1.payment_intents.retrieve(self.need("pi"))
        expect(pi.id == self.need("pi") and pi.status == "succeeded", "%r %r" % (pi.id, pi.status))
        created = self.client.v1.payment_intents.create(
            params={"amount": 500, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True})
        expect(created.status == "succeeded", "status %r" % created.status)

    def idempotency_key_replays(self):
        key = "compat-" + self.need("pi")
        first = stripe.PaymentIntent.create(
            amount=700, currency="usd", payment_method="pm_card_visa", confirm=True, idempotency_key=key)
        again = stripe.PaymentIntent.create(
            amount=700, currency="usd", payment_method="pm_card_visa", confirm=True, idempotency_key=key)
        expect(first.id == again.id, "two intents for one idempotency key: %r, %r" % (first.id, again.id))
        replayed = again.last_response.headers.get("Idempotent-Replayed")
        expect(replayed == "true", "Idempotent-Replayed %r" % replayed)

    def three_d_secure_requires_action(self):
        pm = self.card_payment_method(CARD_NEEDS_AUTHENTICATION, api_key=self.publishable_key)
        pi = stripe.PaymentIntent.create(
            amount=2000, currency="usd", payment_method=pm.id, confirmation_method="manual", confirm=True)
        expect(pi.status == "requires_action", "status %r" % pi.status)
        expect(pi.next_action.type == "redirect_to_url", "next_action %r" % pi.next_action)
        url = pi.next_action.redirect_to_url.url
        expect(url.startswith(self.base_url + "/3ds/"), "challenge url %r is not on %s" % (url, self.base_url))
        self.state["3ds"] = (pi.id, url)

    def three_d_secure_complete_then_confirm(self):
        intent_id, url = self.need("3ds")
        with urllib.request.urlopen(url, timeout=30) as page:
            html = page.read().decode()
            expect(page.status == 200 and "Complete" in html and "Fail" in html, "challenge page %r" % html[:300])
        body = urllib.parse.urlencode({"outcome": "complete"}).encode()
        with urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=30) as answer:
            expect(answer.status == 200, "challenge answer %r" % answer.status)
        pi = stripe.PaymentIntent.retrieve(intent_id)
        expect(pi.status == "requires_confirmation", "after the challenge: %r" % pi.status)
        pi = stripe.PaymentIntent.confirm(intent_id)
        expect(pi.status == "succeeded", "after confirming again: %r" % pi.status)
        expect(pi.amount_received == 2000, "amount_received %r" % pi.amount_received)

    def insufficient_funds_raises_card_error(self):
        pm = self.card_payment_method(CARD_INSUFFICIENT_FUNDS, api_key=self.publishable_key)
        try:
            stripe.PaymentIntent.create(amount=1099, currency="usd", payment_method=pm.id, confirm=True)
        except stripe.CardError as error:
            expect(error.http_status == 402, "http_status %r" % error.http_status)
            expect(error.code == "card_declined", "code %r" % error.code)
            expect(error.error.decline_code == "insufficient_funds", "decline_code %r" % error.error.decline_code)
            expect(error.user_message, "no message")
            intent = error.error.payment_intent
            expect(intent is not None and intent.id.startswith("pi_"), "payment_intent %r" % intent)
            expect(intent.status == "requires_payment_method", "status %r" % intent.status)
        else:
            raise CheckFailed("no stripe.CardError was raised")

    def publishable_key_cannot_list(self):
        try:
            stripe.PaymentIntent.list(limit=1, api_key=self.publishable_key)
        except (stripe.AuthenticationError, stripe.PermissionError):
            pass
        else:
            raise CheckFailed("a publishable key listed payment intents")

    def unknown_parameter_is_invalid_request(self):
        try:
            stripe.PaymentIntent.create(amount=1099, currency="usd", no_such_parameter="x")
        except stripe.InvalidRequestError as error:
            expect(error.http_status == 400, "http_status %r" % error.http_status)
            expect(error.param == "no_such_parameter", "param %r" % error.param)
        else:
            raise CheckFailed("no stripe.InvalidRequestError was raised")

    def missing_object_is_invalid_request(self):
        try:
            stripe.PaymentIntent.retrieve("pi_doesnotexist000000000000")
        except stripe.InvalidRequestError as error:
            expect(error.http_status == 404, "http_status %r" % error.http_status)
            expect(error.code == "resource_missing", "code %r" % error.code)
        else:
            raise CheckFailed("no stripe.InvalidRequestError was raised")

    def save_card_during_payment(self):
        customer = stripe.Customer.create(email="compat@example.com", name="Compat Customer")
        expect(customer.id.startswith("cus_"), "customer id %r" % customer.id)
        pm = self.card_payment_method(CARD_NEEDS_AUTHENTICATION, api_key=self.publishable_key)
        pi = stripe.PaymentIntent.create(
            amount=1500, currency="usd", customer=customer.id, payment_method=pm.id,
            setup_future_usage="off_session", confirm=True)
        expect(pi.status == "requires_action", "status %r" % pi.status)
        expect(stripe.PaymentMethod.retrieve(pm.id).customer is None, "saved before the customer authenticated")
        body = urllib.parse.urlencode({"outcome": "complete"}).encode()
        request = urllib.request.Request(pi.next_action.redirect_to_url.url, data=body, method="POST")
        with urllib.request.urlopen(request, timeout=30) as answer:
            expect(answer.status == 200, "challenge answer %r" % answer.status)
        pi = stripe.PaymentIntent.retrieve(pi.id)
        expect(pi.status == "succeeded", "automatic confirmation after the challenge: %r" % pi.status)
        saved = stripe.Customer.list_payment_methods(customer.id, type="card")
        expect([m.id for m in saved.data] == [pm.id], "saved cards %r" % [m.id for m in saved.data])
        self.state["saved"] = (customer.id, pm.id)

    def charge_saved_card_off_session(self):
        customer, pm = self.need("saved")
        pi = stripe.PaymentIntent.create(
            amount=2500, currency="usd", customer=customer, payment_method=pm, off_session=True, confirm=True)
        expect(pi.status == "succeeded", "off-session charge of a set-up 3155: %r" % pi.status)
        expect(pi.amount_received == 2500, "amount_received %r" % pi.amount_received)

    def off_session_authentication_required(self):
        customer, _ = self.need("saved")
        pm = stripe.PaymentMethod.attach(
            self.card_payment_method("4000002760003184").id, customer=customer)
        try:
            stripe.PaymentIntent.create(
                amount=2500, currency="usd", customer=customer, payment_method=pm.id, off_session=True, confirm=True)
        except stripe.CardError as error:
            expect(error.code == "authentication_required", "code %r" % error.code)
            intent = error.error.payment_intent
            expect(intent.status == "requires_payment_method", "status %r" % intent.status)
        else:
            raise CheckFailed("no stripe.CardError for a card that always needs authentication")

    def retrieve_charge(self):
        pi = stripe.PaymentIntent.retrieve(self.need("pi"))
        charge = stripe.Charge.retrieve(pi.latest_charge)
        expect(charge.id == pi.latest_charge and charge.object == "charge", "%r %r" % (charge.id, charge.object))
        expect(charge.amount == 1099 and charge.amount_captured == 1099 and charge.amount_refunded == 0,
               "amounts %r/%r/%r" % (charge.amount, charge.amount_captured, charge.amount_refunded))
        expect(charge.status == "succeeded" and charge.paid and charge.captured and not charge.refunded,
               "status %r paid %r captured %r refunded %r" % (charge.status, charge.paid, charge.captured,
                                                            charge.refunded))
        expect(charge.payment_intent == pi.id, "payment_intent %r" % charge.payment_intent)
        expect(charge.payment_method == self.need("pm"), "payment_method %r" % charge.payment_method)
        expect(charge.payment_method_details.card.last4 == "4242", "card %r" % charge.payment_method_details)
        expect(charge.outcome.type == "authorized", "outcome %r" % charge.outcome)
        expect(charge.metadata["order"] == "compat-1", "metadata %r" % charge.metadata)
        expect(charge.refunds.object == "list" and charge.refunds.data == [], "refunds %r" % charge.refunds)
        expanded = stripe.Charge.retrieve(charge.id, expand=["payment_intent"])
        expect(getattr(expanded.payment_intent, "id", None) == pi.id, "expanded %r" % expanded.payment_intent)
        # A path below the first field, as Stripe's docs expand one: the intent's payment method inside the intent
        nested = stripe.Charge.retrieve(charge.id, expand=["payment_intent.payment_method"])
        card = getattr(nested.payment_intent, "payment_method", None)
        expect(getattr(card, "id", None) == self.need("pm") and card.card.last4 == "4242", "nested %r" % card)

    def list_charges_by_payment_intent(self):
        pi = stripe.PaymentIntent.retrieve(self.need("pi"))
        page = stripe.Charge.list(payment_intent=pi.id)
        expect(page.object == "list" and page.url == "/v1/charges", "list %r %r" % (page.object, page.url))
        expect([c.id for c in page.data] == [pi.latest_charge], "charges %r" % [c.id for c in page.data])

    def list_charges_by_customer_auto_paging(self):
        customer = stripe.Customer.create(email="charges@example.com")
        made = []
        for amount in (500, 600, 700):
            pi = stripe.PaymentIntent.create(
                amount=amount, currency="usd", customer=customer.id, payment_method="pm_card_visa", confirm=True)
            made.append(pi.latest_charge)
        first = stripe.Charge.list(customer=customer.id, limit=2)
        expect(len(first.data) == 2 and first.has_more, "first page %r, has_more %r" % (
            [c.id for c in first.data], first.has_more))
        every = [c.id for c in first.auto_paging_iter()]
        expect(every == list(reversed(made)), "auto-paging %r, made %r" % (every, made))
        expect(all(c.customer == customer.id for c in first.data), "customers %r" % [c.customer for c in first.data])

    def refund_pending_card(self):
        pm = self.card_payment_method(CARD_REFUND_PENDING, api_key=self.publishable_key)
        pi = stripe.PaymentIntent.create(amount=1200, currency="usd", payment_method=pm.id, confirm=True)
        expect(pi.status == "succeeded", "status %r" % pi.status)
        refund = stripe.Refund.create(payment_intent=pi.id)
        expect(refund.status == "pending", "refund status %r" % refund.status)
        expect(refund.amount == 1200 and refund.charge == pi.latest_charge, "refund %r" % refund)
        charge = stripe.Charge.retrieve(pi.latest_charge)
        expect(charge.amount_refunded == 1200 and charge.refunded, "charge %r/%r" % (charge.amount_refunded,
                                                                                   charge.refunded))
        expect([r.status for r in charge.refunds.data] == ["pending"], "charge refunds %r" % charge.refunds)

    def list_and_retrieve_events(self):
        pi = stripe.PaymentIntent.retrieve(self.need("pi"))
        page = stripe.Event.list(type="payment_intent.succeeded", limit=100)
        expect(page.object == "list" and page.url == "/v1/events", "list %r %r" % (page.object, page.url))
        mine = [e for e in page.auto_paging_iter() if e.data.object.id == pi.id]
        expect(len(mine) == 1, "payment_intent.succeeded events of %s: %d" % (pi.id, len(mine)))
        event = stripe.Event.retrieve(mine[0].id)
        expect(event.object == "event" and event.type == "payment_intent.succeeded", "event %r" % event.type)
        expect(event.data.object.object == "payment_intent" and event.data.object.status == "succeeded",
               "data.object %r" % event.data.object)
        charges = stripe.Event.list(types=["charge.succeeded", "charge.failed"], limit=5)
        expect(all(e.type in ("charge.succeeded", "charge.failed") for e in charges.data),
               "types %r" % [e.type for e in charges.data])

    def publishable_key_cannot_read_charges(self):
        try:
            stripe.Charge.list(limit=1, api_key=self.publishable_key)
        except (stripe.AuthenticationError, stripe.PermissionError):
            pass
        else:
            raise CheckFailed("a publishable key listed charges")

    # -- SetupIntents: saving a card without charging it --

    def setup_intent_create_then_confirm(self):
        customer = stripe.Customer.create(email="setup@example.com")
        pm = self.card_payment_method(CARD_SUCCEEDS, api_key=self.publishable_key)
        si = stripe.SetupIntent.create(
            customer=customer.id, payment_method=pm.id, usage="off_session", metadata={"plan": "monthly"})
        expect(si.id.startswith("seti_"), "id %r" % si.id)
        expect(si.object == "setup_intent", "object %r" % si.object)
        expect(si.status == "requires_confirmation", "status %r" % si.status)
        expect(si.usage == "off_session", "usage %r" % si.usage)
        expect(si.client_secret.startswith(si.id + "_secret_"), "client_secret %r" % si.client_secret)
        si = stripe.SetupIntent.confirm(si.id)
        expect(si.status == "succeeded", "after confirm: %r" % si.status)
        expect(stripe.PaymentMethod.retrieve(pm.id).customer == customer.id, "the card was not saved to the customer")
        seen = stripe.SetupIntent.retrieve(si.id, client_secret=si.client_secret, api_key=self.publishable_key)
        expect(seen.status == "succeeded" and "metadata" not in seen, "publishable view %r" % seen)
        self.state["setup"] = (customer.id, si.id)

    def setup_intent_modify_and_list(self):
        customer, setup = self.need("setup")
        si = stripe.SetupIntent.modify(setup, metadata={"plan": "yearly"}, description="Card on file")
        expect(si.metadata["plan"] == "yearly", "metadata %r" % si.metadata)
        expect(si.description == "Card on file", "description %r" % si.description)
        page = stripe.SetupIntent.list(customer=customer, limit=10)
        expect(page.object == "list", "object %r" % page.object)
        expect([s.id for s in page.auto_paging_iter()] == [setup], "listed %r" % [s.id for s in page.data])

    def setup_intent_cancel(self):
        si = stripe.SetupIntent.create()
        expect(si.status == "requires_payment_method", "status %r" % si.status)
        si = stripe.SetupIntent.cancel(si.id, cancellation_reason="abandoned")
        expect(si.status == "canceled", "status %r" % si.status)
        expect(si.cancellation_reason == "abandoned", "cancellation_reason %r" % si.cancellation_reason)

    def setup_intent_decline_raises_card_error(self):
        pm = self.card_payment_method(CARD_INSUFFICIENT_FUNDS, api_key=self.publishable_key)
        try:
            stripe.SetupIntent.create(payment_method=pm.id, confirm=True)
        except stripe.CardError as error:
            expect(error.http_status == 402, "http_status %r" % error.http_status)
            expect(error.code == "card_declined", "code %r" % error.code)
            expect(error.error.decline_code == "insufficient_funds", "decline_code %r" % error.error.decline_code)
            setup = error.error.setup_intent
            expect(setup is not None and setup.id.startswith("seti_"), "setup_intent %r" % setup)
            expect(setup.status == "requires_payment_method", "status %r" % setup.status)
            expect(setup.last_setup_error.code == "card_declined", "last_setup_error %r" % setup.last_setup_error)
        else:
            raise CheckFailed("no stripe.CardError was raised")

    def setup_intent_3ds_then_off_session(self):
        customer = stripe.Customer.create(email="setup-3ds@example.com")
        pm = self.card_payment_method(CARD_NEEDS_AUTHENTICATION, api_key=self.publishable_key)
        si = stripe.SetupIntent.create(customer=customer.id, payment_method=pm.id, confirm=True)
        expect(si.status == "requires_action", "status %r" % si.status)
        expect(si.next_action.type == "redirect_to_url", "next_action %r" % si.next_action)
        body = urllib.parse.urlencode({"outcome": "complete"}).encode()
        request = urllib.request.Request(si.next_action.redirect_to_url.url, data=body, method="POST")
        with urllib.request.urlopen(request, timeout=30) as answer:
            expect(answer.status == 200, "challenge answer %r" % answer.status)
        si = stripe.SetupIntent.retrieve(si.id)
        expect(si.status == "succeeded", "after the challenge: %r" % si.status)
        pi = stripe.PaymentIntent.create(
            amount=3000, currency="usd", customer=customer.id, payment_method=pm.id, off_session=True, confirm=True)
        expect(pi.status == "succeeded", "off-session charge of a 3155 set up by a SetupIntent: %r" % pi.status)

    def run(self):
        checks = [
            ("create a PaymentMethod from a card number (publishable key)", self.create_payment_method_with_publishable_key),
            ("retrieve the PaymentMethod", self.retrieve_payment_method),
            ("create a confirmed PaymentIntent: succeeded", self.create_confirmed_payment_intent),
            ("retrieve the PaymentIntent", self.retrieve_payment_intent),
            ("PaymentIntent.create(shipping={...}) round-trips; modify(shipping='') unsets it", self.shipping_round_trips),
            ("retrieve with expand[]", self.retrieve_with_expand),
            ("pinned to 2020-08-27: pi.charges.data[0] is the charge", self.pinned_old_version_reads_charges),
            ("list PaymentIntents includes the new one", self.list_payment_intents),
            ("Charge.retrieve(pi.latest_charge), and with expand[]", self.retrieve_charge),
            ("Charge.list(payment_intent=...)", self.list_charges_by_payment_intent),
            ("Charge.list(customer=..., limit=2) and auto-pagination", self.list_charges_by_customer_auto_paging),
            ("7726: Refund.create is pending, and the charge lists it", self.refund_pending_card),
            ("a publishable key cannot list charges", self.publishable_key_cannot_read_charges),
            ("Event.list(type=...) with auto-pagination, Event.retrieve, types[]", self.list_and_retrieve_events),
            ("StripeClient with base_addresses", self.stripe_client_object),
            ("an Idempotency-Key replays the first answer", self.idempotency_key_replays),
            ("3155 confirms to requires_action with a challenge URL", self.three_d_secure_requires_action),
            ("3155 challenge completed, confirmed again: succeeded", self.three_d_secure_complete_then_confirm),
            ("9995 raises stripe.CardError card_declined/insufficient_funds", self.insufficient_funds_raises_card_error),
            ("a publishable key cannot list", self.publishable_key_cannot_list),
            ("an unknown parameter raises InvalidRequestError", self.unknown_parameter_is_invalid_request),
            ("a missing object raises InvalidRequestError 404", self.missing_object_is_invalid_request),
            ("3155 saved with setup_future_usage after the challenge", self.save_card_during_payment),
            ("the saved card is charged off-session without authentication", self.charge_saved_card_off_session),
            ("3184 off-session raises CardError authentication_required", self.off_session_authentication_required),
            ("SetupIntent.create, then SetupIntent.confirm: the card is saved", self.setup_intent_create_then_confirm),
            ("SetupIntent.modify and SetupIntent.list", self.setup_intent_modify_and_list),
            ("SetupIntent.cancel with a reason", self.setup_intent_cancel),
            ("9995 at setup raises CardError with the setup intent", self.setup_intent_decline_raises_card_error),
            ("3155 SetupIntent challenge completed, then charged off-session", self.setup_intent_3ds_then_off_session),
        ]
        for name, function in checks:
            self.check(name, function)
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 0 if self.failed == 0 else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:4242", help="the server (default %(default)s)")
    parser.add_argument("--secret-key", required=True, help="the server's secret key (sk_...)")
    parser.add_argument("--publishable-key", default=DEVELOPMENT_PUBLISHABLE_KEY,
                        help="the server's publishable key (default: the development key)")
    arguments = parser.parse_args()
    print("stripe-python %s against %s" % (stripe.VERSION, arguments.base_url))
    return Compat(arguments.base_url, arguments.secret_key, arguments.publishable_key).run()


if __name__ == "__main__":
    sys.exit(main())
