//! The legacy MAC strings (spec C.4, kit 4.0 / CM-CIC v3.0 before 3-D Secure v2): the values
//! alone, in a fixed order, joined by `*`, empty ones kept. Which format a TPE expects is
//! Monetico's decision: [`MacFormat::Legacy`](crate::config::MacFormat::Legacy) selects this
//! one. `contexte_commande` is not covered by it.

/// The request's fields, in the order of the kit's `MONETICOPAIEMENT_PHASE1GO_FIELDS`.
pub const REQUEST_FIELDS: [&str; 19] = [
    "TPE",
    "date",
    "montant",
    "reference",
    "texte-libre",
    "version",
    "lgue",
    "societe",
    "mail",
    "nbrech",
    "dateech1",
    "montantech1",
    "dateech2",
    "montantech2",
    "dateech3",
    "montantech3",
    "dateech4",
    "montantech4",
    "options",
];

/// The return's fields after `TPE`, `date`, `montant`, `reference`, `texte-libre` and
/// `version`, in the order of the kit's `MONETICOPAIEMENT_PHASE2BACK_FIELDS`.
pub const RESPONSE_FIELDS: [&str; 14] = [
    "code-retour",
    "cvx",
    "vld",
    "brand",
    "status3ds",
    "numauto",
    "motifrefus",
    "originecb",
    "bincb",
    "hpancb",
    "ipclient",
    "originetr",
    "veres",
    "pares",
];

fn value<'a>(fields: &[(&'a str, &'a str)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, v)| *v)
}

/// The legacy request string: the 19 values of [`REQUEST_FIELDS`] joined by `*`.
///
/// ```
/// let s = tpe_monetico::legacy::request_string(&[("TPE", "1234567"), ("version", "3.0")]);
/// assert_eq!(s, "1234567*****3.0*************");
/// ```
pub fn request_string(fields: &[(&str, &str)]) -> String {
    REQUEST_FIELDS
        .iter()
        .map(|name| value(fields, name))
        .collect::<Vec<_>>()
        .join("*")
}

/// The legacy return string: the configured `tpe`, the received `date`, `montant`,
/// `reference`, `texte-libre`, the version `3.0`, then [`RESPONSE_FIELDS`], each followed by
/// `*` (20 slots, trailing `*`).
pub fn response_string(tpe: &str, fields: &[(&str, &str)]) -> String {
    let head = [
        tpe,
        value(fields, "date"),
        value(fields, "montant"),
        value(fields, "reference"),
        value(fields, "texte-libre"),
        "3.0",
    ];
    let mut out = String::new();
    for v in head
        .into_iter()
        .chain(RESPONSE_FIELDS.iter().map(|n| value(fields, n)))
    {
        out.push_str(v);
        out.push('*');
    }
    out
}
