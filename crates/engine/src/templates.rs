//! E-mail templates: minijinja files, defaults in French and English embedded in the binary,
//! each overridable by a file of the same name in the shop's templates folder.
//!
//! A template's first line is the subject; the rest (after one line) is the body.

use std::path::Path;

use minijinja::Environment;
use tpe_core::Lang;

/// The e-mails the engine sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TemplateName {
    /// Confirmation to the customer (guide: "Mail envoyé au client lors de la validation").
    Confirmation,
    /// Refusal to the manager.
    Refusal,
    /// Alert: amount or currency mismatch.
    AlertAmountMismatch,
    /// Alert: paid after retraction.
    AlertPaidAfterRetraction,
    /// Alert: paid twice.
    AlertPaidTwice,
    /// Alert: an authentic answer whose code the provider cannot classify.
    AlertUnclassified,
    /// Alert: the relay gave up delivering an effect (it waits for a retry in the back office).
    AlertDeliveryGivenUp,
    /// Alert: the bank refused a later instalment of a payment in instalments.
    AlertInstalmentRefused,
}

impl TemplateName {
    /// Every template.
    pub const ALL: [Self; 8] = [
        Self::Confirmation,
        Self::Refusal,
        Self::AlertAmountMismatch,
        Self::AlertPaidAfterRetraction,
        Self::AlertPaidTwice,
        Self::AlertUnclassified,
        Self::AlertDeliveryGivenUp,
        Self::AlertInstalmentRefused,
    ];

    /// The base of the file name.
    pub fn stem(self) -> &'static str {
        match self {
            Self::Confirmation => "confirmation",
            Self::Refusal => "refusal",
            Self::AlertAmountMismatch => "alert_amount_mismatch",
            Self::AlertPaidAfterRetraction => "alert_paid_after_retraction",
            Self::AlertPaidTwice => "alert_paid_twice",
            Self::AlertUnclassified => "alert_unclassified",
            Self::AlertDeliveryGivenUp => "alert_delivery_given_up",
            Self::AlertInstalmentRefused => "alert_instalment_refused",
        }
    }

    /// The file name for `lang`, e.g. `confirmation.fr.txt`.
    pub fn file_name(self, lang: Lang) -> String {
        format!("{}.{}.txt", self.stem(), lang_code(lang))
    }

    fn default_source(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Self::Confirmation, Lang::Fr) => include_str!("../templates/confirmation.fr.txt"),
            (Self::Confirmation, _) => include_str!("../templates/confirmation.en.txt"),
            (Self::Refusal, Lang::Fr) => include_str!("../templates/refusal.fr.txt"),
            (Self::Refusal, _) => include_str!("../templates/refusal.en.txt"),
            (Self::AlertAmountMismatch, Lang::Fr) => {
                include_str!("../templates/alert_amount_mismatch.fr.txt")
            }
            (Self::AlertAmountMismatch, _) => {
                include_str!("../templates/alert_amount_mismatch.en.txt")
            }
            (Self::AlertPaidAfterRetraction, Lang::Fr) => {
                include_str!("../templates/alert_paid_after_retraction.fr.txt")
            }
            (Self::AlertPaidAfterRetraction, _) => {
                include_str!("../templates/alert_paid_after_retraction.en.txt")
            }
            (Self::AlertPaidTwice, Lang::Fr) => {
                include_str!("../templates/alert_paid_twice.fr.txt")
            }
            (Self::AlertPaidTwice, _) => include_str!("../templates/alert_paid_twice.en.txt"),
            (Self::AlertUnclassified, Lang::Fr) => {
                include_str!("../templates/alert_unclassified.fr.txt")
            }
            (Self::AlertUnclassified, _) => include_str!("../templates/alert_unclassified.en.txt"),
            (Self::AlertDeliveryGivenUp, Lang::Fr) => {
                include_str!("../templates/alert_delivery_given_up.fr.txt")
            }
            (Self::AlertDeliveryGivenUp, _) => {
                include_str!("../templates/alert_delivery_given_up.en.txt")
            }
            (Self::AlertInstalmentRefused, Lang::Fr) => {
                include_str!("../templates/alert_instalment_refused.fr.txt")
            }
            (Self::AlertInstalmentRefused, _) => {
                include_str!("../templates/alert_instalment_refused.en.txt")
            }
        }
    }
}

fn lang_code(lang: Lang) -> &'static str {
    match lang {
        Lang::Fr => "fr",
        _ => "en",
    }
}

/// A template that cannot be loaded or rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The override file exists but cannot be read.
    #[error("cannot read template {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The template has a syntax error or fails to render.
    #[error("template {file}: {message}")]
    Template {
        /// The file.
        file: String,
        /// minijinja's explanation.
        message: String,
    },
}

/// The subject and body of a rendered e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Subject (first line of the template).
    pub subject: String,
    /// Body.
    pub body: String,
}

