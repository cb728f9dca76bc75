//! PostgreSQL connections, shared by the data source (`ingest::postgres`) and the trend sink
//! (`report::history_db`): the URL forms `--data` and `--history-db` accept, where the
//! password comes from (the URL, `PGPASSWORD`, `~/.pgpass`), TLS as `sslmode` asks, and the
//! redacted form of a URL, the only one that may appear in a log, an error or `run.json`.
//!
//! URL forms (libpq's, restricted to one host):
//! `postgres://user[:password]@host[:port]/db?schema=sdr&sslmode=require`,
//! `postgresql://...`, a Unix socket folder as `postgres:///db?host=/run/postgresql` or
//! percent-encoded as the host (`postgres://%2Frun%2Fpostgresql/db`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{DataError, UsageError};

/// A parsed connection URL. `Debug` and `Display` never show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct PgUrl {
    pub user: String,
    password: Option<String>,
    pub host: Host,
    pub port: u16,
    pub dbname: String,
    /// The schema the tables are read from (`?schema=`, default `public`).
    pub schema: String,
    pub sslmode: SslMode,
    /// A PEM file of extra root certificates (`?sslrootcert=`).
    pub sslrootcert: Option<PathBuf>,
    pub connect_timeout: Option<Duration>,
}

/// Where the server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    Tcp(String),
    /// The folder holding the `.s.PGSQL.<port>` socket.
    Socket(PathBuf),
}

/// `sslmode`, with libpq's meanings: `prefer` (the default) encrypts when the server offers
/// TLS, `require` insists on it; neither checks the certificate (as libpq, unless
/// `sslrootcert` is given, which makes `require` check it like `verify-ca`). `verify-ca`
/// checks the chain against the system roots plus `sslrootcert`; `verify-full` also the host
/// name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Whether a `--data` value is a database URL rather than a folder.
pub fn is_url(value: &str) -> bool {
    value.starts_with("postgres://") || value.starts_with("postgresql://")
}

impl PgUrl {
    /// Parses `url`, filling what it omits from `PGUSER`, `PGHOST`, `PGPORT`, `PGDATABASE`,
    /// `PGPASSWORD` and the password file, as libpq does. A malformed URL is a usage error
    /// (exit 2) whose message shows the URL redacted.
    pub fn parse(url: &str) -> Result<PgUrl, UsageError> {
        parse_with(url, &|name| std::env::var(name).ok())
    }

    /// The password, if any source gave one.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The host as people write it: a name, an address or a socket folder.
    pub fn host_text(&self) -> String {
        match &self.host {
            Host::Tcp(h) if h.contains(':') => format!("[{h}]"),
            Host::Tcp(h) => h.clone(),
            Host::Socket(p) => p.display().to_string(),
        }
    }

    /// `PostgreSQL database crm on db.example.com:5432`: how errors name the server.
    pub fn server(&self) -> String {
        format!("PostgreSQL database {} on {}:{}", self.dbname, self.host_text(), self.port)
    }

    /// `schema.table`, as rejections name a table's rows.
    pub fn table_label(&self, table: &str) -> String {
        format!("{}.{table}", self.schema)
    }

    /// Connects (TLS as `sslmode` says). A failure names the server, never the password.
    pub fn connect(&self) -> Result<postgres::Client, DataError> {
        let mut config = postgres::Config::new();
        config.user(&self.user).dbname(&self.dbname).port(self.port);
        config.application_name("handoff");
        match &self.host {
            Host::Tcp(h) => config.host(h),
            Host::Socket(p) => config.host_path(p),
        };
        if let Some(password) = &self.password {
            config.password(password);
        }
        if let Some(timeout) = self.connect_timeout {
            config.connect_timeout(timeout);
        }
        let fail = |reason: String| DataError::Connect { server: self.server(), reason };
        let client = match self.sslmode {
            SslMode::Disable => {
                config.ssl_mode(postgres::config::SslMode::Disable);
                config.connect(postgres::NoTls)
            }
            mode => {
                config.ssl_mode(if mode == SslMode::Prefer {
                    postgres::config::SslMode::Prefer
                } else {
                    postgres::config::SslMode::Require
                });
                let tls = self.tls().map_err(fail)?;
                config.connect(tls)
            }
        };
        client.map_err(|e| fail(error_text(&e)))
    }

