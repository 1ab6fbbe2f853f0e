//! The default `X-Plex-Client-Identifier`: stable per machine and product.
//!
//! Plex registers each new identifier as a new device on the account, so a
//! fresh random id per run would fill the user's device list. The default is
//! instead a hash of the machine's identity and the product name: the same
//! on every run of the same program on the same machine, different for two
//! programs, and revealing neither input.

/// Used when the machine has no readable identity at all: still stable.
const UNKNOWN_MACHINE: &str = "unknown-machine";

/// The default client identifier for `product` on this machine: 32 hex
/// digits.
pub(crate) fn default_client_identifier(product: &str) -> String {
    client_identifier_for(&machine_identity(), product)
}

/// The identifier for a given machine identity and product.
pub(crate) fn client_identifier_for(machine: &str, product: &str) -> String {
    // Two 64-bit FNV-1a hashes of differently prefixed inputs make 128 bits:
    // collisions between a user's devices are then out of the question.
    // FNV-1a is fixed by its definition, unlike std's `DefaultHasher`,
    // whose output may change between Rust releases; it is hand-written
    // (ten lines, pinned by its published test vector below) because its
    // output must never change, whatever a hashing crate does next.
    let first = fnv1a64(&["plex-butler client identifier 1", machine, product]);
    let second = fnv1a64(&["plex-butler client identifier 2", machine, product]);
    format!("{first:016x}{second:016x}")
}

/// The machine's identity: the id the platform keeps for it (Linux's
/// machine id, macOS's IOPlatformUUID, Windows's MachineGuid, the BSDs'
/// host id), else its host name, else a constant.
fn machine_identity() -> String {
    let named = platform_machine_id()
        .into_iter()
        .chain(std::fs::read_to_string("/etc/hostname"))
        .chain(
            ["HOSTNAME", "COMPUTERNAME"]
                .into_iter()
                .filter_map(|v| std::env::var(v).ok()),
        );
    for name in named {
        let name = name.trim();
        if !name.is_empty() {
            return name.to_owned();
        }
    }
    UNKNOWN_MACHINE.to_owned()
}

#[cfg(any(
    target_os = "linux",
    target_os = "macos",
    target_os = "windows",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "illumos"
))]
fn platform_machine_id() -> Option<String> {
    machine_uid::get().ok()
}

/// `machine-uid` builds only for the systems above.
#[cfg(not(any(
    target_os = "linux",
    target_os = "macos",
    target_os = "windows",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "illumos"
)))]
fn platform_machine_id() -> Option<String> {
    None
}

/// 64-bit FNV-1a over the parts, each followed by a zero byte so that
/// `("ab", "c")` and `("a", "bc")` differ.
fn fnv1a64(parts: &[&str]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_published_test_vector() {
        // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c; our parts end with a zero
        // byte, one more round (xor with 0, then multiply).
        let expected = 0xaf63_dc4c_8601_ec8c_u64.wrapping_mul(0x0000_0100_0000_01b3);
        assert_eq!(fnv1a64(&["a"]), expected);
    }

    #[test]
    fn identifier_is_fixed_for_a_machine_and_product() {
        // Pinned: a change here would register every user's client as a new
        // device on their account.
        assert_eq!(
            client_identifier_for("0123456789abcdef", "plex-butler"),
            "b5ad8816693a7dc6adef1071591abc07"
        );
        assert_eq!(client_identifier_for("m", "p").len(), 32);
        assert_ne!(
            client_identifier_for("m", "p1"),
            client_identifier_for("m", "p2")
        );
        assert_ne!(
            client_identifier_for("m1", "p"),
            client_identifier_for("m2", "p")
        );
        assert_ne!(
            client_identifier_for("ab", "c"),
            client_identifier_for("a", "bc")
        );
    }

    #[test]
    fn identifier_does_not_reveal_the_machine_id() {
        let id = client_identifier_for("0123456789abcdef", "plex-butler");
        assert!(!id.contains("0123456789abcdef"));
    }
}
