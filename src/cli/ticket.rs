//! `cinema ticket-key` and `cinema ticket verify`: the public key that
//! checks ticket codes, and checking one offline with it alone.

use anyhow::{Context, bail};

use crate::{
    config::{OptionalJwtSettings, TicketSettings},
    tickets::{
        self,
        code::{TicketSigner, TicketVerifier, new_seed},
    },
};

/// Prints the deployment's public key, or a new key pair with `new`.
pub fn key(new: bool, jwt: &OptionalJwtSettings, settings: &TicketSettings) -> anyhow::Result<()> {
    if new {
        let seed = new_seed();
        let signer = TicketSigner::from_seed(seed);
        println!("CINEMA_TICKET_KEY={}", base64_seed(&seed));
        println!(
            "CINEMA_TICKET_PUBLIC_KEY={}",
            signer.verifier().public_key()
        );
        return Ok(());
    }
    let signer = match (&settings.key, &jwt.secret) {
        (Some(_), _) => tickets::signer(settings, ""),
        (None, Some(secret)) => tickets::signer(settings, secret.expose()),
        (None, None) => bail!(
            "set CINEMA_TICKET_KEY (or CINEMA_JWT_SECRET, which the key is derived from when it is unset)"
        ),
    };
    println!("{}", signer.verifier().public_key());
    Ok(())
}

/// Checks `code` with `public_key`: prints the ticket id, or fails.
pub fn verify(code: &str, public_key: &str) -> anyhow::Result<()> {
    let verifier = TicketVerifier::from_public_key(public_key).context(
        "the public key is not an Ed25519 key in base64url (cinema ticket-key prints one)",
    )?;
    match verifier.verify(code) {
        Some(ticket_id) => {
            println!("genuine: ticket {ticket_id}");
            Ok(())
        }
        None => bail!("not a ticket of this key: edited, forged or signed by another box office"),
    }
}

fn base64_seed(seed: &[u8; 32]) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    URL_SAFE_NO_PAD.encode(seed)
}