    fn tls(&self) -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
        let mut roots = rustls::RootCertStore::empty();
        // System roots that fail to load are skipped: `sslrootcert` may be all that is needed.
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        if let Some(path) = &self.sslrootcert {
            use rustls::pki_types::pem::PemObject;
            let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            for cert in certs {
                let cert = cert.map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
                roots.add(cert).map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            }
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let check = match self.sslmode {
            SslMode::VerifyFull => tls::Check::Full,
            SslMode::VerifyCa => tls::Check::Chain,
            SslMode::Require if self.sslrootcert.is_some() => tls::Check::Chain,
            _ => tls::Check::Encrypt,
        };
        let verifier = tls::Verifier::new(roots, check, provider.clone())?;
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(std::sync::Arc::new(verifier))
            .with_no_client_auth();
        Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
    }
}

/// The certificate checks of each `sslmode`, as a rustls verifier.
mod tls {
    use std::sync::Arc;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::client::WebPkiServerVerifier;
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{CertificateError, DigitallySignedStruct, Error, RootCertStore, SignatureScheme};

    /// What is checked of the server's certificate.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Check {
        /// Nothing but the handshake's signatures: encryption against a passive listener
        /// (`prefer`, `require`), as libpq does.
        Encrypt,
        /// The chain up to a trusted root, any host name (`verify-ca`).
        Chain,
        /// The chain and the host name (`verify-full`).
        Full,
    }

    #[derive(Debug)]
    pub struct Verifier {
        /// `None` when there are no roots to check against (`Encrypt`).
        webpki: Option<Arc<WebPkiServerVerifier>>,
        check: Check,
        provider: Arc<CryptoProvider>,
    }

    impl Verifier {
        pub fn new(
            roots: RootCertStore,
            check: Check,
            provider: Arc<CryptoProvider>,
        ) -> Result<Verifier, String> {
            let webpki = match check {
                Check::Encrypt => None,
                Check::Chain | Check::Full => Some(
                    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                        .build()
                        .map_err(|e| format!("no usable root certificate: {e}"))?,
                ),
            };
            Ok(Verifier { webpki, check, provider })
        }
    }

    impl ServerCertVerifier for Verifier {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            ocsp_response: &[u8],
            now: UnixTime,
        ) -> Result<ServerCertVerified, Error> {
            let Some(webpki) = &self.webpki else { return Ok(ServerCertVerified::assertion()) };
            match webpki.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ) {
                Err(Error::InvalidCertificate(
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. },
                )) if self.check == Check::Chain => Ok(ServerCertVerified::assertion()),
                other => other,
            }
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider.signature_verification_algorithms.supported_schemes()
        }
    }
}

/// A driver error as one line: the server's message (with its detail) or the client's.
pub fn error_text(err: &postgres::Error) -> String {
    if let Some(db) = err.as_db_error() {
        return match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        };
    }
    // The causes (a refused connection, why a TLS handshake failed), each once.
    let mut text = err.to_string();
    let mut cause = std::error::Error::source(err);
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    text
}

impl fmt::Display for PgUrl {
    /// The redacted URL: every part but the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let user = encode(&self.user);
        let db = encode(&self.dbname);
        match &self.host {
            Host::Tcp(_) => write!(f, "postgres://{user}@{}:{}/{db}", self.host_text(), self.port)?,
            Host::Socket(p) => write!(
                f,
                "postgres://{user}@:{}/{db}?host={}",
                self.port,
                encode(&p.display().to_string())
            )?,
        }
        let sep = if matches!(self.host, Host::Socket(_)) { '&' } else { '?' };
        write!(f, "{sep}schema={}", encode(&self.schema))?;
        match self.sslmode {
            SslMode::Prefer => Ok(()),
            mode => write!(f, "&sslmode={}", mode.name()),
        }
    }
}

