//! TLS that the engine terminates, for the destinations where it must see
//! the requests (a secret to swap in, a rule over methods or paths).
//!
//! Each engine makes a certificate authority of its own when it starts. Its
//! key never leaves the host process and dies with the run; the guest is
//! told to trust its certificate only. A leaf certificate is minted per
//! host, on the first tunnel to it. Onward, the engine is an ordinary TLS
//! client: it checks the destination's certificate against the system's
//! roots and the policy's `network.upstream_ca`.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use stockade_policy::network::Host;

/// The only application protocol offered on either side: HTTP/2 would hide
/// requests in frames the engine does not read, so it is never negotiated.
const HTTP1: &[u8] = b"http/1.1";

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Making the authority or a leaf certificate failed.
    #[error("could not make a certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// rustls refused a configuration.
    #[error("could not configure TLS: {0}")]
    Config(#[from] rustls::Error),
    /// A `network.upstream_ca` file could not be read as PEM certificates.
    #[error("network.upstream_ca: {path}: {why}")]
    UpstreamCa {
        /// The file.
        path: String,
        /// What was wrong.
        why: String,
    },
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The engine's certificate authority and the leaves it has minted.
pub(crate) struct Authority {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
    /// One key for every leaf: minting a leaf is then one signature.
    leaf_key: rcgen::KeyPair,
    leaves: Mutex<HashMap<Host, Arc<ServerConfig>>>,
}

impl Authority {
    /// A new authority, valid from an hour ago (clocks differ) for a week.
    pub fn new() -> Result<Authority, TlsError> {
        let mut params = rcgen::CertificateParams::default();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
        params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
        params.distinguished_name.push(rcgen::DnType::CommonName, "stockade sandbox egress CA");
        params.distinguished_name.push(rcgen::DnType::OrganizationName, "stockade");
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::hours(1);
        params.not_after = now + time::Duration::days(7);
        let issuer = rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate()?)?;
        Ok(Authority { issuer, leaf_key: rcgen::KeyPair::generate()?, leaves: Mutex::new(HashMap::new()) })
    }

    /// The authority's certificate, which the guest is told to trust.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// The server side of a tunnel to `host`: a leaf for that host alone.
    pub fn server_config(&self, host: &Host) -> Result<Arc<ServerConfig>, TlsError> {
        let mut leaves = self.leaves.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(config) = leaves.get(host) {
            return Ok(config.clone());
        }
        let mut params = rcgen::CertificateParams::new(vec![host.to_string()])?;
        params.distinguished_name.push(rcgen::DnType::CommonName, host.to_string());
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::hours(1);
        params.not_after = now + time::Duration::days(7);
        let leaf = params.signed_by(&self.leaf_key, &self.issuer)?;
        let chain = vec![leaf.der().clone(), self.issuer.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.leaf_key.serialize_der()));
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![HTTP1.to_vec()];
        let config = Arc::new(config);
        leaves.insert(host.clone(), config.clone());
        Ok(config)
    }
}

/// The system's roots, read once per process: a few hundred certificates.
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// The client side, towards destinations: the system's roots and the PEM
/// files of `upstream_ca`.
pub(crate) fn client_config(upstream_ca: &[String]) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore::empty();
    // A root the system ships that rustls cannot parse is skipped, as
    // every other client of that store skips it.
    let _ = roots.add_parsable_certificates(system_roots().iter().cloned());
    for path in upstream_ca {
        let failed = |why: String| TlsError::UpstreamCa { path: path.clone(), why };
        let mut found = 0;
        for certificate in CertificateDer::pem_file_iter(path).map_err(|e| failed(e.to_string()))? {
            roots.add(certificate.map_err(|e| failed(e.to_string()))?).map_err(|e| failed(e.to_string()))?;
            found += 1;
        }
        if found == 0 {
            return Err(failed("holds no PEM certificate".into()));
        }
    }
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![HTTP1.to_vec()];
    Ok(Arc::new(config))
}

/// The name the destination's certificate must carry.
pub(crate) fn server_name(host: &Host) -> ServerName<'static> {
    match host {
        Host::Ip(ip) => ServerName::IpAddress((*ip).into()),
        // A canonical host name is always a valid DNS name.
        Host::Name(name) => ServerName::try_from(name.clone())
            .unwrap_or_else(|_| ServerName::IpAddress(std::net::Ipv4Addr::UNSPECIFIED.into())),
    }
}
