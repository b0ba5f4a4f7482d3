#!/usr/bin/env python3
"""Cross-check of the mock bank's Stripe-like API with the PSP's official Python SDK (`stripe`).

Runs the flows a shop runs through the SDK against a running mock bank: prices, sessions
(create with every accepted parameter, retrieve, expand, list with paging, line items, expire),
paying on the hosted page, the payment intent, partial and full refunds, refunds listed, and
every error path; each object is read attribute by attribute for every field of the PSP's
published fixtures (tests/data/stripe-fixtures.json).

Usage: stripe_sdk_check.py [BASE_URL [SECRET_KEY]]
       (or MOCK_BANK_URL and MOCK_BANK_STRIPE_KEY in the environment)

Exits 0 when everything matches; otherwise prints each difference and exits 1.
"""

import base64
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import stripe

FIXTURES = Path(__file__).resolve().parent.parent / "data" / "stripe-fixtures.json"
DEFAULT_KEY = "sk_test_tpe_mock_bank"

failures = []
checks = 0


def check(cond, what):
    """Records one expectation."""
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print(f"DIFFERENCE: {what}", file=sys.stderr)


def expect_error(kind, fn, what, status=None, code=None, param=None):
    """Runs fn, which must raise the SDK error `kind` with these status, code and param."""
    try:
        fn()
    except kind as e:
        check(status is None or e.http_status == status,
              f"{what}: status {e.http_status}, expected {status}")
        check(code is None or e.code == code, f"{what}: code {e.code!r}, expected {code!r}")
        if param is not None:
            check(getattr(e, "param", None) == param,
                  f"{what}: param {getattr(e, 'param', None)!r}, expected {param!r}")
        body = e.json_body or {}
        check(isinstance(body.get("error"), dict) and "message" in body["error"]
              and "type" in body["error"], f"{what}: error body not in the API's shape: {body}")
        return e
    except stripe.StripeError as e:
        check(False, f"{what}: raised {type(e).__name__} ({e}), expected {kind.__name__}")
        return None
    check(False, f"{what}: no error, expected {kind.__name__}")
    return None


def fixture_keys():
    with open(FIXTURES, encoding="utf-8") as f:
        return {k: set(v) for k, v in json.load(f)["resources"].items()}


def check_fields(obj, resource, keys, extra=()):
    """Every fixture field is readable as an attribute, and the object has no other field."""
    want = keys[resource] | set(extra)
    got = set(obj.to_dict(recursive=False).keys())
    check(got == want, f"{resource} {obj['id'] if 'id' in obj else ''}: fields differ from the fixture: "
                       f"missing {sorted(want - got)}, unexpected {sorted(got - want)}")
    for k in keys[resource]:
        try:
            getattr(obj, k)
        except AttributeError:
            check(False, f"{resource}.{k} raises AttributeError in the SDK")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def post_form(url, fields):
    """POSTs a form to the hosted page; returns (status, Location)."""
    opener = urllib.request.build_opener(NoRedirect)
    data = urllib.parse.urlencode(fields).encode()
    try:
        with opener.open(urllib.request.Request(url, data=data, method="POST")) as r:
            return r.status, r.headers.get("Location")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Location")


def raw(method, url, headers=None):
    """A request outside the SDK; returns (status, parsed JSON or None)."""
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


