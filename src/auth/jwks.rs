//! The identity provider's public keys (a JWKS), by `kid`, kept in memory.
//! [`KeyStore::run`] fetches them at start and again whenever a token names
//! a `kid` the store does not know, at most once per `min_refresh`; a failed
//! fetch keeps the keys it had. Verification never waits for a fetch: it
//! reads what the last good fetch found.

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse},
};
use tokio::{sync::Notify, time::Instant};

pub use super::fetch::Source;

/// Even with no unknown `kid`, the keys are fetched again this often.
const PERIODIC_REFRESH: Duration = Duration::from_secs(15 * 60);

/// The asymmetric algorithms accepted, each only with a JWKS key of its kind.
pub const ASYMMETRIC: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

/// A usable key: its JWK (for the algorithm rules) and its decoding key.
#[derive(Clone)]
pub struct Key {
    pub jwk: Jwk,
    pub decoding: DecodingKey,
}

/// The keys by `kid`, and what refreshes them.
pub struct KeyStore {
    source: Source,
    min_refresh: Duration,
    keys: RwLock<Arc<HashMap<String, Key>>>,
    wanted: Notify,
    fetches: AtomicU64,
}

impl KeyStore {
    pub fn new(source: Source, min_refresh: Duration) -> Arc<Self> {
        Arc::new(Self {
            source,
            min_refresh,
            keys: RwLock::default(),
            wanted: Notify::new(),
            fetches: AtomicU64::new(0),
        })
    }

    /// The key with this `kid`; when there is none, asks for a refresh
    /// (which later calls will see).
    pub fn key(&self, kid: &str) -> Option<Key> {
        let keys = self
            .keys
            .read()
            .map_or_else(|e| e.into_inner().clone(), |k| k.clone());
        let key = keys.get(kid).cloned();
        if key.is_none() {
            self.wanted.notify_one();
        }
        key
    }

    /// How many fetches were tried.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Fetches the JWKS once and, if it reads, replaces the keys.
    pub async fn refresh(&self) -> Result<usize, String> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let body = super::fetch::fetch(&self.source).await?;
        let keys = parse_jwks(&body)?;
        let count = keys.len();
        match self.keys.write() {
            Ok(mut current) => *current = Arc::new(keys),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(keys),
        }
        Ok(count)
    }

    /// Keeps the keys fresh until dropped: a first fetch now, then one per
    /// request (rate-limited) or per [`PERIODIC_REFRESH`].
    pub async fn run(self: Arc<Self>) {
        let mut gate = RefreshGate::new(self.min_refresh);
        loop {
            let wait = gate.wait(Instant::now().into_std());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            gate.record(Instant::now().into_std());
            match self.refresh().await {
                Ok(count) => tracing::info!(source = %self.source, keys = count, "JWKS loaded"),
                Err(error) => tracing::warn!(
                    source = %self.source, %error,
                    "JWKS fetch failed; keeping the keys already known"
                ),
            }
            // Whatever asked before this fetch ended has its answer: a kid
            // still unknown will ask again.
            let _ = tokio::time::timeout(Duration::ZERO, self.wanted.notified()).await;
            tokio::select! {
                () = self.wanted.notified() => {}
                () = tokio::time::sleep(PERIODIC_REFRESH) => {}
            }
        }
    }
}

/// At most one fetch per `min_interval`.
#[derive(Debug)]
pub struct RefreshGate {
    min_interval: Duration,
    last: Option<std::time::Instant>,
}

impl RefreshGate {
    pub fn new(min_interval: Duration) -> Self {
        Self {
            min_interval,
            last: None,
        }
    }

    /// How long to wait from `now` before the next fetch may start.
    pub fn wait(&self, now: std::time::Instant) -> Duration {
        self.last.map_or(Duration::ZERO, |last| {
            (last + self.min_interval).saturating_duration_since(now)
        })
    }

    /// A fetch starts at `now`.
    pub fn record(&mut self, now: std::time::Instant) {
        self.last = Some(now);
    }
}

/// The signing keys of a JWKS document, by `kid`. Keys without a `kid`, for
/// encryption, symmetric, or of a kind cinema cannot read are left out.
pub fn parse_jwks(body: &[u8]) -> Result<HashMap<String, Key>, String> {
    #[derive(serde::Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let document: Document =
        serde_json::from_slice(body).map_err(|e| format!("not a JWKS document: {e}"))?;
    let mut keys = HashMap::new();
    for value in document.keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
            continue;
        };
        let Some(kid) = jwk.common.key_id.clone() else {
            continue;
        };
        if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_))
            || matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature)
        {
            continue;
        }
        if let Ok(decoding) = DecodingKey::from_jwk(&jwk) {
            keys.insert(kid, Key { jwk, decoding });
        }
    }
    Ok(keys)
}

