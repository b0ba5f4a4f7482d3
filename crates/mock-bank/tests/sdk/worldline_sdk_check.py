"""Worldline Direct's official Python SDK (onlinepayments-sdk-python3) against the mock bank.

Usage: worldline_sdk_check.py BASE_URL MERCHANT_ID API_KEY_ID API_SECRET WEBHOOK_KEY_ID WEBHOOK_SECRET

Runs what a shop runs through the SDK: create a hosted checkout (signed with the SDK's own
v1HMAC authenticator), read it, pay it on the mock's hosted page, receive the signed webhook on a
local endpoint and have the SDK's WebhooksHelper validate and read it, read the hosted checkout
and the payment again; then the error paths (wrong secret, unknown id, invalid request), each of
which must raise the SDK's own typed exception. Prints one line per check; exits 1 on the first
difference.
"""

import http.server
import json
import queue
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

from onlinepayments.sdk.api_exception import ApiException
from onlinepayments.sdk.communication.request_header import RequestHeader
from onlinepayments.sdk.communicator_configuration import CommunicatorConfiguration
from onlinepayments.sdk.domain.amount_of_money import AmountOfMoney
from onlinepayments.sdk.domain.create_hosted_checkout_request import CreateHostedCheckoutRequest
from onlinepayments.sdk.domain.hosted_checkout_specific_input import HostedCheckoutSpecificInput
from onlinepayments.sdk.domain.order import Order
from onlinepayments.sdk.domain.order_references import OrderReferences
from onlinepayments.sdk.factory import Factory
from onlinepayments.sdk.json.default_marshaller import DefaultMarshaller
from onlinepayments.sdk.reference_exception import ReferenceException
from onlinepayments.sdk.validation_exception import ValidationException
from onlinepayments.sdk.webhooks.in_memory_secret_key_store import InMemorySecretKeyStore
from onlinepayments.sdk.webhooks.webhooks_helper import WebhooksHelper

CHECKS = 0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


NO_REDIRECT = urllib.request.build_opener(_NoRedirect)


def check(ok, what):
    global CHECKS
    CHECKS += 1
    if not ok:
        print(f"DIFFERENCE: {what}")
        sys.exit(1)
    print(f"ok: {what}")


def client_for(base, key_id, secret):
    config = CommunicatorConfiguration(
        api_endpoint=base,
        api_key_id=key_id,
        secret_api_key=secret,
        authorization_type="v1HMAC",
        connect_timeout=5,
        socket_timeout=10,
        max_connections=2,
        integrator="tpe cross-check",
    )
    return Factory.create_client_from_configuration(config)


def checkout_request(reference, amount=1250):
    order = Order()
    order.amount_of_money = AmountOfMoney()
    order.amount_of_money.amount = amount
    order.amount_of_money.currency_code = "EUR"
    order.references = OrderReferences()
    order.references.merchant_reference = reference
    request = CreateHostedCheckoutRequest()
    request.order = order
    request.hosted_checkout_specific_input = HostedCheckoutSpecificInput()
    request.hosted_checkout_specific_input.return_url = "https://shop.example/retour"
    request.hosted_checkout_specific_input.locale = "fr_FR"
    return request


class Receiver(http.server.BaseHTTPRequestHandler):
    """The shop's webhook endpoint: keeps each body with its headers."""

    received = queue.Queue()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = [RequestHeader(k, v) for k, v in self.headers.items()]
        Receiver.received.put((body, headers))
        self.send_response(200)
        self.end_headers()

    def do_GET(self):
        # Endpoint verification: echo the header back, as the platform expects.
        echo = self.headers.get("X-GCS-Webhooks-Endpoint-Verification", "")
        self.send_response(200)
        self.end_headers()
        self.wfile.write(echo.encode())

    def log_message(self, *args):
        pass


