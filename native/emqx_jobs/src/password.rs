//! Password hashes, as EMQX's auth plugins store them (`password_hash` of
//! emqx_auth_pgsql / emqx_auth_mysql), plus bcrypt:
//!
//! | `init.auth_hash` | stored `password_hash` column |
//! |---|---|
//! | `plain` | the password itself |
//! | `sha256`, `sha512` | lowercase hex of the digest of the password |
//! | `salt,sha256`, `salt,sha512` | hex digest of `salt ++ password` (salt column) |
//! | `sha256,salt`, `sha512,salt` | hex digest of `password ++ salt` |
//! | `pbkdf2,sha256,ITER,LEN` (or `sha512`) | hex of PBKDF2-HMAC(password, salt, ITER, LEN bytes) |
//! | `bcrypt` | the full bcrypt string (`$2b$12$...`; the salt is inside it) |
//!
//! Every comparison is constant-time (`subtle`) over the digest bytes; hex is accepted in
//! either case.

use sha2::{Digest, Sha256, Sha512};
use std::fmt;
use std::str::FromStr;
use subtle::ConstantTimeEq;

/// The digest of a salted or PBKDF2 hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mac {
    /// SHA-256.
    Sha256,
    /// SHA-512.
    Sha512,
}

/// Where the salt goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Salt {
    /// No salt.
    None,
    /// `salt ++ password`.
    Prefix,
    /// `password ++ salt`.
    Suffix,
}

/// How passwords are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashKind {
    /// The password itself.
    Plain,
    /// A (salted) SHA-2 digest, in hex.
    Digest(Mac, Salt),
    /// PBKDF2-HMAC, in hex.
    Pbkdf2 {
        /// The HMAC's digest.
        mac: Mac,
        /// Iterations.
        iterations: u32,
        /// Derived key length in bytes.
        dk_len: usize,
    },
    /// bcrypt (the stored string holds cost and salt).
    Bcrypt,
}

/// An unknown `init.auth_hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadHashKind(String);

impl fmt::Display for BadHashKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown password hash {:?} (plain, sha256, sha512, salt,sha256, sha256,salt, \
             pbkdf2,sha256,ITERATIONS,LENGTH or bcrypt)",
            self.0
        )
    }
}

impl std::error::Error for BadHashKind {}

fn mac(s: &str) -> Option<Mac> {
    match s {
        "sha256" => Some(Mac::Sha256),
        "sha512" => Some(Mac::Sha512),
        _ => None,
    }
}

impl FromStr for HashKind {
    type Err = BadHashKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        let bad = || BadHashKind(s.to_string());
        Ok(match parts.as_slice() {
            ["plain"] => HashKind::Plain,
            ["bcrypt"] => HashKind::Bcrypt,
            [m] => HashKind::Digest(mac(m).ok_or_else(bad)?, Salt::None),
            ["salt", m] => HashKind::Digest(mac(m).ok_or_else(bad)?, Salt::Prefix),
            [m, "salt"] => HashKind::Digest(mac(m).ok_or_else(bad)?, Salt::Suffix),
            ["pbkdf2", m, it, len] => HashKind::Pbkdf2 {
                mac: mac(m).ok_or_else(bad)?,
                iterations: it.parse().ok().filter(|n| *n > 0).ok_or_else(bad)?,
                dk_len: len
                    .parse()
                    .ok()
                    .filter(|n| (1..=1024).contains(n))
                    .ok_or_else(bad)?,
            },
            _ => return Err(bad()),
        })
    }
}

fn digest(mac: Mac, parts: &[&[u8]]) -> Vec<u8> {
    match mac {
        Mac::Sha256 => {
            let mut h = Sha256::new();
            parts.iter().for_each(|p| h.update(p));
            h.finalize().to_vec()
        }
        Mac::Sha512 => {
            let mut h = Sha512::new();
            parts.iter().for_each(|p| h.update(p));
            h.finalize().to_vec()
        }
    }
}

fn pbkdf2(mac: Mac, password: &[u8], salt: &[u8], iterations: u32, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    match mac {
        Mac::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out),
        Mac::Sha512 => pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out),
    }
    out
}

impl fmt::Display for HashKind {
    /// The `init.auth_hash` syntax.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = |m: &Mac| match m {
            Mac::Sha256 => "sha256",
            Mac::Sha512 => "sha512",
        };
        match self {
            HashKind::Plain => f.write_str("plain"),
            HashKind::Bcrypt => f.write_str("bcrypt"),
            HashKind::Digest(mac, Salt::None) => f.write_str(m(mac)),
            HashKind::Digest(mac, Salt::Prefix) => write!(f, "salt,{}", m(mac)),
            HashKind::Digest(mac, Salt::Suffix) => write!(f, "{},salt", m(mac)),
            HashKind::Pbkdf2 {
                mac,
                iterations,
                dk_len,
            } => write!(f, "pbkdf2,{},{iterations},{dk_len}", m(mac)),
        }
    }
}

impl HashKind {
    /// Whether checking a password is slow (bcrypt, or PBKDF2 with many iterations):
    /// worth caching a verified login.
    pub fn is_slow(&self) -> bool {
        match self {
            HashKind::Bcrypt => true,
            HashKind::Pbkdf2 { iterations, .. } => *iterations >= 1000,
            _ => false,
        }
    }

