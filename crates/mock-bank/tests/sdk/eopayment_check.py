"""Cross-check of the mock bank's Paybox and Lyra sides with eopayment (Entr'ouvert's French
payment library, pinned in requirements.txt), an implementation independent of this project.

For each backend (paybox, systempayv2, payzen) eopayment builds payment requests; they are posted
to the mock bank, which must show its payment page; the page is paid, refused or cancelled; the
notification and the browser return the mock sends are captured by a small local HTTP receiver
and handed to eopayment's response(), which must find the signature good and the right result.
Its worldline backend is a REST client: the mock must take its signed hosted checkouts (with a
merchantReference "<transaction> <order>") and its response() must read the right result back
from the hosted checkout and the payment details.

Usage: eopayment_check.py <mock base URL> [<output JSON file>]

The output file receives the requests eopayment signed (fields and keys), so that the caller can
check that this project's providers compute the same signatures over the same fields.

eopayment has no option for two things, which this script sets from outside:
* Paybox: the payment page URL is a constant of the library (the platform's hosts): the form is
  posted to the same path on the mock instead;
* Paybox: the bank's public key is the default argument of eopayment.paybox.verify (the
  platform's key): it is replaced by the mock's own public key (GET /_mock/keys/paybox.pem);
* Worldline: the preprod host is a class attribute of the backend: set to the mock.
"""

import base64
import http.server
import importlib.metadata
import json
import sys
import threading
import time
import traceback
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import eopayment
import eopayment.paybox
import eopayment.worldline
import requests

PAYBOX_SITE, PAYBOX_RANG, PAYBOX_IDENTIFIANT = '1999888', '32', '107904482'
PAYBOX_KEY = '0123456789ABCDEF' * 8
LYRA_SITE_ID, LYRA_TEST_KEY = '12345678', '1122334455667788'
# 00105 "do not honour": eopayment counts CB code 05 as denied (51, insufficient funds, as an error).
ACCEPTED_PAYBOX, REFUSED_PAYBOX = '1111222233334444', '1111222233330105'
ACCEPTED_LYRA, REFUSED_LYRA = '4970100000000003', '4970100000000051'
# The official SDKs' test merchant, which the mock's Worldline side knows by default.
WORLDLINE_PSPID, WORLDLINE_KEY, WORLDLINE_SECRET = '1', 'EC36A74A98D21', '6Kj5HT0MQKC6D8eb7W3lTg71kVKVDSt1'
ACCEPTED_WORLDLINE, REFUSED_WORLDLINE = '4012000033330026', '4321456998744563'