/// Whether a token signed with `alg` may be checked with `jwk`: the key's
/// type (and curve) must be the algorithm's, and the JWK's own `alg`, when
/// present, must be the same algorithm.
pub fn key_fits(alg: Algorithm, jwk: &Jwk) -> bool {
    let (kind_fits, expected) = match (alg, &jwk.algorithm) {
        (Algorithm::RS256, AlgorithmParameters::RSA(_)) => (true, KeyAlgorithm::RS256),
        (Algorithm::ES256, AlgorithmParameters::EllipticCurve(ec)) => {
            (ec.curve == EllipticCurve::P256, KeyAlgorithm::ES256)
        }
        (Algorithm::EdDSA, AlgorithmParameters::OctetKeyPair(okp)) => {
            (okp.curve == EllipticCurve::Ed25519, KeyAlgorithm::EdDSA)
        }
        _ => return false,
    };
    let use_fits = jwk
        .common
        .public_key_use
        .as_ref()
        .is_none_or(|u| *u == PublicKeyUse::Signature);
    kind_fits
        && use_fits
        && jwk
            .common
            .key_algorithm
            .as_ref()
            .is_none_or(|a| *a == expected)
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, jwk::Jwk};

    use super::*;

    const ED25519_DER: &[u8] = include_bytes!("../../tests/it/fixtures/jwks/ed25519.pk8.der");
    const P256_DER: &[u8] = include_bytes!("../../tests/it/fixtures/jwks/p256.pk8.der");

    fn jwk(der: &[u8], alg: Algorithm, kid: &str) -> serde_json::Value {
        let key = match alg {
            Algorithm::EdDSA => EncodingKey::from_ed_der(der),
            _ => EncodingKey::from_ec_der(der),
        };
        let mut jwk = Jwk::from_encoding_key(&key, alg).unwrap();
        jwk.common.key_id = Some(kid.into());
        serde_json::to_value(jwk).unwrap()
    }

    #[test]
    fn the_gate_lets_one_fetch_through_per_interval() {
        let start = std::time::Instant::now();
        let mut gate = RefreshGate::new(Duration::from_secs(30));
        assert_eq!(gate.wait(start), Duration::ZERO);
        gate.record(start);
        assert_eq!(
            gate.wait(start + Duration::from_secs(10)),
            Duration::from_secs(20)
        );
        assert_eq!(gate.wait(start + Duration::from_secs(30)), Duration::ZERO);
        gate.record(start + Duration::from_secs(31));
        assert_eq!(
            gate.wait(start + Duration::from_secs(31)),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn only_usable_signing_keys_are_kept() {
        let mut no_kid = jwk(ED25519_DER, Algorithm::EdDSA, "x");
        no_kid.as_object_mut().unwrap().remove("kid");
        let mut encryption = jwk(P256_DER, Algorithm::ES256, "enc");
        encryption["use"] = "enc".into();
        let document = serde_json::json!({"keys": [
            jwk(ED25519_DER, Algorithm::EdDSA, "ed"),
            jwk(P256_DER, Algorithm::ES256, "ec"),
            no_kid,
            encryption,
            {"kty": "oct", "kid": "secret", "k": "c2VjcmV0"},
            {"kty": "XYZ", "kid": "odd"},
        ]});
        let keys = parse_jwks(document.to_string().as_bytes()).unwrap();
        let mut kids: Vec<_> = keys.keys().cloned().collect();
        kids.sort();
        assert_eq!(kids, ["ec", "ed"]);
        assert!(parse_jwks(b"{\"nokeys\": 1}").is_err());
    }

    #[test]
    fn a_key_fits_only_its_own_algorithm() {
        let keys = parse_jwks(
            serde_json::json!({"keys": [
                jwk(ED25519_DER, Algorithm::EdDSA, "ed"),
                jwk(P256_DER, Algorithm::ES256, "ec"),
            ]})
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        let (ed, ec) = (&keys["ed"].jwk, &keys["ec"].jwk);
        assert!(key_fits(Algorithm::EdDSA, ed) && key_fits(Algorithm::ES256, ec));
        for alg in [
            Algorithm::RS256,
            Algorithm::ES256,
            Algorithm::HS256,
            Algorithm::PS256,
        ] {
            assert!(!key_fits(alg, ed), "{alg:?}");
        }
        assert!(!key_fits(Algorithm::EdDSA, ec) && !key_fits(Algorithm::ES384, ec));
        // The JWK's own alg must match the header's.
        let mut mislabelled = ec.clone();
        mislabelled.common.key_algorithm = Some(KeyAlgorithm::ES384);
        assert!(!key_fits(Algorithm::ES256, &mislabelled));
        mislabelled.common.key_algorithm = None;
        assert!(key_fits(Algorithm::ES256, &mislabelled));
    }
}
