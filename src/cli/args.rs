//! A small argv reader: `--name value`, `--name=value`, flags, positionals and `--`.
//!
//! Each subcommand declares which options take a value and which are flags, so a mistyped
//! option is an error that names it instead of being taken for a file name.

use std::fmt;

#[derive(Debug, PartialEq, Eq)]
pub struct ArgsError(pub String);

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ArgsError {}

/// The parsed command line of one subcommand.
#[derive(Debug, Default)]
pub struct Args {
    options: Vec<(&'static str, Option<String>)>,
    pub positionals: Vec<String>,
}

impl Args {
    /// `with_value` and `flags` list the long option names (with `--`) this subcommand accepts.
    pub fn parse(
        argv: impl IntoIterator<Item = String>,
        with_value: &[&'static str],
        flags: &[&'static str],
    ) -> Result<Args, ArgsError> {
        let mut out = Args::default();
        let mut it = argv.into_iter();
        while let Some(arg) = it.next() {
            if arg == "--" {
                out.positionals.extend(it.by_ref());
                break;
            }
            if !arg.starts_with("--") || arg == "-" {
                out.positionals.push(arg);
                continue;
            }
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (arg.clone(), None),
            };
            if let Some(&known) = with_value.iter().find(|&&k| k == name) {
                let value = match inline {
                    Some(v) => v,
                    None => it
                        .next()
                        .ok_or_else(|| ArgsError(format!("{name} needs a value")))?,
                };
                out.options.push((known, Some(value)));
            } else if let Some(&known) = flags.iter().find(|&&k| k == name) {
                if inline.is_some() {
                    return Err(ArgsError(format!("{name} takes no value")));
                }
                out.options.push((known, None));
            } else {
                return Err(ArgsError(format!("unknown option {name} (see --help)")));
            }
        }
        Ok(out)
    }

    /// The last value given for an option.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    /// Every value given for a repeatable option, in order.
    pub fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.options
            .iter()
            .filter(move |(n, _)| *n == name)
            .filter_map(|(_, v)| v.as_deref())
    }

    pub fn flag(&self, name: &str) -> bool {
        self.options.iter().any(|(n, _)| *n == name)
    }

    /// Parses an option's value with `FromStr`, naming the option in the error.
    pub fn parsed<T: std::str::FromStr>(
        &self,
        name: &str,
        what: &str,
    ) -> Result<Option<T>, ArgsError> {
        match self.value(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| ArgsError(format!("{name} {v:?}: expected {what}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn values_flags_and_positionals() {
        let a = Args::parse(
            argv("--to 127.0.0.1:9 a.log --json --rate=5 - -- --odd"),
            &["--to", "--rate"],
            &["--json"],
        )
        .unwrap();
        assert_eq!(a.value("--to"), Some("127.0.0.1:9"));
        assert_eq!(a.parsed::<u32>("--rate", "a number").unwrap(), Some(5));
        assert!(a.flag("--json"));
        assert_eq!(a.positionals, vec!["a.log", "-", "--odd"]);
    }

    #[test]
    fn unknown_and_missing_values_are_errors() {
        assert!(
            Args::parse(argv("--nope"), &[], &[])
                .unwrap_err()
                .0
                .contains("--nope")
        );
        assert!(
            Args::parse(argv("--to"), &["--to"], &[])
                .unwrap_err()
                .0
                .contains("needs a value")
        );
        assert!(Args::parse(argv("--json=1"), &[], &["--json"]).is_err());
        let a = Args::parse(argv("--rate x"), &["--rate"], &[]).unwrap();
        assert!(a.parsed::<u32>("--rate", "a number").is_err());
    }
}
