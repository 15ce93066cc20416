//! Signed checkpoints: an Ed25519 signature over the chain so far.
//!
//! A hash chain shows edits, but whoever can write the file can also
//! rewrite all of it with fresh hashes. A checkpoint record signs the hash
//! of the record before it with a key the log's writer holds; a verifier
//! that trusts the public key then knows every line up to the checkpoint is
//! the writer's. Checkpoints are records of the chain themselves.

use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};

/// What a checkpoint's signature covers, so it cannot be replayed as any
/// other kind of Ed25519 signature.
const CONTEXT: &str = "stockade-audit-checkpoint-v1";

/// The writer's signing key.
#[derive(Clone)]
pub struct Signer {
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("public_key", &self.public_key_hex()).finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer from a 32-byte Ed25519 secret seed.
    pub fn from_seed(seed: [u8; 32]) -> Signer {
        Signer { key: SigningKey::from_bytes(&seed) }
    }

    /// A fresh key from the OS's random source.
    pub fn generate() -> std::io::Result<Signer> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Signer::from_seed(seed))
    }

    /// Reads a key file: the seed as 64 hex digits (surrounding whitespace
    /// ignored). The file should be readable by its owner only.
    pub fn from_file(path: &std::path::Path) -> Result<Signer, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let seed = decode_hex::<32>(text.trim())
            .ok_or_else(|| format!("{} does not hold a key (64 hex digits)", path.display()))?;
        Ok(Signer::from_seed(seed))
    }

    /// The seed as 64 hex digits, as [`Signer::from_file`] reads it.
    pub fn seed_hex(&self) -> String {
        hex(self.key.as_bytes())
    }

    /// The public key as 64 hex digits.
    pub fn public_key_hex(&self) -> String {
        hex(self.key.verifying_key().as_bytes())
    }

    /// The signature over the chain up to and including record `seq`,
    /// whose hash is `hash`.
    pub fn sign(&self, seq: u64, hash: &str) -> String {
        hex(&self.key.sign(message(seq, hash).as_bytes()).to_bytes())
    }
}

/// Checks a checkpoint's signature with `public_key` (hex).
pub fn check(public_key: &str, seq: u64, hash: &str, signature: &str) -> Result<(), String> {
    let key = decode_hex::<32>(public_key).ok_or("the public key is not 64 hex digits")?;
    let key = VerifyingKey::from_bytes(&key).map_err(|_| "the public key is not an Ed25519 key")?;
    let signature = decode_hex::<64>(signature).ok_or("the signature is not 128 hex digits")?;
    key.verify(message(seq, hash).as_bytes(), &Signature::from_bytes(&signature))
        .map_err(|_| "the signature does not match".to_string())
}

fn message(seq: u64, hash: &str) -> String {
    format!("{CONTEXT}\n{seq}\n{hash}")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_for_their_record_and_key() {
        let signer = Signer::from_seed([7; 32]);
        let other = Signer::from_seed([8; 32]);
        let hash = "ab".repeat(32);
        let signature = signer.sign(5, &hash);
        assert!(check(&signer.public_key_hex(), 5, &hash, &signature).is_ok());
        assert!(check(&signer.public_key_hex(), 6, &hash, &signature).is_err());
        assert!(check(&signer.public_key_hex(), 5, &"cd".repeat(32), &signature).is_err());
        assert!(check(&other.public_key_hex(), 5, &hash, &signature).is_err());
        assert!(check("zz", 5, &hash, &signature).is_err());
        assert_eq!(
            Signer::from_seed(decode_hex::<32>(&signer.seed_hex()).expect("hex")).public_key_hex(),
            signer.public_key_hex()
        );
    }
}
