//! Ticket codes: what a ticket's QR code carries. A code is the ticket id
//! and an Ed25519 signature of it, base64url without padding (107
//! characters), so anyone with the public key checks it offline and an
//! edited or forged code fails the check.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// What is signed: a fixed prefix (so no other signature of this key can
/// pass as a ticket), then the ticket id.
const CONTEXT: &[u8] = b"cinema ticket v1:";
const ID_BYTES: usize = 16;
const SIGNATURE_BYTES: usize = 64;

/// Signs ticket codes with the box office's key.
#[derive(Clone)]
pub struct TicketSigner {
    key: SigningKey,
}

impl TicketSigner {
    /// The signer of a 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// A signer whose seed is derived from `secret` (one-way), for
    /// deployments that set no ticket key of their own.
    pub fn derived_from(secret: &str) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"cinema ticket key from the token secret\0");
        hash.update(secret.as_bytes());
        Self::from_seed(hash.finalize().into())
    }

    /// The code of `ticket_id`.
    pub fn code(&self, ticket_id: Uuid) -> String {
        let signature = self.key.sign(&signed_bytes(ticket_id));
        let mut bytes = Vec::with_capacity(ID_BYTES + SIGNATURE_BYTES);
        bytes.extend_from_slice(ticket_id.as_bytes());
        bytes.extend_from_slice(&signature.to_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The key that checks this signer's codes.
    pub fn verifier(&self) -> TicketVerifier {
        TicketVerifier {
            key: self.key.verifying_key(),
        }
    }
}

/// Checks ticket codes with the public key alone.
#[derive(Clone, Debug)]
pub struct TicketVerifier {
    key: VerifyingKey,
}

impl TicketVerifier {
    /// The verifier of a public key as [`TicketVerifier::public_key`] prints it.
    pub fn from_public_key(text: &str) -> Option<Self> {
        let bytes: [u8; 32] = URL_SAFE_NO_PAD.decode(text.trim()).ok()?.try_into().ok()?;
        Some(Self {
            key: VerifyingKey::from_bytes(&bytes).ok()?,
        })
    }

    /// The public key, base64url without padding.
    pub fn public_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.as_bytes())
    }

    /// The ticket a code names, if this key signed it.
    pub fn verify(&self, code: &str) -> Option<Uuid> {
        let bytes = URL_SAFE_NO_PAD.decode(code.trim()).ok()?;
        if bytes.len() != ID_BYTES + SIGNATURE_BYTES {
            return None;
        }
        let (id, signature) = bytes.split_at(ID_BYTES);
        let ticket_id = Uuid::from_slice(id).ok()?;
        let signature = Signature::from_slice(signature).ok()?;
        self.key
            .verify_strict(&signed_bytes(ticket_id), &signature)
            .ok()
            .map(|()| ticket_id)
    }
}

fn signed_bytes(ticket_id: Uuid) -> Vec<u8> {
    [CONTEXT, ticket_id.as_bytes()].concat()
}

/// A fresh seed from the operating system's randomness (two v4 UUIDs), for
/// `cinema ticket-key --new`.
pub fn new_seed() -> [u8; 32] {
    let mut seed = [0; 32];
    seed[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    seed[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    seed
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::arbitrary;

    fn signer() -> TicketSigner {
        TicketSigner::derived_from("a test secret of at least thirty-two characters")
    }

    #[test]
    fn a_code_names_its_ticket_and_checks_with_the_public_key_alone() {
        let id = Uuid::now_v7();
        let code = signer().code(id);
        assert_eq!(code.len(), 107);
        assert!(
            code.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let public = signer().verifier().public_key();
        let verifier = TicketVerifier::from_public_key(&public).unwrap();
        assert_eq!(verifier.verify(&code), Some(id));
    }

    #[test]
    fn edited_forged_or_foreign_codes_fail() {
        let id = Uuid::now_v7();
        let code = signer().code(id);
        let verifier = signer().verifier();
        // Another ticket id with the same signature.
        let mut bytes = URL_SAFE_NO_PAD.decode(&code).unwrap();
        bytes[15] ^= 1;
        assert_eq!(verifier.verify(&URL_SAFE_NO_PAD.encode(&bytes)), None);
        // Another key's code.
        let foreign = TicketSigner::from_seed([7; 32]).code(id);
        assert_eq!(verifier.verify(&foreign), None);
        assert_eq!(verifier.verify(&code[..100]), None);
        assert_eq!(verifier.verify(""), None);
    }

    proptest! {
        #![proptest_config(arbitrary::config())]

        #[test]
        fn no_arbitrary_text_is_a_code(text in arbitrary::text()) {
            prop_assert_eq!(signer().verifier().verify(&text), None);
        }
    }
}