class Receiver:
    """The shop's side: records every request, answers 200."""

    def __init__(self):
        self.received = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _record(self, method):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length).decode('ascii', 'replace') if length else ''
                path, _, query = self.path.partition('?')
                with receiver.lock:
                    receiver.received.append({'method': method, 'path': path, 'query': query, 'body': body})
                self.send_response(200)
                self.send_header('Content-Type', 'text/plain')
                self.send_header('Content-Length', '2')
                self.end_headers()
                self.wfile.write(b'OK')

            def do_GET(self):
                self._record('GET')

            def do_POST(self):
                self._record('POST')

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = 'http://127.0.0.1:%d' % self.server.server_address[1]

    def wait(self, path, count=1, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                hits = [r for r in self.received if r['path'] == path]
            if len(hits) >= count or time.monotonic() > deadline:
                return hits
            time.sleep(0.02)


class Check:
    def __init__(self):
        self.failures = []
        self.passed = 0

    def expect(self, ok, what):
        if ok:
            self.passed += 1
            print('ok   %s' % what)
        else:
            self.failures.append(what)
            print('FAIL %s' % what)


def split_signed(raw, sig_name='signature'):
    """The signed bytes and the signature of a Paybox answer, as spec 4.3 says: the raw query
    up to the last `&signature=`, and the URL-decoded, base64-decoded value after it."""
    pos = raw.rindex('&%s=' % sig_name)
    return raw[:pos], base64.b64decode(unquote(raw[pos + len(sig_name) + 2 :]))


def requoted(raw):
    """What eopayment's Paybox response() verifies: the answer parsed, then every value
    re-encoded with Python's quote() (it encodes `:` and `!`, which the platform leaves literal)."""
    return '&'.join('%s=%s' % (k, quote(v)) for k, v in parse_qsl(raw, True, True))


def paybox_signature(check, case, channel, raw, response, pem):
    """eopayment's verdict on a Paybox answer, and why when it differs from the raw check."""
    data, sig = split_signed(raw)
    check.expect(
        eopayment.paybox.verify(data, sig, key=pem),
        'paybox %s: eopayment.paybox.verify accepts the %s\'s signature over the raw bytes' % (case, channel),
    )
    same_bytes = requoted(data) == data
    check.expect(
        response.signed == same_bytes,
        'paybox %s: response() says signed=%s for the %s, as expected since its re-encoding %s the raw bytes'
        % (case, response.signed, channel, 'equals' if same_bytes else 'differs from'),
    )


def page_id(html, prefix):
    start = html.index(prefix) + len(prefix)
    return html[start:html.index('"', start)]


def post_form(base, form):
    """Posts an eopayment form to the mock: the same path as the form's URL, on the mock."""
    path = urlsplit(form.url).path
    fields = [(f['name'], f['value']) for f in form.fields]
    return requests.post(base + path, data=fields, allow_redirects=False, timeout=10), fields


def paybox_case(base, receiver, check, out, case, card, pem):
    ipn_path, return_path = '/paybox/%s/ipn' % case, '/paybox/%s/return' % case
    backend = eopayment.Payment(
        'paybox',
        {
            'site': PAYBOX_SITE,
            'rang': PAYBOX_RANG,
            'identifiant': PAYBOX_IDENTIFIANT,
            'shared_secret': PAYBOX_KEY,
            'automatic_return_url': receiver.base + ipn_path,
            # The paid case's return URL has the shop's own parameters: the platform signs them
            # with its variables, and eopayment verifies returns over the whole query.
            'normal_return_url': receiver.base + return_path + ('?lang=fr' if case == 'paid' else ''),
        },
    )
    transaction_id, kind, form = backend.request(
        Decimal('12.34'),
        email='jean.dupont@example.org',
        orderid='ORDER%s' % case.upper(),
        # 3-D Secure v2 data: the platform requires PBX_SHOPPINGCART and PBX_BILLING.
        total_quantity=1,
        first_name='Jean',
        last_name='Dupont',
        address1='1 rue de la Paix',
        zipcode='75002',
        city='Paris',
        country_code=250,
    )
    page, fields = post_form(base, form)
    out['paybox'].append({'key_hex': PAYBOX_KEY, 'fields': fields})
    check.expect(
        page.status_code == 200 and 'action="/paybox/page/' in page.text,
        'paybox %s: the mock shows its payment page for eopayment\'s request (%d)' % (case, page.status_code),
    )
    if page.status_code != 200:
        print(page.text[:2000])
        return
    pid = page_id(page.text, 'action="/paybox/page/')
    if card is None:
        done = requests.post(base + '/paybox/page/' + pid, data={'action': 'cancel'}, allow_redirects=False, timeout=10)
    else:
        done = requests.post(
            base + '/paybox/page/' + pid,
            data={'numero': card, 'expiry': '12/39', 'cvv': '123', 'action': 'pay'},
            allow_redirects=False,
            timeout=10,
        )
    expected = {'paid': eopayment.PAID, 'refused': eopayment.DENIED, 'cancelled': eopayment.CANCELLED}[case]
    location = done.headers.get('Location', '')
    check.expect(
        done.status_code in (302, 303) and location.startswith(receiver.base + return_path),
        'paybox %s: the browser is sent back to the return URL' % case,
    )
    browser = backend.response(urlsplit(location).query)
    paybox_signature(check, case, 'browser return', urlsplit(location).query, browser, pem)
    check.expect(
        browser.result == expected and browser.order_id == transaction_id,
        'paybox %s: the browser return says %s for %s (%s, %s)'
        % (case, expected, transaction_id, browser.result, browser.order_id),
    )
    if case == 'cancelled':
        return
    ipns = receiver.wait(ipn_path)
    check.expect(len(ipns) == 1, 'paybox %s: one notification to PBX_REPONDRE_A' % case)
    if not ipns:
        return
    ipn = ipns[0]
    raw = ipn['query'] or ipn['body']
    response = backend.response(raw, callback=True)
    paybox_signature(check, case, 'notification', raw, response, pem)
    check.expect(
        response.result == expected and response.order_id == transaction_id,
        'paybox %s: the notification says %s for %s (%s, %s)'
        % (case, expected, transaction_id, response.result, response.order_id),
    )
    data, sig = split_signed(raw.replace('montant=1234', 'montant=1235'))
    check.expect(
        not eopayment.paybox.verify(data, sig, key=pem),
        'paybox %s: a changed amount does not verify' % case,
    )


def lyra_case(base, receiver, check, out, backend_name, case, card):
    ipn_path = '/%s/%s/ipn' % (backend_name, case)
    return_path = '/%s/%s/return' % (backend_name, case)
    backend = eopayment.Payment(
        backend_name,
        {
            'vads_site_id': LYRA_SITE_ID,
            'secret_test': LYRA_TEST_KEY,
            'signature_algo': 'hmac_sha256',
            'service_url': base + '/vads-payment/',
            'normal_return_url': receiver.base + return_path,
            'automatic_return_url': receiver.base + ipn_path,
        },
    )
    transaction_id, kind, form = backend.request(
        Decimal('12.34'),
        email='jean.dupont@example.org',
        first_name='Jean',
        last_name='Dupont',
        orderid='ORDER-%s' % case,
        info1='Commande réservée',
    )
    page, fields = post_form(base, form)
    out['lyra'].append({'backend': backend_name, 'key': LYRA_TEST_KEY, 'algorithm': 'hmac_sha256', 'fields': fields})
    check.expect(
        page.status_code == 200 and 'action="/lyra/page/' in page.text,
        '%s %s: the mock shows its payment page for eopayment\'s request (%d)'
        % (backend_name, case, page.status_code),
    )
    if page.status_code != 200:
        print(page.text[:2000])
        return
    pid = page_id(page.text, 'action="/lyra/page/')
    if card is None:
        data = {'action': 'cancel'}
    else:
        data = {'numero': card, 'expiry': '12/39', 'cvv': '123', 'action': 'pay'}
    done = requests.post(base + '/lyra/page/' + pid, data=data, allow_redirects=False, timeout=10)
    expected = {'paid': eopayment.PAID, 'refused': eopayment.DENIED, 'cancelled': eopayment.CANCELLED}[case]
    location = done.headers.get('Location', '')
    check.expect(
        done.status_code in (302, 303) and location.startswith(receiver.base + return_path),
        '%s %s: the browser is sent back to the return URL (%d)' % (backend_name, case, done.status_code),
    )
    browser = backend.response(urlsplit(location).query)
    check.expect(
        browser.signed and browser.result == expected and browser.transaction_id == transaction_id,
        '%s %s: eopayment verifies the browser return, %s for %s (%s, %s, %s)'
        % (backend_name, case, expected, transaction_id, browser.signed, browser.result, browser.transaction_id),
    )
    ipns = receiver.wait(ipn_path)
    check.expect(len(ipns) >= 1, '%s %s: a notification to vads_url_check' % (backend_name, case))
    if not ipns:
        return
    ipn = ipns[0]
    response = backend.response(ipn['body'] or ipn['query'])
    check.expect(response.signed, '%s %s: eopayment verifies the notification\'s signature' % (backend_name, case))
    check.expect(
        response.result == expected and response.transaction_id == transaction_id and response.test,
        '%s %s: the notification says %s for %s in TEST (%s, %s, %s)'
        % (backend_name, case, expected, transaction_id, response.result, response.transaction_id, response.test),
    )
    tampered = ipn['body'].replace('vads_amount=1234', 'vads_amount=1235')
    check.expect(
        not backend.response(tampered).signed,
        '%s %s: a changed amount does not verify' % (backend_name, case),
    )


def worldline_signatures(out):
    """eopayment's own v1HMAC signature of the requests its worldline backend makes (a POST and
    a GET, with and without an idempotence key), for the caller to recompute with tpe-worldline."""
    api = eopayment.worldline.WorldlineAPI(url='', pspid=WORLDLINE_PSPID, api_key=WORLDLINE_KEY, api_secret=WORLDLINE_SECRET)
    date = 'Sun, 29 Nov 2026 10:00:00 GMT'
    for method, endpoint, content_type, key in [
        ('POST', 'hostedcheckouts', 'application/json; charset=utf-8', None),
        ('GET', 'hostedcheckouts/4000015981495', '', None),
        ('POST', 'payments/4000015981495_0/capture', 'application/json; charset=utf-8', 'capture-1042'),
    ]:
        out['worldline'].append({
            'key_id': WORLDLINE_KEY,
            'secret': WORLDLINE_SECRET,
            'method': method,
            'content_type': content_type,
            'date': date,
            'idempotence_key': key,
            'path': '/v2/%s/%s' % (WORLDLINE_PSPID, endpoint),
            'signature': api._worldline_calculate_signature(method, endpoint, content_type, date, idempotency_key=key),
        })


def worldline_case(base, check, case, card):
    """eopayment's worldline backend is a REST client: it creates a hosted checkout (signed
    v1HMAC requests), and its response() reads the hosted checkout and the payment back."""
    backend = eopayment.Payment(
        'worldline',
        {
            'pspid': WORLDLINE_PSPID,
            'api_key': WORLDLINE_KEY,
            'api_secret': WORLDLINE_SECRET,
            'environment': 'preprod',
            'normal_return_url': 'https://shop.example/worldline/%s/return' % case,
            'automatic_return_url': 'https://shop.example/worldline/%s/ipn' % case,
        },
    )
    transaction_id, kind, redirect = backend.request(Decimal('12.50'), orderid='1042', email='jeanne@example.fr')
    check.expect(
        bool(transaction_id) and urlsplit(redirect).path.startswith('/hostedcheckout/'),
        'worldline %s: the mock takes eopayment\'s signed hosted checkout (%s)' % (case, transaction_id),
    )
    if card is None:
        form = {'action': 'cancel'}
    else:
        form = {'card': card, 'action': 'pay'}
    done = requests.post(redirect, data=form, allow_redirects=False, timeout=10)
    location = done.headers.get('Location', '')
    check.expect(
        done.status_code in (302, 303) and location.startswith('https://shop.example/worldline/%s/return' % case),
        'worldline %s: the browser is sent back to the return URL (%d)' % (case, done.status_code),
    )
    response = backend.response(urlsplit(location).query)
    expected = {'paid': eopayment.PAID, 'refused': eopayment.DENIED, 'cancelled': eopayment.CANCELLED}[case]
    check.expect(
        response.result == expected and response.transaction_id == transaction_id,
        'worldline %s: eopayment reads %s for hosted checkout %s (got %s, bank status %s)'
        % (case, expected, transaction_id, response.result, response.bank_status),
    )


def platform_answer(check):
    """The platform's own signed answer (a real e-Transactions return with `@`, `/` and `:`
    literal, spec 4.5): eopayment's verify() accepts its raw bytes with the platform's key, and
    the bytes response() would rebuild differ from them. So a signed=False from response() on an
    answer with such characters is eopayment's re-encoding, not the mock."""
    vectors = json.loads((Path(__file__).parent.parent / 'data' / 'paybox-vectors.json').read_text())
    sample = vectors['rsa_response'][5]
    # The vector file keeps the tampered amount=1000; the real answer says 900 (spec 4.5 table).
    data = sample['signed_data'].replace('amount=1000&', 'amount=900&', 1)
    sig = base64.b64decode(sample['signature_base64'])
    check.expect(
        eopayment.paybox.verify(data, sig, key=eopayment.paybox.PAYBOX_KEY),
        'paybox: eopayment.paybox.verify accepts the platform\'s real answer over its raw bytes',
    )
    check.expect(
        requoted(data) != data and not eopayment.paybox.verify(requoted(data), sig, key=eopayment.paybox.PAYBOX_KEY),
        'paybox: eopayment\'s re-encoding of the platform\'s real answer does not verify',
    )


def main():
    base = sys.argv[1].rstrip('/')
    out_path = sys.argv[2] if len(sys.argv) > 2 else None
    receiver = Receiver()
    check = Check()
    out = {'paybox': [], 'lyra': [], 'worldline': []}
    worldline_signatures(out)
    pem = requests.get(base + '/_mock/keys/paybox.pem', timeout=10).text
    platform_answer(check)
    # eopayment verifies with the platform's key, a default argument: the mock's key instead.
    eopayment.paybox.verify.__defaults__ = (pem,)
    cases = [
        lambda: paybox_case(base, receiver, check, out, 'paid', ACCEPTED_PAYBOX, pem),
        lambda: paybox_case(base, receiver, check, out, 'refused', REFUSED_PAYBOX, pem),
        lambda: paybox_case(base, receiver, check, out, 'cancelled', None, pem),
    ]
    for name in ('systempayv2', 'payzen'):
        cases += [
            lambda name=name: lyra_case(base, receiver, check, out, name, 'paid', ACCEPTED_LYRA),
            lambda name=name: lyra_case(base, receiver, check, out, name, 'refused', REFUSED_LYRA),
            lambda name=name: lyra_case(base, receiver, check, out, name, 'cancelled', None),
        ]
    # eopayment's worldline backend talks to the platform's preprod host, a class attribute.
    eopayment.worldline.Payment.preprod_url = base
    cases += [
        lambda: worldline_case(base, check, 'paid', ACCEPTED_WORLDLINE),
        lambda: worldline_case(base, check, 'refused', REFUSED_WORLDLINE),
        lambda: worldline_case(base, check, 'cancelled', None),
    ]
    for case in cases:
        try:
            case()
        except Exception:
            check.failures.append(traceback.format_exc())
            print(traceback.format_exc())
    if out_path:
        with open(out_path, 'w') as f:
            json.dump(out, f)
    version = importlib.metadata.version('eopayment')
    print('eopayment %s: %d checks passed, %d failed' % (version, check.passed, len(check.failures)))
    receiver.server.shutdown()
    return 1 if check.failures else 0


if __name__ == '__main__':
    sys.exit(main())