impl fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgUrl({self})")
    }
}

/// `value` with any database URL in it redacted, as written (nothing filled in): the
/// password between `user:` and the last `@`, and any `password=` parameter, removed. For
/// command lines recorded in `run.json` and anything else echoed back. Textual on purpose:
/// it must also hide the password of a URL that does not parse.
pub fn redact(value: &str) -> String {
    let Some(start) = value.find("postgres://").or_else(|| value.find("postgresql://")) else {
        return value.to_string();
    };
    let scheme_end = start + value[start..].find("://").map(|i| i + 3).unwrap_or(0);
    let (head, rest) = value.split_at(scheme_end);
    let rest = match rest.rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{user}@{}", &rest[at + 1..])
        }
        None => rest.to_string(),
    };
    let rest = match rest.split_once('?') {
        Some((before, query)) => {
            let kept: Vec<&str> =
                query.split('&').filter(|pair| !pair.starts_with("password=")).collect();
            if kept.is_empty() {
                before.to_string()
            } else {
                format!("{before}?{}", kept.join("&"))
            }
        }
        None => rest,
    };
    format!("{head}{rest}")
}

/// Parses with `env` standing for the environment (tests pass their own).
fn parse_with(url: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<PgUrl, UsageError> {
    let bad = |why: &str| UsageError(format!("{}: {why}", redact(url)));
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .ok_or_else(|| bad("expected a URL starting with postgres:// or postgresql://"))?;
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.split_once('/') {
        Some((a, p)) => (a, p),
        None => (before_query, ""),
    };
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (mut user, mut password) = (None, None);
    if let Some(info) = userinfo {
        let (u, p) = match info.split_once(':') {
            Some((u, p)) => (u, Some(p)),
            None => (info, None),
        };
        user = Some(decode(u).map_err(|e| bad(&e))?).filter(|u: &String| !u.is_empty());
        password = p.map(decode).transpose().map_err(|e| bad(&e))?;
    }
    if hostport.contains(',') {
        return Err(bad("more than one host is not supported"));
    }
    let (host, port) = split_host_port(hostport).map_err(|e| bad(&e))?;
    let mut host = decode(host).map_err(|e| bad(&e))?;
    let mut port = port.map(decode).transpose().map_err(|e| bad(&e))?;
    let mut dbname = Some(decode(path).map_err(|e| bad(&e))?).filter(|d| !d.is_empty());
    let (mut schema, mut sslmode, mut sslrootcert, mut connect_timeout) = (None, None, None, None);
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = decode(value).map_err(|e| bad(&e))?;
        match key {
            "schema" => schema = Some(value),
            "host" => host = value,
            "port" => port = Some(value),
            "user" => user = Some(value),
            "password" => password = Some(value),
            "dbname" => dbname = Some(value),
            "sslmode" => sslmode = Some(value),
            "sslrootcert" => sslrootcert = Some(PathBuf::from(value)),
            "connect_timeout" => {
                let seconds: u64 =
                    value.parse().map_err(|_| bad("connect_timeout: expected whole seconds"))?;
                connect_timeout = Some(Duration::from_secs(seconds));
            }
            "application_name" => {}
            other => return Err(bad(&format!("unknown parameter {other:?}"))),
        }
    }
    let host = if !host.is_empty() {
        host
    } else if let Some(h) = env("PGHOST").filter(|h| !h.is_empty()) {
        h
    } else if Path::new("/var/run/postgresql").is_dir() {
        "/var/run/postgresql".to_string()
    } else {
        "localhost".to_string()
    };
    let host =
        if host.starts_with('/') { Host::Socket(PathBuf::from(host)) } else { Host::Tcp(host) };
    let port = match port.or_else(|| env("PGPORT")).filter(|p| !p.is_empty()) {
        Some(p) => p.parse::<u16>().map_err(|_| bad(&format!("bad port {p:?}")))?,
        None => 5432,
    };
    let user = user
        .or_else(|| env("PGUSER"))
        .or_else(|| env("USER"))
        .filter(|u| !u.is_empty())
        .ok_or_else(|| bad("no user (give one in the URL or PGUSER)"))?;
    let dbname = dbname.or_else(|| env("PGDATABASE")).unwrap_or_else(|| user.clone());
    let sslmode = match sslmode.or_else(|| env("PGSSLMODE")).as_deref() {
        None | Some("prefer") | Some("allow") => SslMode::Prefer,
        Some("disable") => SslMode::Disable,
        Some("require") => SslMode::Require,
        Some("verify-ca") => SslMode::VerifyCa,
        Some("verify-full") => SslMode::VerifyFull,
        Some(other) => return Err(bad(&format!("unknown sslmode {other:?}"))),
    };
    let schema = schema.unwrap_or_else(|| "public".to_string());
    if schema.is_empty() {
        return Err(bad("empty schema"));
    }
    let mut parsed = PgUrl {
        user,
        password: password.filter(|p| !p.is_empty()),
        host,
        port,
        dbname,
        schema,
        sslmode,
        sslrootcert,
        connect_timeout,
    };
    if parsed.password.is_none() {
        parsed.password = env("PGPASSWORD").filter(|p| !p.is_empty());
    }
    if parsed.password.is_none() {
        let file = env("PGPASSFILE")
            .map(PathBuf::from)
            .or_else(|| env("HOME").map(|h| Path::new(&h).join(".pgpass")));
        if let Some(file) = file {
            parsed.password = pgpass_lookup(&file, &parsed);
        }
    }
    Ok(parsed)
}

