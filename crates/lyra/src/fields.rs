//! The `vads_*` field names the platform documents for the form, the IPN and the browser
//! return.
//!
//! Spec B.5 signs the *values* in name order, not the names: a field renamed in place (one
//! byte of its name changed, its rank kept) would still verify. So a verified IPN is also
//! held to this vocabulary — and to the names the shop adds with `extra_fields` when the
//! platform introduces new ones — and anything else is refused as malformed, naming the field.

use crate::sign::{Signed, rank};

/// Every documented name, sorted (binary-searched).
pub const KNOWN: &[&str] = &[
    "vads_acquirer_network",
    "vads_action_mode",
    "vads_amount",
    "vads_auth_mode",
    "vads_auth_number",
    "vads_auth_result",
    "vads_avs_result",
    "vads_bank_code",
    "vads_bank_label",
    "vads_bank_product",
    "vads_brand_management",
    "vads_capture_delay",
    "vads_card_brand",
    "vads_card_country",
    "vads_card_number",
    "vads_change_rate",
    "vads_contract_used",
    "vads_contrib",
    "vads_ctx_mode",
    "vads_currency",
    "vads_cust_address",
    "vads_cust_address_number",
    "vads_cust_cell_phone",
    "vads_cust_city",
    "vads_cust_country",
    "vads_cust_district",
    "vads_cust_email",
    "vads_cust_first_name",
    "vads_cust_id",
    "vads_cust_last_name",
    "vads_cust_legal_name",
    "vads_cust_name",
    "vads_cust_national_id",
    "vads_cust_phone",
    "vads_cust_state",
    "vads_cust_status",
    "vads_cust_title",
    "vads_cust_zip",
    "vads_effective_amount",
    "vads_effective_creation_date",
    "vads_effective_currency",
    "vads_expiry_month",
    "vads_expiry_year",
    "vads_extra_result",
    "vads_hash",
    "vads_identifier",
    "vads_identifier_status",
    "vads_language",
    "vads_occurrence_type",
    "vads_operation_type",
    "vads_order_id",
    "vads_order_info",
    "vads_order_info2",
    "vads_order_info3",
    "vads_page_action",
    "vads_payment_certificate",
    "vads_payment_config",
    "vads_payment_error",
    "vads_payment_option_code",
    "vads_payment_seq",
    "vads_payment_src",
    "vads_pays_ip",
    "vads_presentation_date",
    "vads_result",
    "vads_risk_analysis_result",
    "vads_risk_assessment_result",
    "vads_risk_control",
    "vads_sequence_number",
    "vads_ship_to_city",
    "vads_ship_to_country",
    "vads_ship_to_delivery_company_name",
    "vads_ship_to_district",
    "vads_ship_to_first_name",
    "vads_ship_to_last_name",
    "vads_ship_to_legal_name",
    "vads_ship_to_name",
    "vads_ship_to_phone_num",
    "vads_ship_to_speed",
    "vads_ship_to_state",
    "vads_ship_to_status",
    "vads_ship_to_street",
    "vads_ship_to_street2",
    "vads_ship_to_street_number",
    "vads_ship_to_type",
    "vads_ship_to_zip",
    "vads_site_id",
    "vads_subscription",
    "vads_tax_amount",
    "vads_threeds_auth_type",
    "vads_threeds_cavv",
    "vads_threeds_cavvAlgorithm",
    "vads_threeds_eci",
    "vads_threeds_enrolled",
    "vads_threeds_error_code",
    "vads_threeds_exit_status",
    "vads_threeds_sign_valid",
    "vads_threeds_status",
    "vads_threeds_xid",
    "vads_tid",
    "vads_totalamount_vat",
    "vads_trans_date",
    "vads_trans_id",
    "vads_trans_status",
    "vads_trans_uuid",
    "vads_url_check_src",
    "vads_user_info",
    "vads_validation_mode",
    "vads_version",
    "vads_wallet",
    "vads_warranty_result",
];

/// The [`rank`] of each name of [`KNOWN`], in the same order.
const RANKS: [u128; KNOWN.len()] = {
    let mut ranks = [0; KNOWN.len()];
    let mut i = 0;
    while i < KNOWN.len() {
        ranks[i] = rank(KNOWN[i]);
        i += 1;
    }
    ranks
};

/// The first signed field that is neither documented nor one of `extra`, if any: one walk
/// down both sorted lists.
pub(crate) fn first_unknown<'a>(signed: &Signed<'a>, extra: &[String]) -> Option<&'a str> {
    let mut j = 0;
    signed.fields().iter().find_map(|f| {
        let key = f.key();
        while j < KNOWN.len() && (RANKS[j], KNOWN[j]) < key {
            j += 1;
        }
        let documented = j < KNOWN.len() && (RANKS[j], KNOWN[j]) == key;
        (!documented && !extra.iter().any(|e| e == f.name)).then_some(f.name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_bytewise_and_unique() {
        assert!(KNOWN.windows(2).all(|w| w[0].as_bytes() < w[1].as_bytes()));
        // Ranks order the names as the names do.
        assert!(RANKS.windows(2).all(|w| w[0] <= w[1]));
    }

    fn unknown(names: &[&str], extra: &[&str]) -> Option<String> {
        let signed = Signed::new(names.iter().map(|n| (*n, "")));
        let extra: Vec<String> = extra.iter().map(|e| (*e).to_owned()).collect();
        first_unknown(&signed, &extra).map(str::to_owned)
    }

    #[test]
    fn every_documented_name_is_known_and_nothing_else() {
        assert_eq!(unknown(KNOWN, &[]), None);
        assert_eq!(unknown(&["vads_trans_status"], &[]), None);
        for odd in [
            "vads_trans_statut",
            "vads_",
            "vads_a",
            "vads_zzz",
            "vads_trans_status\0",
            "vads_ship_to_street_number2",
            "vads_threeds_cavvalgorithm",
        ] {
            assert_eq!(unknown(&[odd], &[]).as_deref(), Some(odd), "{odd}");
            let mut names = KNOWN.to_vec();
            names.push(odd);
            assert_eq!(
                unknown(&names, &[]).as_deref(),
                Some(odd),
                "{odd} among all"
            );
        }
        assert_eq!(
            unknown(&["vads_new_field", "vads_amount"], &["vads_new_field"]),
            None
        );
    }
}
