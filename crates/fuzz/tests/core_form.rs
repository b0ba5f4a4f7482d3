//! `tpe_core::form::Form::parse`, the strict form reader of every form bank, against
//! `form_urlencoded` as an oracle: what it accepts it reads exactly as `form_urlencoded` does.

use tpe_core::form::{Form, FormLimits};
use tpe_fuzz::seeds::{self, OTHER_VECTORS, PAYBOX_VECTORS};
use tpe_fuzz::{Oracle, Seed, Shape, Target, Verdict};

fn check(input: &[u8]) -> Verdict {
    let Ok(form) = Form::parse(input, FormLimits::NOTIFICATION) else {
        // Every error is a `FormError`.
        return Verdict::Refused;
    };
    let read: Vec<(&str, &str)> = form
        .fields()
        .iter()
        .map(|f| (f.name.as_ref(), f.value.as_ref()))
        .collect();
    let oracle: Vec<(String, String)> = form_urlencoded::parse(input)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let same = read.len() == oracle.len()
        && read
            .iter()
            .zip(&oracle)
            .all(|(a, b)| a.0 == b.0 && a.1 == b.1);
    if !same {
        return Verdict::Broken(format!("read {read:?}, form_urlencoded reads {oracle:?}"));
    }
    for f in form.fields() {
        let raw = &input[f.span.clone()];
        if raw.is_empty() || raw.contains(&b'&') {
            return Verdict::Broken(format!("span {:?} is not one field", f.span));
        }
    }
    Verdict::Accepted(format!("{read:?}"))
}

fn seeds() -> Vec<Seed> {
    let mut out = Vec::new();
    for v in seeds::section(PAYBOX_VECTORS, "rsa_response") {
        out.push(Seed::new(
            seeds::text(&v, "name"),
            seeds::text(&v, "signed_data"),
            Shape::Form,
        ));
    }
    for name in ["lyra_vads", "monetico"] {
        for v in seeds::section(OTHER_VECTORS, name) {
            let fields = seeds::pairs(&v, "fields");
            if !fields.is_empty() {
                out.push(Seed::new(
                    seeds::text(&v, "name"),
                    seeds::form_body(&fields),
                    Shape::Form,
                ));
            }
        }
    }
    out
}

tpe_fuzz::fuzz_target!(Target::new("core_form", Oracle::Unsigned, seeds(), check));
