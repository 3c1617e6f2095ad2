#!/usr/bin/env python3
"""Checks the server's objects against Stripe's own OpenAPI schemas (compat/stripe-openapi-subset.json).

    python3 compat/stripe_schemas.py --base-url http://127.0.0.1:4242 --secret-key sk_test_...

Makes every kind of object the server renders, in the states a client meets (a payment succeeded, declined, waiting
for 3-D Secure, held and captured in part, canceled, refunded; a customer and its saved cards; SetupIntents; a
deleted customer; the error bodies), reads each back by its retrieve and list endpoints and in the events, and
validates each one (with `jsonschema_rs`, which schemathesis brings, or `jsonschema`) against the schema Stripe
publishes for it (API version 2023-08-16; see the file's `x-source` and `x-note`). A schema does not forbid extra
fields; it checks that every field Stripe always returns is there, with its type, its enum's values, and null only
where Stripe allows it.

Each object prints PASS or FAIL with its errors; the last line is "N passed, M failed", and the exit status is
non-zero when any failed. scripts/test installs schemathesis into .venv, which brings `jsonschema_rs`.
"""

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

try:
    # The validator schemathesis brings (scripts/test installs it into .venv), or the pure-Python one
    from jsonschema_rs import Draft202012Validator
except ImportError:
    try:
        from jsonschema import Draft202012Validator
    except ImportError:
        print("Neither `jsonschema_rs` nor `jsonschema` is installed for %s. Run scripts/test (it installs "
              "schemathesis, which brings jsonschema_rs, into .venv), then use .venv/bin/python." % sys.executable)
        print("0 passed, 1 failed")
        sys.exit(2)

SCHEMAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stripe-openapi-subset.json")


class Client:
    def __init__(self, base_url, secret_key, publishable_key):
        self.base_url = base_url.rstrip("/")
        self.secret_key = secret_key
        self.publishable_key = publishable_key

    def request(self, method, path, form=None, key=None):
        data = urllib.parse.urlencode(form or []).encode() if method == "POST" else None
        url = self.base_url + path
        if method != "POST" and form:
            url += "?" + urllib.parse.urlencode(form)
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", "Bearer " + (key or self.secret_key))
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def ok(self, method, path, form=None, key=None):
        status, body = self.request(method, path, form, key)
        if status != 200:
            raise RuntimeError("%s %s answered %d: %s" % (method, path, status, body))
        return body

    def card(self, number):
        return self.ok("POST", "/v1/payment_methods", [
            ("type", "card"), ("card[number]", number), ("card[exp_month]", "12"), ("card[exp_year]", "2034"),
            ("card[cvc]", "123"),
        ], key=self.publishable_key)

    def authenticate(self, next_action):
        """Completes a 3-D Secure challenge as the customer would, without following its redirect to return_url."""
        url = next_action["redirect_to_url"]["url"]
        body = urllib.parse.urlencode({"outcome": "complete"}).encode()
        opener = urllib.request.build_opener(KeepRedirect)
        try:
            with opener.open(urllib.request.Request(url, data=body, method="POST"), timeout=30):
                pass
        except urllib.error.HTTPError as error:
            if error.code not in (302, 303):
                raise


class KeepRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *arguments):
        return None


