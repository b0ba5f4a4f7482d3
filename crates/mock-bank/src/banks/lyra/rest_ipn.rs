//! The REST V4 IPN (spec B.11) of a shop that pays through the REST API: the payment as
//! `kr-answer` JSON, signed by `kr-hash`, the lower-case hex HMAC-SHA-256 of that text keyed
//! with the shop's REST password (`kr-hash-key=password`).

use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;

use super::rest::alpha;
use super::state::{TxStatus, rest_code};

/// The payment of the `vads_*` IPN `fields` (the transaction's one source) as a V4/Payment.
fn answer(fields: &[(String, String)], status: TxStatus) -> String {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    };
    let amount: u64 = field("vads_amount").parse().unwrap_or(0);
    let currency = alpha(field("vads_currency"));
    // The platform writes UTC dates with their offset.
    let date = jiff::civil::DateTime::strptime("%Y%m%d%H%M%S", field("vads_trans_date"))
        .map(|d| d.strftime("%Y-%m-%dT%H:%M:%S+00:00").to_string())
        .unwrap_or_default();
    // Every REST attempt is a transaction with its id, abandoned ones included.
    let uuid = match field("vads_trans_uuid") {
        "" => crate::random_hex(16),
        uuid => uuid.to_owned(),
    };
    let order_status = status.rest_status();
    let payment = json!({
        "shopId": field("vads_site_id"),
        "orderCycle": if order_status == "RUNNING" { "OPEN" } else { "CLOSED" },
        "orderStatus": order_status,
        "serverDate": date,
        "orderDetails": {
            "orderTotalAmount": amount,
            "orderCurrency": currency,
            "mode": field("vads_ctx_mode"),
            "orderId": field("vads_order_id"),
            "_type": "V4/OrderDetails",
        },
        "customer": {"email": field("vads_cust_email"), "_type": "V4/Customer/Customer"},
        "transactions": [{
            "shopId": field("vads_site_id"),
            "uuid": uuid,
            "amount": amount,
            "currency": currency,
            "paymentMethodType": "CARD",
            "status": order_status,
            "detailedStatus": status.as_str(),
            "operationType": "DEBIT",
            "creationDate": date,
            "transactionDetails": {
                "cardDetails": {
                    "paymentSource": field("vads_payment_src"),
                    "effectiveBrand": field("vads_card_brand"),
                    "pan": field("vads_card_number"),
                    "legacyTransId": field("vads_trans_id"),
                    "legacyTransDate": date,
                    "authorizationResponse": {
                        "amount": amount,
                        "currency": currency,
                        "authorizationNumber": field("vads_auth_number"),
                        "authorizationResult": rest_code(field("vads_auth_result")),
                        "authorizationMode": "FULL",
                        "_type": "V4/PaymentMethod/Details/Cards/CardAuthorizationResponse",
                    },
                    "_type": "V4/PaymentMethod/Details/CardDetails",
                },
                "_type": "V4/TransactionDetails",
            },
            "_type": "V4/PaymentTransaction",
        }],
        "_type": "V4/Payment",
    });
    payment.to_string()
}

/// The form body of the REST IPN for `fields`, signed with `password` (`kr-hash` last).
pub(super) fn body(fields: &[(String, String)], status: TxStatus, password: &str) -> String {
    let answer = answer(fields, status);
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(password.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(answer.as_bytes());
    let hash = hex::encode(mac.finalize().into_bytes());
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("kr-hash-algorithm", "sha256_hmac")
        .append_pair("kr-hash-key", "password")
        .append_pair("kr-answer-type", "V4/Payment")
        .append_pair("kr-answer", &answer)
        .append_pair("kr-hash", &hash)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_is_signed_as_the_sdk_checks_it() {
        let f = |n: &str, v: &str| (n.to_owned(), v.to_owned());
        let fields = [
            f("vads_amount", "990"),
            f("vads_currency", "978"),
            f("vads_trans_date", "20181108083503"),
            f("vads_trans_id", "900147"),
            f("vads_auth_result", "00"),
            f("vads_ctx_mode", "TEST"),
        ];
        let body = body(&fields, TxStatus::Authorised, "pw");
        let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        let get = |n: &str| form.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap_or_default();
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"pw").unwrap_or_else(|_| unreachable!());
        mac.update(get("kr-answer").as_bytes());
        assert_eq!(get("kr-hash"), hex::encode(mac.finalize().into_bytes()));
        let v: serde_json::Value = serde_json::from_str(&get("kr-answer")).unwrap_or_default();
        assert_eq!(v["orderStatus"], "PAID");
        assert_eq!(v["orderDetails"]["orderCurrency"], "EUR");
        let card = &v["transactions"][0]["transactionDetails"]["cardDetails"];
        assert_eq!(card["legacyTransDate"], "2018-11-08T08:35:03+00:00");
        assert_eq!(card["authorizationResponse"]["authorizationResult"], "0");
    }
}
