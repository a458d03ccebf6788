//! Reminder templates (SPEC §12): one minijinja file per language, shipped in the binary and
//! overridable from `<data>/templates/`.
//!
//! Which file renders a reminder for (language, step), first found wins:
//! `<data>/templates/{lang}/{step}.txt`, `<data>/templates/{lang}.txt`, the shipped `{lang}.txt`
//! — for the customer's tag (`pt-BR`), then its primary language (`pt`), then `en`. A template's
//! first line is `Subject: …`, then a blank line, then the body.

use std::path::{Path, PathBuf};

use minijinja::Environment;
use serde::Serialize;

/// The languages templates ship for (the seeds' own), `en` first: the fallback.
pub const LANGUAGES: &[&str] = &["en", "pt", "fr", "nb", "ro", "id"];

/// Longest template file read from the data directory, in bytes.
pub const TEMPLATE_BYTES_MAX: u64 = 256 * 1024;

fn shipped(lang: &str) -> Option<&'static str> {
    Some(match lang {
        "en" => include_str!("../../templates/en.txt"),
        "pt" => include_str!("../../templates/pt.txt"),
        "fr" => include_str!("../../templates/fr.txt"),
        "nb" => include_str!("../../templates/nb.txt"),
        "ro" => include_str!("../../templates/ro.txt"),
        "id" => include_str!("../../templates/id.txt"),
        _ => return None,
    })
}

/// A rendered reminder: the language whose template was used, the subject line and the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub language: String,
    pub subject: String,
    pub body: String,
}

/// The templates of one data directory.
#[derive(Clone, Debug)]
pub struct Templates {
    dir: Option<PathBuf>,
}

/// Why a template could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template {name}: {message}")]
    Invalid { name: String, message: String },
    #[error("template {name}: cannot read it: {source}")]
    Io {
        name: String,
        source: std::io::Error,
    },
}

/// A safe path component: the tag or step name as written, if it is only letters, digits, `-`
/// and `_` (so a step named `../x` never reads outside the templates directory).
fn component(s: &str) -> Option<&str> {
    (!s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    .then_some(s)
}

impl Templates {
    /// Templates overridden from `<data_dir>/templates/` where files exist there.
    pub fn new(data_dir: &Path) -> Templates {
        Templates {
            dir: Some(data_dir.join("templates")),
        }
    }

    /// Only the shipped templates.
    pub fn shipped_only() -> Templates {
        Templates { dir: None }
    }

    /// The languages to try for a customer's tag, best first: the tag, its primary language,
    /// then `en`.
    pub fn candidates(tag: &str) -> Vec<String> {
        let mut out = Vec::new();
        let tag = tag.trim().to_ascii_lowercase();
        if component(&tag).is_some() {
            out.push(tag.clone());
            if let Some((primary, _)) = tag.split_once('-') {
                out.push(primary.to_owned());
            }
        }
        out.push("en".to_owned());
        out.dedup();
        out
    }

    fn read(&self, path: &Path) -> Result<Option<String>, TemplateError> {
        let name = path.display().to_string();
        match std::fs::metadata(path) {
            Ok(m) if m.len() > TEMPLATE_BYTES_MAX => Err(TemplateError::Invalid {
                name,
                message: format!("longer than {TEMPLATE_BYTES_MAX} bytes"),
            }),
            Ok(_) => std::fs::read_to_string(path)
                .map(Some)
                .map_err(|source| TemplateError::Io { name, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(TemplateError::Io { name, source }),
        }
    }

    /// The template source for a (language, step), and the language and name it was found under.
    fn source(&self, tag: &str, step: &str) -> Result<(String, String, String), TemplateError> {
        for lang in Templates::candidates(tag) {
            if let Some(dir) = &self.dir {
                if let Some(step) = component(step) {
                    let path = dir.join(&lang).join(format!("{step}.txt"));
                    if let Some(text) = self.read(&path)? {
                        return Ok((lang, path.display().to_string(), text));
                    }
                }
                let path = dir.join(format!("{lang}.txt"));
                if let Some(text) = self.read(&path)? {
                    return Ok((lang, path.display().to_string(), text));
                }
            }
            if let Some(text) = shipped(&lang) {
                return Ok((lang.clone(), format!("{lang}.txt"), text.to_owned()));
            }
        }
        Err(TemplateError::Invalid {
            name: "en.txt".to_owned(),
            message: "no template".to_owned(),
        })
    }

    /// Renders the reminder for `step` in the customer's language (tag), with `context`.
    pub fn render(
        &self,
        tag: &str,
        step: &str,
        context: &impl Serialize,
    ) -> Result<Rendered, TemplateError> {
        let (language, name, text) = self.source(tag, step)?;
        let invalid = |e: &dyn std::fmt::Display| TemplateError::Invalid {
            name: name.clone(),
            message: e.to_string(),
        };
        let mut env = Environment::new();
        // Plain text: nothing is HTML-escaped, and a misspelt variable in an edited template is
        // an error, not a silent blank (every variable is always given, `none` when absent).
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        env.add_template_owned(name.clone(), text)
            .map_err(|e| invalid(&e))?;
        let rendered = env
            .get_template(&name)
            .and_then(|t| t.render(context))
            .map_err(|e| invalid(&e))?;
        let rendered = rendered.trim_start();
        let (first, rest) = rendered.split_once('\n').unwrap_or((rendered, ""));
        let subject = first
            .strip_prefix("Subject:")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid(&"the first line must be `Subject: …`"))?;
        Ok(Rendered {
            language,
            subject: subject.to_owned(),
            body: tidy(rest),
        })
    }
}

/// The body as sent: no leading blank lines, no trailing spaces, at most one blank line in a
/// row, one final newline. Templates stay readable with their `{% if %}` lines.
fn tidy(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut blank = true;
    for line in body.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            if !blank {
                out.push('\n');
            }
            blank = true;
        } else {
            out.push_str(line);
            out.push('\n');
            blank = false;
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}
