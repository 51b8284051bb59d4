//! The `--db` value: an SQLite path or a PostgreSQL URL, parsed strictly and
//! never shown with its password.

use super::{PostgresStorage, SqliteStorage, Storage, StorageError};

/// Where the service keeps its data, as given to `--db`.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file (the embedded default): a path, or `sqlite:PATH`.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL server: `postgres://…` or `postgresql://…`.
    Postgres(String),
}

/// Why a `--db` value was refused. Its text never repeats the value (which may
/// hold a password).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DatabaseError {
    /// Nothing was given.
    #[error("the database is empty: give an SQLite file path or a postgres:// URL")]
    Empty,
    /// A libpq `key=value` connection string, which would otherwise become an
    /// SQLite file named after it (password included).
    #[error(
        "this looks like a libpq key=value connection string (keys: {keys}); hallmark takes          PostgreSQL as a URL: postgres://USER:PASSWORD@HOST:PORT/DBNAME (for an SQLite file \
         whose name has '=', write sqlite:PATH or ./PATH)"
    )]
    KeyValue {
        /// The keys found (never their values).
        keys: String,
    },
    /// A URL of a scheme other than `postgres`, `postgresql` or `sqlite`.
    #[error(
        "unsupported database URL scheme {scheme:?}: use postgres://, postgresql://, sqlite: \
         or a file path"
    )]
    Scheme {
        /// The scheme.
        scheme: String,
    },
}

impl Database {
    /// Reads a `--db` value: a `postgres://` or `postgresql://` URL, or an
    /// SQLite file path (optionally written `sqlite:PATH` or `sqlite://PATH`).
    ///
    /// Anything else that is not clearly a path is refused rather than taken as
    /// a file name: a value whose text before its first `=` is a bare word
    /// (libpq's `host=db user=x password=…` form), a value with `=` and
    /// whitespace but no path separator, or a URL of another scheme
    /// (`mysql://…`, `postgres:…` without `//`). A file whose name has such a prefix is still reachable as
    /// `sqlite:PATH` or `./PATH`.
    pub fn parse(value: &str) -> Result<Database, DatabaseError> {
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            return Ok(Database::Postgres(value.to_owned()));
        }
        if let Some(path) = value
            .strip_prefix("sqlite://")
            .or_else(|| value.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(DatabaseError::Empty);
            }
            return Ok(Database::Sqlite(path.into()));
        }
        if value.trim().is_empty() {
            return Err(DatabaseError::Empty);
        }
        let scheme = value.split_once("://").map(|(s, _)| s).or_else(|| {
            // `postgres:host=…` and the like: a PostgreSQL scheme without `//`.
            value.split_once(':').map(|(s, _)| s).filter(|s| {
                s.eq_ignore_ascii_case("postgres") || s.eq_ignore_ascii_case("postgresql")
            })
        });
        if let Some(scheme) = scheme
            && is_word(scheme, |c| c.is_ascii_alphanumeric() || "+.-".contains(c))
        {
            return Err(DatabaseError::Scheme {
                scheme: scheme.to_owned(),
            });
        }
        let has_separator = value.contains(['/', '\\']);
        let key_value = value.split_once('=').is_some_and(|(key, _)| {
            is_word(key.trim(), |c| c.is_ascii_alphanumeric() || c == '_')
                || (!has_separator && value.contains(char::is_whitespace))
        });
        if key_value {
            return Err(DatabaseError::KeyValue {
                keys: libpq_keys(value),
            });
        }
        Ok(Database::Sqlite(value.into()))
    }

    /// Opens (creating or migrating as needed) the database.
    pub fn open(&self) -> Result<std::sync::Arc<dyn Storage>, StorageError> {
        Ok(match self {
            Database::Sqlite(path) => std::sync::Arc::new(SqliteStorage::open(path)?),
            Database::Postgres(url) => std::sync::Arc::new(PostgresStorage::connect(url)?),
        })
    }
}