def main():
    base = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MOCK_BANK_URL", "")).rstrip("/")
    key = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("MOCK_BANK_STRIPE_KEY", DEFAULT_KEY)
    if not base:
        print("usage: stripe_sdk_check.py BASE_URL [SECRET_KEY]", file=sys.stderr)
        return 2
    stripe.api_key = key
    stripe.api_base = base
    stripe.max_network_retries = 0
    keys = fixture_keys()
    print(f"stripe SDK {stripe.VERSION} against {base}")

    # Prices.
    price = stripe.Price.create(currency="eur", unit_amount=1500,
                                product_data={"name": "T-shirt"}, nickname="tee",
                                lookup_key="tee-eur", metadata={"sku": "TS-1"})
    check_fields(price, "price", keys)
    check((price.unit_amount, price.currency, price.type, price.active, str(price.unit_amount_decimal))
          == (1500, "eur", "one_time", True, "1500"), f"price created: {price}")
    check(price.product.startswith("prod_"), f"price.product {price.product!r}")
    again = stripe.Price.retrieve(price.id)
    check(again.id == price.id and again.metadata["sku"] == "TS-1", "price retrieved")
    second = stripe.Price.create(currency="eur", unit_amount=250, product=price.product)
    third = stripe.Price.create(currency="eur", unit_amount=990, product_data={"name": "Mug"})
    listed = [p.id for p in stripe.Price.list(limit=1).auto_paging_iter()]
    check(listed[:3] == [third.id, second.id, price.id],
          f"prices listed newest first across pages: {listed[:3]}")
    check(stripe.Price.list(lookup_keys=["tee-eur"]).data[0].id == price.id, "lookup_keys filter")
    stripe.Price.modify(third.id, active=False)
    check(stripe.Price.retrieve(third.id).active is False, "price deactivated")

    # A session with every parameter the issue lists.
    created = stripe.checkout.Session.create(
        mode="payment",
        success_url="https://shop.example.com/ok?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="https://shop.example.com/cancel",
        client_reference_id="sdk-order-1",
        customer_email="buyer@example.com",
        line_items=[
            {"price": price.id, "quantity": 2},
            {"price_data": {"currency": "eur", "unit_amount": 400,
                            "product_data": {"name": "Sticker"}}, "quantity": 3},
        ],
        billing_address_collection="required",
        phone_number_collection={"enabled": True},
        customer_creation="always",
        payment_method_types=["card"],
        locale="fr",
        submit_type="pay",
        metadata={"order": "1"},
        payment_intent_data={"metadata": {"order": "1"}, "description": "Order 1"},
        expand=["line_items"],
    )
    check_fields(created, "checkout.session", keys, extra=["line_items"])
    check((created.status, created.payment_status, created.amount_total, created.currency)
          == ("open", "unpaid", 4200, "eur"), f"session created: {created.status} "
                                              f"{created.amount_total}")
    check((created.billing_address_collection, created.customer_creation, created.locale,
           created.ui_mode, created.payment_method_types, created.customer)
          == ("required", "always", "fr", "hosted", ["card"], None), "session parameters echoed")
    check(created.phone_number_collection.enabled is True, "phone_number_collection echoed")
    check(created.total_details.amount_discount == 0, "total_details")
    items = created.line_items.data
    check([i.quantity for i in items] == [2, 3], f"expanded line items: {items}")
    check([i.amount_total for i in items] == [3000, 1200], "line item totals")
    check(items[0].price.id == price.id and items[0].description == "T-shirt",
          "line item of an existing price")
    check(items[1].price.active is False and items[1].description == "Sticker",
          "line item of inline price_data")
    for i in items:
        check_fields(i, "item", keys)
        check_fields(i.price, "price", keys)
    got = stripe.checkout.Session.retrieve(created.id, expand=["line_items"])
    check(got.line_items.data[0].id == items[0].id, "retrieve with expand[]=line_items")
    check("line_items" not in stripe.checkout.Session.retrieve(created.id),
          "line_items only when expanded")
    page = stripe.checkout.Session.list_line_items(created.id, limit=1)
    check(len(page.data) == 1 and page.has_more, "line items: first page of one")
    all_items = [i.id for i in page.auto_paging_iter()]
    check(all_items == [i.id for i in items], f"line items paged: {all_items}")

    # Sessions listed with paging: newest first.
    more = [stripe.checkout.Session.create(
        mode="payment", success_url="https://shop.example.com/ok",
        line_items=[{"price": second.id, "quantity": 1}], client_reference_id=f"sdk-list-{n}")
        for n in range(3)]
    ids = [s.id for s in stripe.checkout.Session.list(limit=2).auto_paging_iter()]
    check(ids[:4] == [more[2].id, more[1].id, more[0].id, created.id],
          f"sessions listed newest first across pages: {ids[:4]}")
    back = stripe.checkout.Session.list(limit=2, ending_before=more[0].id)
    check([s.id for s in back.data] == [more[2].id, more[1].id], "ending_before")

    # Expire.
    expired = stripe.checkout.Session.expire(more[0].id)
    check((expired.status, expired.url) == ("expired", None), "session expired")
    expect_error(stripe.InvalidRequestError, lambda: stripe.checkout.Session.expire(more[0].id),
                 "expiring twice", status=400)

    # Pay on the hosted page.
    status, location = post_form(created.url, {
        "card": "4242 4242 4242 4242", "exp": "12/39", "cvc": "123",
        "email": "buyer@example.com", "phone": "+33612345678", "name": "Jeanne Martin",
        "country": "fr", "action": "pay"})
    check(status == 303 and location == f"https://shop.example.com/ok?session_id={created.id}",
          f"hosted page answer: {status} {location}")
    paid = stripe.checkout.Session.retrieve(created.id)
    check((paid.status, paid.payment_status, paid.url) == ("complete", "paid", None),
          f"session after payment: {paid.status} {paid.payment_status}")
    check(paid.customer is not None and paid.customer.startswith("cus_"),
          f"customer_creation=always made a customer: {paid.customer}")
    details = paid.customer_details
    check((details.email, details.phone, details.name, details.address.country)
          == ("buyer@example.com", "+33612345678", "Jeanne Martin", "FR"),
          f"customer_details: {details}")
    intent = stripe.PaymentIntent.retrieve(paid.payment_intent)
    check_fields(intent, "payment_intent", keys)
    check((intent.status, intent.amount, intent.amount_received, intent.currency,
           intent.description, intent.metadata["order"])
          == ("succeeded", 4200, 4200, "eur", "Order 1", "1"), f"payment intent: {intent}")
    check(intent.latest_charge is not None and intent.latest_charge.startswith("ch_"),
          "latest_charge")
    check(intent.customer == paid.customer, "the intent's customer")
    expanded = stripe.checkout.Session.retrieve(created.id, expand=["payment_intent"])
    check(expanded.payment_intent.id == intent.id, "expand[]=payment_intent")

    # Refunds: partial by payment intent, the rest by charge, then nothing left.
    partial = stripe.Refund.create(payment_intent=intent.id, amount=1000,
                                   reason="requested_by_customer", metadata={"why": "size"})
    check_fields(partial, "refund", keys)
    check((partial.amount, partial.status, partial.charge, partial.payment_intent, partial.reason)
          == (1000, "succeeded", intent.latest_charge, intent.id, "requested_by_customer"),
          f"partial refund: {partial}")
    check(partial.balance_transaction is not None
          and partial.balance_transaction.startswith("txn_"), "balance_transaction")
    expect_error(stripe.InvalidRequestError,
                 lambda: stripe.Refund.create(payment_intent=intent.id, amount=3201),
                 "refund above the rest", status=400, code="amount_too_large", param="amount")
    rest = stripe.Refund.create(charge=intent.latest_charge)
    check((rest.amount, rest.payment_intent, rest.customer) == (3200, intent.id, paid.customer),
          f"refund of the rest: {rest}")
    expect_error(stripe.InvalidRequestError, lambda: stripe.Refund.create(charge=intent.latest_charge),
                 "refund of a fully refunded charge", status=400, code="charge_already_refunded")
    refunds = stripe.Refund.list(payment_intent=intent.id, limit=1)
    check(len(refunds.data) == 1 and refunds.has_more, "refunds: first page of one")
    check([r.id for r in refunds.auto_paging_iter()] == [rest.id, partial.id],
          "refunds listed newest first across pages")
    check(stripe.Refund.retrieve(partial.id).metadata["why"] == "size", "refund retrieved")
    check([r.id for r in stripe.Refund.list(charge=intent.latest_charge).data]
          == [rest.id, partial.id], "refunds by charge")

    # A declined card: the session stays open, the intent tells why.
    declined = more[1]
    status, _ = post_form(declined.url, {"card": "4000000000000002", "exp": "12/39",
                                         "cvc": "123", "action": "pay"})
    check(status == 402, f"declined card page status {status}")
    d = stripe.checkout.Session.retrieve(declined.id, expand=["payment_intent"])
    check(d.status == "open" and d.payment_intent.status == "requires_payment_method",
          "session open after a decline")
    check((d.payment_intent.last_payment_error.code,
           d.payment_intent.last_payment_error.decline_code)
          == ("card_declined", "generic_decline"), "last_payment_error")
    expect_error(stripe.InvalidRequestError,
                 lambda: stripe.Refund.create(payment_intent=d.payment_intent.id),
                 "refund of an unpaid intent", status=400, code="charge_not_refundable")

    # Error paths.
    expect_error(stripe.AuthenticationError,
                 lambda: stripe.checkout.Session.list(api_key="sk_test_wrong"),
                 "wrong key", status=401)
    expect_error(stripe.InvalidRequestError,
                 lambda: stripe.checkout.Session.retrieve("cs_test_nope"),
                 "unknown session", status=404, code="resource_missing")
    expect_error(stripe.InvalidRequestError, lambda: stripe.PaymentIntent.retrieve("pi_nope"),
                 "unknown payment intent", status=404, code="resource_missing")
    expect_error(stripe.InvalidRequestError, lambda: stripe.Price.retrieve("price_nope"),
                 "unknown price", status=404, code="resource_missing")
    expect_error(stripe.InvalidRequestError, lambda: stripe.Refund.retrieve("re_nope"),
                 "unknown refund", status=404, code="resource_missing")
    expect_error(stripe.InvalidRequestError, lambda: stripe.Refund.create(payment_intent="pi_nope"),
                 "refund of an unknown intent", status=404, code="resource_missing")
    expect_error(stripe.InvalidRequestError, lambda: stripe.Refund.create(amount=100),
                 "refund without target", status=400)
    expect_error(stripe.InvalidRequestError, lambda: stripe.checkout.Session.create(
        mode="payment", success_url="https://shop.example.com/ok",
        line_items=[{"price": "price_nope", "quantity": 1}]),
        "unknown price in a line item", status=400, param="line_items[0][price]")
    expect_error(stripe.InvalidRequestError, lambda: stripe.checkout.Session.create(
        mode="payment", success_url="https://shop.example.com/ok",
        line_items=[{"price": third.id, "quantity": 1}]),
        "inactive price in a line item", status=400, param="line_items[0][price]")
    expect_error(stripe.InvalidRequestError, lambda: stripe.checkout.Session.create(
        mode="payment", success_url="https://shop.example.com/ok",
        line_items=[{"price": price.id, "quantity": 1}], amount=5),
        "unknown parameter", status=400, param="amount")
    expect_error(stripe.InvalidRequestError, lambda: stripe.checkout.Session.create(
        mode="payment", success_url="https://shop.example.com/ok",
        line_items=[{"price": price.id, "quantity": 1}], billing_address_collection="maybe"),
        "invalid billing_address_collection", status=400, param="billing_address_collection")
    expect_error(stripe.InvalidRequestError, lambda: stripe.checkout.Session.create(
        mode="payment", line_items=[{"price": price.id, "quantity": 1}]),
        "missing success_url", status=400, param="success_url")
    expect_error(stripe.InvalidRequestError,
                 lambda: stripe.checkout.Session.retrieve(created.id, expand=["customer"]),
                 "unexpandable property", status=400)
    expect_error(stripe.InvalidRequestError,
                 lambda: stripe.checkout.Session.list(starting_after="cs_test_nope"),
                 "unknown cursor", status=404, code="resource_missing")
    expect_error(stripe.InvalidRequestError, lambda: stripe.checkout.Session.list(limit=0),
                 "limit out of range", status=400, param="limit")
    expect_error(stripe.InvalidRequestError, lambda: stripe.Price.create(
        currency="eur", unit_amount=100, product_data={"name": "X"},
        recurring={"interval": "month"}), "recurring price", status=400)
    expect_error(stripe.InvalidRequestError, lambda: stripe.Price.create(
        currency="eur", product_data={"name": "X"}), "price without amount", status=400,
        param="unit_amount")
    idem = dict(mode="payment", success_url="https://shop.example.com/ok",
                line_items=[{"price": price.id, "quantity": 1}])
    first = stripe.checkout.Session.create(**idem, idempotency_key="sdk-idem-1")
    replay = stripe.checkout.Session.create(**idem, idempotency_key="sdk-idem-1")
    check(first.id == replay.id, "idempotent replay")
    expect_error(stripe.IdempotencyError, lambda: stripe.checkout.Session.create(
        **{**idem, "client_reference_id": "other"}, idempotency_key="sdk-idem-1"),
        "idempotency key reused with other parameters", status=400)
    client = stripe.StripeClient(key, base_addresses={"api": base}, max_network_retries=0)
    expect_error(stripe.InvalidRequestError, lambda: client.raw_request("get", "/v1/nothing_here"),
                 "unknown route", status=404)
    expect_error(stripe.InvalidRequestError,
                 lambda: client.raw_request("delete", f"/v1/checkout/sessions/{created.id}"),
                 "unknown method", status=404)

    # HTTP Basic auth, as `curl -u sk_…:` sends it.
    basic = base64.b64encode(f"{key}:".encode()).decode()
    status, body = raw("GET", f"{base}/v1/checkout/sessions?limit=1",
                       {"Authorization": f"Basic {basic}"})
    check(status == 200 and body and body.get("object") == "list", f"Basic auth: {status}")
    status, body = raw("GET", f"{base}/v1/checkout/sessions")
    check(status == 401 and body and body["error"]["type"] == "invalid_request_error",
          f"no key: {status} {body}")

    print(f"{checks} checks, {len(failures)} differences")
    if failures:
        print("FAILED: the mock bank differs from what the stripe SDK expects:", file=sys.stderr)
        for f in failures:
            print(f"  - {f}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except stripe.StripeError as e:
        print(f"FAILED: unexpected SDK error {type(e).__name__}: {e} "
              f"(status {e.http_status}, body {e.http_body!r})", file=sys.stderr)
        sys.exit(1)
