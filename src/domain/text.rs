//! The free text clients name things with, and what makes it acceptable.

/// Whether `text` can name something: not blank, at most `max_chars`
/// characters, and without a NUL character (PostgreSQL text cannot hold one).
pub fn is_name(text: &str, max_chars: usize) -> bool {
    !text.trim().is_empty() && fits(text, max_chars)
}

/// Whether `text`, which may be empty, is at most `max_chars` characters
/// without a NUL character.
pub fn fits(text: &str, max_chars: usize) -> bool {
    text.chars().count() <= max_chars && !text.contains('\0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_not_blank_not_too_long_and_has_no_nul() {
        assert!(is_name("Sala 1", 6));
        assert!(!is_name("Sala 12", 6));
        assert!(!is_name(" \t", 6));
        assert!(!is_name("a\0b", 6));
        assert!(fits("", 6) && !fits("\0", 6));
    }
}