fn split_host_port(hostport: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("unclosed [ in the host")?;
        return match after.strip_prefix(':') {
            Some(port) => Ok((host, Some(port))),
            None if after.is_empty() => Ok((host, None)),
            None => Err("unexpected text after ]".to_string()),
        };
    }
    Ok(match hostport.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (hostport, None),
    })
}

/// Percent-decoding.
fn decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            let byte = hex
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("a % not followed by two hex digits")?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent-encoding that is not UTF-8".to_string())
}

/// Percent-encoding of everything but unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The password of the first matching line of a libpq password file
/// (`host:port:database:user:password`, `*` matching anything, `\:` and `\\` escaped).
/// As libpq does, a file others can read is ignored (with a warning), and a socket
/// connection matches the host `localhost`.
fn pgpass_lookup(file: &Path, url: &PgUrl) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                "password file {} has group or world access; it is ignored (chmod 0600 it)",
                file.display()
            );
            return None;
        }
    }
    let host = url.host_text();
    let port = url.port.to_string();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = pgpass_fields(line);
        if fields.len() < 5 {
            continue;
        }
        let matches = |field: &str, value: &str| field == "*" || field == value;
        let host_ok = matches(&fields[0], &host)
            || (matches!(url.host, Host::Socket(_)) && fields[0] == "localhost");
        if host_ok
            && matches(&fields[1], &port)
            && matches(&fields[2], &url.dbname)
            && matches(&fields[3], &url.user)
        {
            return Some(fields[4..].join(":")).filter(|p| !p.is_empty());
        }
    }
    None
}

fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(f)) = (chars.next(), fields.last_mut()) {
                    f.push(next);
                }
            }
            ':' => fields.push(String::new()),
            c => {
                if let Some(f) = fields.last_mut() {
                    f.push(c);
                }
            }
        }
    }
    fields
}

