//! Reading the `.eml` files of the e-mail outbox: headers, decoded subject and body.

use std::path::Path;

/// One e-mail of the outbox folder, decoded for reading.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SentMail {
    /// The file name (`….eml`).
    pub file: String,
    /// `To`.
    pub to: String,
    /// `Subject`, decoded.
    pub subject: String,
    /// `Date`, as written.
    pub date: String,
    /// The plain-text body, decoded.
    pub body: String,
}

/// Largest `.eml` file read (the engine's e-mails are a few KiB).
const MAX_FILE: u64 = 256 * 1024;

/// Every `.eml` file of `dir`, sorted by file name; unreadable files are skipped.
pub fn read_dir(dir: &Path) -> Vec<SentMail> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".eml") && !n.starts_with('.'))
        .collect();
    names.sort();
    names
        .into_iter()
        .filter_map(|n| read_one(dir, &n))
        .collect()
}

/// One file of `dir` by name; `None` for a name that is not a plain `.eml` file name.
pub fn read_one(dir: &Path, name: &str) -> Option<SentMail> {
    let safe = name.ends_with(".eml")
        && !name.starts_with('.')
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if !safe {
        return None;
    }
    let path = dir.join(name);
    if std::fs::metadata(&path).ok()?.len() > MAX_FILE {
        return None;
    }
    let text = String::from_utf8_lossy(&std::fs::read(&path).ok()?).into_owned();
    Some(parse(name, &text))
}

fn parse(file: &str, text: &str) -> SentMail {
    let (head, body) = text
        .split_once("\r\n\r\n")
        .or_else(|| text.split_once("\n\n"))
        .unwrap_or((text, ""));
    // Unfold continuation lines.
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let get = |k: &str| {
        headers
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let encoding = get("content-transfer-encoding").to_ascii_lowercase();
    let body = match encoding.as_str() {
        "quoted-printable" => decode_qp(body),
        "base64" => decode_base64(body),
        _ => body.to_owned(),
    };
    SentMail {
        file: file.to_owned(),
        to: get("to"),
        subject: decode_words(&get("subject")),
        date: get("date"),
        body: body.replace("\r\n", "\n"),
    }
}

fn decode_base64(s: &str) -> String {
    use base64::Engine as _;
    let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(clean)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Quoted-printable; `underscore` is the RFC 2047 "Q" variant (`_` = space).
fn qp_bytes(s: &str, underscore: bool) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'=' if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') => i += 3,
            b'=' if b.get(i + 1) == Some(&b'\n') => i += 2,
            b'=' => match (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                }
                _ => {
                    out.push(b'=');
                    i += 1;
                }
            },
            b'_' if underscore => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn decode_qp(s: &str) -> String {
    String::from_utf8_lossy(&qp_bytes(s, false)).into_owned()
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`).
fn decode_words(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let before = &rest[..start];
        if !(last_was_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        let after = &rest[start + 2..];
        let parts: Vec<&str> = after.splitn(3, '?').collect();
        let decoded = match parts.as_slice() {
            [_charset, enc, tail] => tail.find("?=").map(|end| {
                let text = &tail[..end];
                let d = if enc.eq_ignore_ascii_case("b") {
                    decode_base64(text)
                } else {
                    String::from_utf8_lossy(&qp_bytes(text, true)).into_owned()
                };
                let consumed = start + 2 + parts[0].len() + 1 + enc.len() + 1 + end + 2;
                (d, consumed)
            }),
            _ => None,
        };
        match decoded {
            Some((d, consumed)) => {
                out.push_str(&d);
                rest = &rest[consumed..];
                last_was_word = true;
            }
            None => {
                out.push_str(&rest[start..]);
                return out;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_qp_base64_and_encoded_words() {
        assert_eq!(decode_qp("Caf=C3=A9 =\r\nau lait"), "Café au lait");
        assert_eq!(
            decode_words("=?utf-8?b?UGFpZW1lbnQgdmFsaWTDqQ==?="),
            "Paiement validé"
        );
        assert_eq!(
            decode_words("=?utf-8?q?Paiement_valid=C3=A9?= !"),
            "Paiement validé !"
        );
        let m = parse(
            "a.eml",
            "To: x@example.fr\r\nSubject: =?utf-8?b?w6k=?=\r\n =?utf-8?b?w6k=?=\r\nContent-Transfer-Encoding: base64\r\n\r\nw6l0w6k=\r\n",
        );
        assert_eq!(
            (m.to.as_str(), m.subject.as_str(), m.body.as_str()),
            ("x@example.fr", "éé", "été")
        );
    }

    #[test]
    fn refuses_unsafe_names() {
        let dir = std::env::temp_dir();
        assert!(read_one(&dir, "../etc/passwd.eml").is_none());
        assert!(read_one(&dir, "x.txt").is_none());
    }
}