class Checker:
    def __init__(self):
        with open(SCHEMAS) as file:
            self.document = json.load(file)
        self.passed = 0
        self.failed = 0

    def validator(self, schema):
        resolver_schema = dict(schema)
        resolver_schema["components"] = self.document["components"]
        return Draft202012Validator(resolver_schema)

    @staticmethod
    def path(error):
        """Where in the object an error is: jsonschema_rs's `instance_path`, jsonschema's `absolute_path`."""
        return list(getattr(error, "instance_path", None) or getattr(error, "absolute_path", []))

    def check(self, name, body, schema_name):
        if schema_name.startswith("GET "):
            schema = self.document["x-list-responses"][schema_name]
        else:
            schema = {"$ref": "#/components/schemas/" + schema_name}
        errors = sorted(self.validator(schema).iter_errors(body), key=lambda error: [str(part) for part in
                                                                                       self.path(error)])
        if errors:
            self.failed += 1
            print("FAIL %s (%s)" % (name, schema_name))
            for error in errors[:20]:
                path = "/".join(str(part) for part in self.path(error)) or "(the object)"
                print("     %s: %s" % (path, error.message[:300]))
        else:
            self.passed += 1
            print("PASS %s (%s)" % (name, schema_name))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--publishable-key", default="pk_test_development_51PaymentsLocalKeyDoNotUse")
    arguments = parser.parse_args()
    client = Client(arguments.base_url, arguments.secret_key, arguments.publishable_key)
    checker = Checker()
    check = checker.check

    # Payment methods and customers
    visa = client.card("4242424242424242")
    check("a card, created", visa, "payment_method")
    customer = client.ok("POST", "/v1/customers", [
        ("email", "jenny@example.com"), ("name", "Jenny Rosen"), ("metadata[order]", "6735"),
        ("address[line1]", "1 Main St"), ("address[city]", "Springfield"), ("address[country]", "US"),
    ])
    check("a customer, created", customer, "customer")
    attached = client.ok("POST", "/v1/payment_methods/%s/attach" % visa["id"], [("customer", customer["id"])])
    check("a card, attached", attached, "payment_method")
    customer = client.ok("POST", "/v1/customers/" + customer["id"], [
        ("invoice_settings[default_payment_method]", visa["id"]),
    ])
    check("a customer with a default card", customer, "customer")
    check("a customer, expanded", client.ok("GET", "/v1/customers/" + customer["id"], [
        ("expand[]", "invoice_settings.default_payment_method"),
    ]), "customer")
    check("a card, expanded customer", client.ok("GET", "/v1/payment_methods/" + visa["id"], [
        ("expand[]", "customer"),
    ]), "payment_method")

    # Payments in each state
    succeeded = client.ok("POST", "/v1/payment_intents", [
        ("amount", "2000"), ("currency", "usd"), ("payment_method", visa["id"]), ("customer", customer["id"]),
        ("confirm", "true"), ("description", "Order 6735"), ("receipt_email", "jenny@example.com"),
        ("metadata[order]", "6735"), ("shipping[name]", "Jenny Rosen"), ("shipping[address][line1]", "1 Main St"),
    ])
    check("a payment, succeeded", succeeded, "payment_intent")
    check("a payment, everything expanded", client.ok("GET", "/v1/payment_intents/" + succeeded["id"], [
        ("expand[]", "latest_charge"), ("expand[]", "payment_method"), ("expand[]", "customer"),
    ]), "payment_intent")
    check("a payment, expanded below the first fields", client.ok("GET", "/v1/payment_intents/" + succeeded["id"], [
        ("expand[]", "latest_charge.payment_intent.customer"), ("expand[]", "payment_method.customer"),
        ("expand[]", "customer.invoice_settings.default_payment_method"),
    ]), "payment_intent")
    unconfirmed = client.ok("POST", "/v1/payment_intents", [("amount", "1000"), ("currency", "eur")])
    check("a payment, requires_payment_method", unconfirmed, "payment_intent")
    waiting = client.ok("POST", "/v1/payment_intents", [
        ("amount", "1500"), ("currency", "usd"), ("payment_method", client.card("4000002500003155")["id"]),
        ("confirm", "true"), ("capture_method", "manual"), ("return_url", "https://shop.example/done"),
    ])
    check("a payment, requires_action", waiting, "payment_intent")
    client.authenticate(waiting["next_action"])
    held = client.ok("GET", "/v1/payment_intents/" + waiting["id"])
    check("a payment, requires_capture", held, "payment_intent")
    captured = client.ok("POST", "/v1/payment_intents/%s/capture" % held["id"], [("amount_to_capture", "1000")])
    check("a payment, captured in part", captured, "payment_intent")
    canceled = client.ok("POST", "/v1/payment_intents", [
        ("amount", "700"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true"),
        ("capture_method", "manual"),
    ])
    canceled = client.ok("POST", "/v1/payment_intents/%s/cancel" % canceled["id"], [
        ("cancellation_reason", "requested_by_customer"),
    ])
    check("a payment, canceled", canceled, "payment_intent")
    status, declined = client.request("POST", "/v1/payment_intents", [
        ("amount", "900"), ("currency", "usd"), ("payment_method", client.card("4000000000009995")["id"]),
        ("confirm", "true"),
    ])
    check("a decline's error (402)", declined, "error")
    failed = client.ok("GET", "/v1/payment_intents/" + declined["error"]["payment_intent"]["id"])
    check("a payment, declined", failed, "payment_intent")
    check("payments, listed", client.ok("GET", "/v1/payment_intents", [("limit", "10")]), "GET /v1/payment_intents")

    # Charges and refunds
    check("a charge, succeeded", client.ok("GET", "/v1/charges/" + succeeded["latest_charge"]), "charge")
    check("a charge, failed", client.ok("GET", "/v1/charges/" + failed["latest_charge"]), "charge")
    check("a charge, captured in part", client.ok("GET", "/v1/charges/" + captured["latest_charge"]), "charge")
    check("a charge, released", client.ok("GET", "/v1/charges/" + canceled["latest_charge"]), "charge")
    refund = client.ok("POST", "/v1/refunds", [("payment_intent", succeeded["id"]), ("amount", "500"),
                                               ("reason", "requested_by_customer"), ("metadata[rma]", "42")])
    check("a refund, succeeded", refund, "refund")
    check("a charge, refunded in part", client.ok("GET", "/v1/charges/" + succeeded["latest_charge"]), "charge")
    check("a charge, expanded", client.ok("GET", "/v1/charges/" + succeeded["latest_charge"], [
        ("expand[]", "payment_intent"), ("expand[]", "customer"),
    ]), "charge")
    pending = client.ok("POST", "/v1/payment_intents", [
        ("amount", "1200"), ("currency", "usd"), ("payment_method", client.card("4000000000007726")["id"]),
        ("confirm", "true"),
    ])
    pending_refund = client.ok("POST", "/v1/refunds", [("charge", pending["latest_charge"])])
    check("a refund, pending", pending_refund, "refund")
    check("a refund, expanded", client.ok("GET", "/v1/refunds/" + refund["id"], [
        ("expand[]", "charge"), ("expand[]", "payment_intent"),
    ]), "refund")
    check("refunds, listed", client.ok("GET", "/v1/refunds"), "GET /v1/refunds")
    charges = client.ok("GET", "/v1/charges", [("limit", "10")])
    for index, charge in enumerate(charges["data"]):
        check("charges, listed: item %d" % index, charge, "charge")

    # Saved cards, SetupIntents, lists of cards, a deleted customer
    setup = client.ok("POST", "/v1/setup_intents", [
        ("customer", customer["id"]), ("payment_method", client.card("4000002500003155")["id"]), ("confirm", "true"),
        ("usage", "off_session"), ("return_url", "https://shop.example/done"),
    ])
    check("a SetupIntent, requires_action", setup, "setup_intent")
    client.authenticate(setup["next_action"])
    check("a SetupIntent, succeeded", client.ok("GET", "/v1/setup_intents/" + setup["id"]), "setup_intent")
    check("a SetupIntent, requires_payment_method",
          client.ok("POST", "/v1/setup_intents", [("customer", customer["id"])]), "setup_intent")
    off_session = client.ok("POST", "/v1/payment_intents", [
        ("amount", "3000"), ("currency", "usd"), ("customer", customer["id"]),
        ("payment_method", setup["payment_method"]), ("off_session", "true"), ("confirm", "true"),
    ])
    check("a payment, off-session", off_session, "payment_intent")
    check("a customer's cards, listed", client.ok("GET", "/v1/customers/%s/payment_methods" % customer["id"]),
          "GET /v1/customers/{customer}/payment_methods")
    check("cards, listed", client.ok("GET", "/v1/payment_methods", [("customer", customer["id"])]),
          "GET /v1/payment_methods")
    check("customers, listed", client.ok("GET", "/v1/customers"), "GET /v1/customers")
    other = client.ok("POST", "/v1/customers", [("description", "to delete")])
    check("a customer, deleted", client.ok("DELETE", "/v1/customers/" + other["id"]), "deleted_customer")

    # Errors
    for name, method, path, form in [
        ("an unknown parameter (400)", "POST", "/v1/payment_intents", [("amount", "100"), ("colour", "red")]),
        ("a missing object (404)", "GET", "/v1/payment_intents/pi_doesnotexist", None),
        ("a capture in the wrong state (400)", "POST", "/v1/payment_intents/%s/capture" % succeeded["id"], None),
    ]:
        status, body = client.request(method, path, form)
        check("%s: %d" % (name, status), body, "error")

    # Events: each one's object against its type's schema
    schemas = {"payment_intent": "payment_intent", "charge": "charge", "refund": "refund", "customer": "customer",
               "payment_method": "payment_method", "setup_intent": "setup_intent"}
    events = client.ok("GET", "/v1/events", [("limit", "100")])
    seen = set()
    for event in events["data"]:
        data = event["data"]["object"]
        kind = event["type"]
        schema = schemas.get(data.get("object"))
        if kind == "customer.deleted":
            schema = "customer"
        if schema is None or kind in seen:
            continue
        seen.add(kind)
        check("event %s: its object" % kind, data, schema)

    print("%d passed, %d failed" % (checker.passed, checker.failed))
    sys.exit(1 if checker.failed else 0)


if __name__ == "__main__":
    main()