/// An SQL identifier, quoted: schema and table names come from the URL and cannot be query
/// parameters, so they are quoted instead (a `"` doubled), never pasted in as written.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str, vars: &[(&str, &str)]) -> Result<PgUrl, UsageError> {
        let vars: Vec<(String, String)> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        parse_with(url, &move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn a_full_url_parses_and_prints_without_its_password() {
        let url = parse(
            "postgres://ann:s%40cret@db.example.com:6543/crm?schema=sdr&sslmode=require",
            &[],
        )
        .unwrap();
        assert_eq!(url.user, "ann");
        assert_eq!(url.password(), Some("s@cret"));
        assert_eq!(url.host, Host::Tcp("db.example.com".into()));
        assert_eq!((url.port, url.dbname.as_str(), url.schema.as_str()), (6543, "crm", "sdr"));
        assert_eq!(url.sslmode, SslMode::Require);
        let shown = url.to_string();
        assert_eq!(shown, "postgres://ann@db.example.com:6543/crm?schema=sdr&sslmode=require");
        assert!(!format!("{url:?}").contains("cret"));
        assert_eq!(url.server(), "PostgreSQL database crm on db.example.com:6543");
    }

    #[test]
    fn socket_forms_and_defaults() {
        let env = [("USER", "runner"), ("PGPORT", "5444")];
        let url = parse("postgres:///crm?host=/tmp/pg%20sock&schema=s", &env).unwrap();
        assert_eq!(url.host, Host::Socket("/tmp/pg sock".into()));
        assert_eq!((url.user.as_str(), url.port), ("runner", 5444));
        assert_eq!(url.to_string(), "postgres://runner@:5444/crm?host=%2Ftmp%2Fpg%20sock&schema=s");
        let url = parse("postgresql://bob@%2Frun%2Fpg:5000", &[]).unwrap();
        assert_eq!(url.host, Host::Socket("/run/pg".into()));
        assert_eq!((url.dbname.as_str(), url.schema.as_str()), ("bob", "public"));
        let url = parse("postgres://bob@[::1]:7/x", &[]).unwrap();
        assert_eq!((url.host_text().as_str(), url.port), ("[::1]", 7));
    }

    #[test]
    fn the_password_comes_from_the_url_then_pgpassword_then_the_password_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(&file, "# comment\nother:*:*:*:no\ndb:5432:crm:ann:from\\:file\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let passfile = file.to_str().unwrap();
        let env = [("PGPASSFILE", passfile)];
        let url = parse("postgres://ann@db/crm", &env).unwrap();
        assert_eq!(url.password(), Some("from:file"));
        let env2 = [("PGPASSFILE", passfile), ("PGPASSWORD", "env")];
        assert_eq!(parse("postgres://ann@db/crm", &env2).unwrap().password(), Some("env"));
        assert_eq!(parse("postgres://ann:url@db/crm", &env2).unwrap().password(), Some("url"));
        assert_eq!(parse("postgres://ann@db/other", &env).unwrap().password(), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert_eq!(parse("postgres://ann@db/crm", &env).unwrap().password(), None);
        }
    }

    #[test]
    fn bad_urls_are_usage_errors_that_hide_the_password() {
        for bad in [
            "postgres://ann:hunter2@db:notaport/crm",
            "postgres://ann:hunter2@db/crm?bogus=1",
            "postgres://ann:hunter2@a,b/crm",
            "postgres://ann:hunter2@db/crm?sslmode=sometimes",
        ] {
            let err = parse(bad, &[]).unwrap_err().to_string();
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn redaction_removes_the_password_wherever_the_url_is() {
        assert_eq!(
            redact("--data=postgres://ann:hunter2@db/crm?schema=sdr"),
            "--data=postgres://ann@db/crm?schema=sdr"
        );
        assert_eq!(redact("postgres://ann:a:b@c@db/crm"), "postgres://ann@db/crm");
        assert!(!redact("postgres://ann@db/crm?password=hunter2").contains("hunter2"));
        assert!(!redact("postgres://ann:hunter2@db:x/crm").contains("hunter2"));
        assert_eq!(redact("data/folder"), "data/folder");
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("sdr"), "\"sdr\"");
        assert_eq!(quote_ident("a\"; drop table x; --"), "\"a\"\"; drop table x; --\"");
    }
}
