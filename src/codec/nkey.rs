//! NATS NKeys and credentials files: what `--nkey` and `--creds` read.
//!
//! An NKey seed (`SU…` for a user) is base32 (RFC 4648, no padding) of two
//! prefix bytes (the seed marker and the key's type), the 32-byte Ed25519
//! seed, and a CRC-16/XMODEM of them, little-endian. The public key (`U…`)
//! is the same shape with one prefix byte and the 32-byte public key. The
//! client signs the server's INFO `nonce` with the seed; CONNECT carries the
//! signature (base64url, no padding) and either the public key (`nkey`) or,
//! with a credentials file, the user JWT (`jwt`).

use base64::Engine;
use data_encoding::BASE32_NOPAD;
use ring::signature::{Ed25519KeyPair, KeyPair};

/// The seed marker's 5 bits ('S'), and a user key's type ('U').
const PREFIX_SEED: u8 = 18 << 3;
const PREFIX_USER: u8 = 20 << 3;

/// A user's key pair, from its seed.
pub struct NKey {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for NKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NKey({})", self.public())
    }
}

impl NKey {
    /// A user seed (`SU…`), as text; the error never quotes it.
    pub fn from_seed(seed: &str) -> Result<NKey, String> {
        let raw = BASE32_NOPAD
            .decode(seed.trim().as_bytes())
            .map_err(|_| "the NKey seed is not base32".to_string())?;
        if raw.len() != 2 + 32 + 2 {
            return Err(format!(
                "the NKey seed decodes to {} bytes, not 36",
                raw.len()
            ));
        }
        let (body, crc) = raw.split_at(34);
        if crc16(body).to_le_bytes() != [crc[0], crc[1]] {
            return Err("the NKey seed's checksum is wrong (a typo?)".into());
        }
        let kind = ((body[0] & 0b111) << 5) | (body[1] >> 3);
        if body[0] & 0b1111_1000 != PREFIX_SEED {
            return Err("not an NKey seed (a seed starts with S)".into());
        }
        if kind != PREFIX_USER {
            return Err("not a user's NKey seed (a user's starts with SU)".into());
        }
        let pair = Ed25519KeyPair::from_seed_unchecked(&body[2..])
            .map_err(|_| "the NKey seed is not an Ed25519 seed".to_string())?;
        Ok(NKey { pair })
    }

    /// The public key (`U…`), as the server's configuration names it.
    pub fn public(&self) -> String {
        let mut raw = vec![PREFIX_USER];
        raw.extend_from_slice(self.pair.public_key().as_ref());
        let crc = crc16(&raw);
        raw.extend_from_slice(&crc.to_le_bytes());
        BASE32_NOPAD.encode(&raw)
    }

    /// The signature of the server's nonce, as CONNECT's `sig` wants it.
    pub fn sign(&self, nonce: &str) -> String {
        let sig = self.pair.sign(nonce.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig.as_ref())
    }
}

/// A credentials file's user JWT and seed (what `nsc` writes).
pub fn read_creds(text: &str) -> Result<(String, NKey), String> {
    let block = |begin: &str| -> Option<&str> {
        let start = text.find(begin)? + begin.len();
        let rest = &text[start..];
        let end = rest.find("------END")?;
        Some(rest[..end].trim())
    };
    let jwt = block("-----BEGIN NATS USER JWT-----")
        .filter(|j| !j.is_empty())
        .ok_or("no NATS USER JWT block in the credentials file")?;
    let seed = block("-----BEGIN USER NKEY SEED-----")
        .ok_or("no USER NKEY SEED block in the credentials file")?;
    Ok((jwt.to_string(), NKey::from_seed(seed)?))
}

/// CRC-16/XMODEM (polynomial 0x1021, initial 0), as NKeys use it.
fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pair of the NATS documentation's NKey example (nats-server's
    /// `authorization { users = [{ nkey: U… }] }` with the seed in a file).
    const SEED: &str = "SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY";
    const PUBLIC: &str = "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4";

    #[test]
    fn a_seed_gives_its_public_key() {
        let key = NKey::from_seed(SEED).unwrap();
        assert_eq!(key.public(), PUBLIC);
        assert_eq!(format!("{key:?}"), format!("NKey({PUBLIC})"));
    }

    #[test]
    fn signatures_verify_with_the_public_key() {
        let key = NKey::from_seed(SEED).unwrap();
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(key.sign("nonce-from-info"))
            .unwrap();
        let public = key.pair.public_key().as_ref().to_vec();
        let verify = ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public);
        assert!(verify.verify(b"nonce-from-info", &sig).is_ok());
        assert!(verify.verify(b"another nonce", &sig).is_err());
    }

    #[test]
    fn bad_seeds_are_refused_without_being_quoted() {
        let mut typo = SEED.to_string();
        typo.replace_range(10..11, if &SEED[10..11] == "A" { "B" } else { "A" });
        for (bad, why) in [
            ("not base32!", "not base32"),
            ("SUACSSL3", "not 36"),
            (typo.as_str(), "checksum"),
            (PUBLIC, "not 36"),
        ] {
            let e = NKey::from_seed(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
            assert!(!e.contains(SEED), "{e}");
        }
    }

    #[test]
    fn a_creds_file_gives_its_jwt_and_key() {
        let text = format!(
            "-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJKV1QifQ.e30.sig\n------END NATS USER JWT------\n\n\
             ************************* IMPORTANT *************************\n\
             NKEY Seed printed below can be used to sign and prove identity.\n\n\
             -----BEGIN USER NKEY SEED-----\n{SEED}\n------END USER NKEY SEED------\n"
        );
        let (jwt, key) = read_creds(&text).unwrap();
        assert_eq!(jwt, "eyJ0eXAiOiJKV1QifQ.e30.sig");
        assert_eq!(key.public(), PUBLIC);
        assert!(read_creds("nothing here").is_err());
    }
}