    /// Whether `password` matches the stored `hash` (and `salt`), in constant time.
    /// A malformed stored hash never matches.
    pub fn verify(&self, password: &[u8], hash: &str, salt: &str) -> bool {
        let expected = || hex::decode(hash.trim()).ok();
        match *self {
            HashKind::Plain => password.ct_eq(hash.as_bytes()).into(),
            HashKind::Digest(mac, where_salt) => {
                let got = match where_salt {
                    Salt::None => digest(mac, &[password]),
                    Salt::Prefix => digest(mac, &[salt.as_bytes(), password]),
                    Salt::Suffix => digest(mac, &[password, salt.as_bytes()]),
                };
                expected().is_some_and(|e| got.ct_eq(&e).into())
            }
            HashKind::Pbkdf2 {
                mac,
                iterations,
                dk_len,
            } => {
                let got = pbkdf2(mac, password, salt.as_bytes(), iterations, dk_len);
                expected().is_some_and(|e| got.ct_eq(&e).into())
            }
            HashKind::Bcrypt => bcrypt::verify(password, hash.trim()).unwrap_or(false),
        }
    }

    /// The stored form of `password` with `salt` (for tools and tests; bcrypt picks its
    /// own salt, with `cost`).
    pub fn hash(&self, password: &[u8], salt: &str, cost: u32) -> String {
        match *self {
            HashKind::Plain => String::from_utf8_lossy(password).into_owned(),
            HashKind::Digest(mac, Salt::None) => hex::encode(digest(mac, &[password])),
            HashKind::Digest(mac, Salt::Prefix) => {
                hex::encode(digest(mac, &[salt.as_bytes(), password]))
            }
            HashKind::Digest(mac, Salt::Suffix) => {
                hex::encode(digest(mac, &[password, salt.as_bytes()]))
            }
            HashKind::Pbkdf2 {
                mac,
                iterations,
                dk_len,
            } => hex::encode(pbkdf2(mac, password, salt.as_bytes(), iterations, dk_len)),
            HashKind::Bcrypt => bcrypt::hash(password, cost).expect("bcrypt cost 4..=31"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> HashKind {
        s.parse().unwrap()
    }

    /// Published vectors: FIPS 180-2 ("abc"), RFC 7914 section 11 and the common
    /// PBKDF2-HMAC-SHA256 vectors, and the crypt_blowfish test vectors for bcrypt.
    #[test]
    fn known_vectors() {
        let sha256_abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let sha512_abc = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
                          2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
        let cases: &[(&str, &[u8], &str, &str)] = &[
            ("plain", b"abc", "abc", ""),
            ("sha256", b"abc", sha256_abc, ""),
            ("sha256", b"abc", &sha256_abc.to_uppercase(), ""),
            ("sha512", b"abc", sha512_abc, ""),
            ("salt,sha256", b"c", sha256_abc, "ab"),
            ("sha256,salt", b"a", sha256_abc, "bc"),
            ("salt,sha512", b"bc", sha512_abc, "a"),
            (
                "pbkdf2,sha256,1,32",
                b"password",
                "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b",
                "salt",
            ),
            (
                "pbkdf2,sha256,4096,32",
                b"password",
                "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a",
                "salt",
            ),
            (
                "pbkdf2,sha256,1,64",
                b"passwd",
                "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
                 49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783",
                "salt",
            ),
            (
                "bcrypt",
                b"U*U",
                "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
                "",
            ),
            (
                "bcrypt",
                b"U*U*",
                "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK",
                "",
            ),
        ];
        for (k, password, hash, salt) in cases {
            let k = kind(k);
            assert!(k.verify(password, hash, salt), "{k:?} {hash}");
            assert!(!k.verify(b"wrong", hash, salt), "{k:?} wrong password");
            let mut longer = password.to_vec();
            longer.push(b'x');
            assert!(!k.verify(&longer, hash, salt), "{k:?} longer password");
        }
    }

    #[test]
    fn salt_matters_and_malformed_hashes_never_match() {
        let k = kind("salt,sha256");
        let h = k.hash(b"pw", "s1", 0);
        assert!(k.verify(b"pw", &h, "s1"));
        assert!(!k.verify(b"pw", &h, "s2"));
        assert!(!k.verify(b"pw", "not hex", "s1"));
        assert!(!kind("sha256").verify(b"", "", ""));
        assert!(!kind("bcrypt").verify(b"pw", "$2b$04$garbage", ""));
        let b = kind("bcrypt");
        let h = b.hash(b"secret", "", 4);
        assert!(b.verify(b"secret", &h, "ignored") && !b.verify(b"Secret", &h, ""));
    }

    #[test]
    fn parsing() {
        assert_eq!(
            kind("pbkdf2,sha512,1000,20"),
            HashKind::Pbkdf2 {
                mac: Mac::Sha512,
                iterations: 1000,
                dk_len: 20
            }
        );
        assert_eq!(
            kind("sha256 , salt"),
            HashKind::Digest(Mac::Sha256, Salt::Suffix)
        );
        for bad in [
            "md4",
            "salt,md5",
            "pbkdf2,sha256,0,20",
            "pbkdf2,sha256,10",
            "",
        ] {
            assert!(bad.parse::<HashKind>().is_err(), "{bad}");
        }
        assert!(kind("bcrypt").is_slow() && !kind("salt,sha256").is_slow());
        for k in [
            "plain",
            "bcrypt",
            "sha512",
            "salt,sha256",
            "sha256,salt",
            "pbkdf2,sha512,1000,20",
        ] {
            assert_eq!(kind(k).to_string(), k);
        }
    }
}