/// Names the database without its password, for messages and logs.
impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "SQLite {}", path.display()),
            Database::Postgres(url) => write!(f, "PostgreSQL {}", redact_url(url)),
        }
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// Whether `s` is non-empty and made only of characters `ok` accepts.
fn is_word(s: &str, ok: impl Fn(char) -> bool) -> bool {
    !s.is_empty() && s.chars().all(ok)
}

/// The keys of a libpq `key=value` string, for a message (values dropped).
fn libpq_keys(value: &str) -> String {
    let keys: Vec<&str> = value
        .split_whitespace()
        .filter_map(|kv| kv.split_once('=').map(|(k, _)| k))
        .filter(|k| is_word(k, |c| c.is_ascii_alphanumeric() || c == '_'))
        .take(12)
        .collect();
    keys.join(", ")
}

/// A database URL with any password replaced by `***`: the user info part
/// (`user:password@`) of the authority, and a `password=` query parameter.
fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{user_info}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_parse_and_never_show_passwords() {
        assert_eq!(
            Database::parse("hallmark.db"),
            Ok(Database::Sqlite("hallmark.db".into()))
        );
        assert_eq!(
            Database::parse("sqlite:/var/lib/h.db"),
            Ok(Database::Sqlite("/var/lib/h.db".into()))
        );
        let pg = Database::parse(
            "postgres://app:s3cret@db.internal:5432/hallmark?password=x2&sslmode=disable",
        )
        .unwrap();
        assert!(matches!(pg, Database::Postgres(_)));
        let shown = format!("{pg} {pg:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("x2"),
            "{shown}"
        );
        assert!(shown.contains("app:***@db.internal:5432/hallmark?password=***&sslmode=disable"));
        assert_eq!(
            redact_url("postgresql://db/hallmark"),
            "postgresql://db/hallmark"
        );
    }

    #[test]
    fn regression_db_libpq_key_value_string_is_refused_not_an_sqlite_file() {
        for value in [
            "host=db user=x password=secret dbname=y",
            "dbname=hallmark",
            "password=secret host=db",
            " host = db password=secret",
            "port=5432",
            "my host=db password=secret",
        ] {
            let err = Database::parse(value).unwrap_err();
            assert!(matches!(err, DatabaseError::KeyValue { .. }), "{value}");
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains("secret"), "{shown}");
            assert!(shown.contains("postgres://"), "suggests the URL: {shown}");
        }
        let err = Database::parse("host=db user=x password=secret dbname=y").unwrap_err();
        assert!(
            err.to_string().contains("host, user, password, dbname"),
            "{err}"
        );
        assert!(matches!(
            Database::parse("mysql://u:secret@h/d"),
            Err(DatabaseError::Scheme { .. })
        ));
        assert!(matches!(
            Database::parse("postgres:host=db password=secret"),
            Err(DatabaseError::Scheme { .. })
        ));
        assert_eq!(Database::parse(""), Err(DatabaseError::Empty));
        assert_eq!(Database::parse("sqlite:"), Err(DatabaseError::Empty));
        // Clearly paths stay paths, '=' or not.
        for (value, path) in [
            ("./a=b.db", "./a=b.db"),
            ("/var/lib/x=y/h.db", "/var/lib/x=y/h.db"),
            ("sqlite:a=b.db", "a=b.db"),
            ("data/hallmark.db", "data/hallmark.db"),
            ("C:\\h.db", "C:\\h.db"),
        ] {
            assert_eq!(
                Database::parse(value),
                Ok(Database::Sqlite(path.into())),
                "{value}"
            );
        }
    }

    #[test]
    fn regression_db_password_never_in_display_or_debug() {
        for url in [
            "postgres://app:secret@db/h",
            "postgresql://app:secret@db:5432/h?sslmode=disable&password=secret",
            "postgres://app:se@cret@db/h",
        ] {
            let db = Database::parse(url).unwrap();
            let shown = format!("{db} {db:?}");
            assert!(
                !shown.contains("secret") && !shown.contains("cret"),
                "{shown}"
            );
        }
    }
}