def main():
    base, merchant, key_id, secret, hook_key_id, hook_secret = sys.argv[1:7]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook_url = f"http://127.0.0.1:{server.server_address[1]}/webhooks"
    put = urllib.request.Request(
        f"{base}/_mock/worldline/webhook",
        data=json.dumps({"merchant_id": merchant, "url": hook_url}).encode(),
        headers={"Content-Type": "application/json"},
        method="PUT",
    )
    check(urllib.request.urlopen(put).status == 204, "webhook endpoint registered with the mock")

    client = client_for(base, key_id, secret)
    hosted = client.merchant(merchant).hosted_checkout()

    created = hosted.create_hosted_checkout(checkout_request("order-1042-a1"))
    check(bool(created.hosted_checkout_id), "create: a hosted checkout id")
    check(bool(created.returnmac), "create: a RETURNMAC")
    check(created.merchant_reference == "order-1042-a1", "create: the merchant reference echoed")
    check(
        bool(created.redirect_url) and created.hosted_checkout_id in created.redirect_url,
        f"create: a redirect URL to the hosted page ({created.redirect_url})",
    )

    got = hosted.get_hosted_checkout(created.hosted_checkout_id)
    check(got.status == "IN_PROGRESS", f"get before payment: IN_PROGRESS ({got.status})")

    # The customer pays on the mock's hosted page with the accepted test card.
    redirect = created.redirect_url
    if redirect.startswith("/"):
        redirect = base + redirect
    form = urllib.parse.urlencode({"card": "4012000033330026", "action": "pay"}).encode()
    try:
        page = NO_REDIRECT.open(urllib.request.Request(redirect, data=form, method="POST"))
        status, location = page.status, ""
    except urllib.error.HTTPError as e:  # the redirect to the shop, not followed
        status, location = e.code, e.headers.get("Location", "")
    check(
        status in (302, 303) and location.startswith("https://shop.example/retour"),
        f"hosted page paid, the browser sent back to the shop ({status} {location[:60]})",
    )

    try:
        body, headers = Receiver.received.get(timeout=10)
    except queue.Empty:
        check(False, "a webhook reached the shop's endpoint")
    store = InMemorySecretKeyStore.instance()
    store.store_secret_key(hook_key_id, hook_secret)
    helper = WebhooksHelper(DefaultMarshaller.instance(), store)
    event = helper.unmarshal(body, headers)
    check(event.type is not None and event.type.startswith("payment."), f"webhook: event type {event.type}")
    check(event.payment is not None and bool(event.payment.id), "webhook: the payment and its id")
    payment_id = event.payment.id
    references = event.payment.payment_output.references
    check(
        references is not None and references.merchant_reference == "order-1042-a1",
        "webhook: the merchant reference of the order",
    )

    # A byte changed in the body: the SDK's helper refuses it.
    tampered = body.replace(b"order-1042-a1", b"order-1042-a2")
    try:
        helper.unmarshal(tampered, headers)
        check(False, "webhook: a changed body is refused")
    except Exception as e:  # SignatureValidationException
        check(type(e).__name__ == "SignatureValidationException", f"webhook: a changed body is refused ({type(e).__name__})")

    got = hosted.get_hosted_checkout(created.hosted_checkout_id)
    check(got.status == "PAYMENT_CREATED", f"get after payment: PAYMENT_CREATED ({got.status})")
    check(
        got.created_payment_output is not None and got.created_payment_output.payment.id == payment_id,
        "get after payment: the webhook's payment",
    )
    payment = client.merchant(merchant).payments().get_payment(payment_id)
    check(payment.id == payment_id, "get payment: found")
    check(payment.status_output is not None and payment.status_output.status_code in (5, 9),
          f"get payment: authorized or captured ({payment.status_output.status_code})")
    check(payment.payment_output.amount_of_money.amount == 1250, "get payment: the amount")

    # Error paths, each as the SDK's typed exception.
    wrong = client_for(base, key_id, "not-the-secret")
    try:
        wrong.merchant(merchant).hosted_checkout().create_hosted_checkout(checkout_request("order-1043"))
        check(False, "a wrong secret is refused")
    except ApiException as e:
        # Which status the platform gives a wrong signature is UNSURE (spec G.10): 403 is the
        # SDK's AuthorizationException, 401 its generic ApiException; either must carry the
        # platform's error list.
        check(
            e.status_code in (401, 403) and len(e.errors) > 0 and e.errors[0].http_status_code == e.status_code,
            f"a wrong secret: {type(e).__name__} {e.status_code} with the platform's errors",
        )
    try:
        hosted.get_hosted_checkout("9999999999")
        check(False, "an unknown hosted checkout is refused")
    except ReferenceException as e:
        check(e.status_code == 404, f"an unknown hosted checkout: ReferenceException {e.status_code}")
    try:
        hosted.create_hosted_checkout(checkout_request("order-1044", amount=0))
        check(False, "a zero amount is refused")
    except ValidationException as e:
        check(e.status_code == 400 and len(e.errors) > 0, f"a zero amount: ValidationException {e.status_code}")

    server.shutdown()
    print(f"{CHECKS} checks, 0 differences")


if __name__ == "__main__":
    main()