/// The loaded templates.
///
/// ```
/// use tpe_engine::{Templates, TemplateName};
/// let t = Templates::load(None)?;
/// let r = t.render(TemplateName::Confirmation, tpe_core::Lang::Fr,
///     &serde_json::json!({"shop_name": "Ferme", "reference": "R1", "customer_name": "Jeanne",
///                         "amount": "12,00 EUR", "description": "panier"}))?;
/// assert!(r.subject.contains("R1"));
/// assert!(r.body.contains("12,00 EUR"));
/// # Ok::<(), tpe_engine::TemplateError>(())
/// ```
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Loads the defaults, replaced by the files of `dir` that exist. Every template is parsed
    /// now, so a broken override is a startup error rather than a lost e-mail.
    ///
    /// # Errors
    /// [`TemplateError`] for an unreadable or invalid file.
    pub fn load(dir: Option<&Path>) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .keep_trailing_newline(true)
                .build()
                .map_err(|e| TemplateError::Template {
                    file: "(syntax)".into(),
                    message: e.to_string(),
                })?,
        );
        for name in TemplateName::ALL {
            for lang in [Lang::Fr, Lang::En] {
                let file = name.file_name(lang);
                let custom = match dir.map(|d| d.join(&file)) {
                    Some(path) if path.is_file() => {
                        Some(std::fs::read_to_string(&path).map_err(|source| {
                            TemplateError::Read {
                                file: path.display().to_string(),
                                source,
                            }
                        })?)
                    }
                    _ => None,
                };
                let source = custom.unwrap_or_else(|| name.default_source(lang).to_owned());
                env.add_template_owned(file.clone(), source).map_err(|e| {
                    TemplateError::Template {
                        file,
                        message: e.to_string(),
                    }
                })?;
            }
        }
        Ok(Self { env })
    }

    /// Renders `name` in `lang` with `ctx`.
    ///
    /// # Errors
    /// [`TemplateError::Template`] when rendering fails.
    pub fn render(
        &self,
        name: TemplateName,
        lang: Lang,
        ctx: &serde_json::Value,
    ) -> Result<Rendered, TemplateError> {
        let file = name.file_name(lang);
        let err = |e: minijinja::Error| TemplateError::Template {
            file: file.clone(),
            message: e.to_string(),
        };
        let text = self
            .env
            .get_template(&file)
            .map_err(err)?
            .render(to_value(ctx))
            .map_err(err)?;
        let (subject, body) = text.split_once('\n').unwrap_or((text.as_str(), ""));
        // A subject is one line of printable text.
        let subject: String = subject
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        Ok(Rendered {
            subject: subject.trim().to_owned(),
            body: body.trim_start_matches('\n').to_owned(),
        })
    }
}

/// The template context as minijinja values (strings, numbers, booleans, lists, maps).
fn to_value(v: &serde_json::Value) -> minijinja::Value {
    use serde_json::Value as J;
    match v {
        J::Null => minijinja::Value::from(()),
        J::Bool(b) => minijinja::Value::from(*b),
        J::Number(n) => n.as_i64().map_or_else(
            || minijinja::Value::from(n.to_string()),
            minijinja::Value::from,
        ),
        J::String(s) => minijinja::Value::from(s.as_str()),
        J::Array(a) => minijinja::Value::from(a.iter().map(to_value).collect::<Vec<_>>()),
        J::Object(o) => {
            minijinja::Value::from_pairs(o.iter().map(|(k, v)| (k.as_str(), to_value(v))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_renders_in_both_languages() {
        let t = Templates::load(None).unwrap();
        let ctx = serde_json::json!({
            "shop_name": "Ferme", "reference": "REF1", "customer_name": "Jeanne Martin",
            "customer_email": "j@example.fr", "amount": "12,00 EUR", "description": "panier",
            "bank_transaction_id": "T1", "code": "00151", "reason_kind": "insufficient_funds",
            "explanation_fr": "Provision insuffisante", "explanation_en": "Insufficient funds",
            "advice_fr": "payer avec une autre carte", "advice_en": "pay with another card",
            "expected": "12,00 EUR", "received": "1,00 EUR", "other_reference": "REF0",
            "number": 2, "instalment_amount": "4,00 EUR",
        });
        for name in TemplateName::ALL {
            for lang in [Lang::Fr, Lang::En] {
                let r = t.render(name, lang, &ctx).unwrap();
                assert!(
                    r.subject.contains("REF1"),
                    "{name:?} {lang:?}: {}",
                    r.subject
                );
                assert!(!r.body.is_empty());
            }
        }
    }

    #[test]
    fn a_file_in_the_shop_folder_overrides_the_default() {
        let dir = std::env::temp_dir().join(format!("tpe-tpl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("confirmation.fr.txt"),
            "Merci {{ customer_name }}\nVotre commande {{ reference }} est payée.\n",
        )
        .unwrap();
        let t = Templates::load(Some(&dir)).unwrap();
        let ctx = serde_json::json!({"customer_name": "Jeanne", "reference": "R9"});
        let r = t
            .render(TemplateName::Confirmation, Lang::Fr, &ctx)
            .unwrap();
        assert_eq!(r.subject, "Merci Jeanne");
        assert_eq!(r.body, "Votre commande R9 est payée.\n");
        // The English default is untouched.
        let en = t
            .render(TemplateName::Confirmation, Lang::En, &ctx)
            .unwrap();
        assert!(en.body.contains("Hello Jeanne"));
        std::fs::write(dir.join("refusal.en.txt"), "{% if %}").unwrap();
        assert!(matches!(
            Templates::load(Some(&dir)),
            Err(TemplateError::Template { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
