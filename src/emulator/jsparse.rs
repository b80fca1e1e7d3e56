//! JSON syntax errors worded the way the real service words them.
//!
//! The service runs on V8 and answers a body it cannot parse with `500` and
//! V8's `JSON.parse` message, e.g. `Expected property name or '}' in JSON at
//! position 1 (line 1 column 2)`. Clients display that text, and the recorded
//! fixtures hold it, so the emulator reproduces V8's wording instead of
//! serde_json's. This module only *describes* an error: the body has already
//! failed to parse with serde_json, and [`v8_error_message`] walks it once more
//! to find the first offending character and name it as V8 would.

/// V8's wording for why `text` is not valid JSON, or `None` when this checker
/// finds nothing wrong (e.g. nesting serde_json refused but V8 accepts).
pub(crate) fn v8_error_message(text: &str) -> Option<String> {
    if matches!(text, "[object Object]" | "undefined" | "Infinity" | "NaN") {
        return Some(format!("\"{text}\" is not valid JSON"));
    }
    let mut checker = Checker {
        chars: text.chars().collect(),
        pos: 0,
    };
    match checker.document() {
        Ok(()) | Err(Fail::TooDeep) => None,
        Err(err) => Some(checker.describe(err)),
    }
}

/// The ways a document can fail, as V8 names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fail {
    EndOfInput,
    UnexpectedToken,
    UnexpectedNumber,
    UnexpectedString,
    PropNameOrRBrace,
    DoubleQuotedPropName,
    ColonAfterPropName,
    CommaOrRBrace,
    CommaOrRBrack,
    TrailingCharacter,
    UnterminatedString,
    BadControlCharacter,
    BadEscapedCharacter,
    BadUnicodeEscape,
    NoNumberAfterMinus,
    UnterminatedFraction,
    ExponentMissingNumber,
    /// Nested deeper than this checker follows; not a V8 error.
    TooDeep,
}

/// How deep the checker recurses before giving up (and deferring to serde).
const MAX_DEPTH: usize = 1024;
/// V8 quotes this many characters either side of an unexpected token.
const CONTEXT_CHARS: usize = 10;

struct Checker {
    chars: Vec<char>,
    pos: usize,
}

impl Checker {
    fn document(&mut self) -> Result<(), Fail> {
        self.skip_ws();
        self.value(0)?;
        self.skip_ws();
        if self.pos < self.chars.len() {
            return Err(Fail::TrailingCharacter);
        }
        Ok(())
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.pos += 1;
        }
    }

    /// The error for a token that is not the expected one: V8 names numbers,
    /// strings and the end of input itself, and uses `expected` otherwise.
    fn unexpected(&self, expected: Fail) -> Fail {
        match self.peek() {
            None => Fail::EndOfInput,
            Some('-' | '0'..='9') => Fail::UnexpectedNumber,
            Some('"') => Fail::UnexpectedString,
            Some(_) => expected,
        }
    }

    fn value(&mut self, depth: usize) -> Result<(), Fail> {
        if depth > MAX_DEPTH {
            return Err(Fail::TooDeep);
        }
        match self.peek() {
            None => Err(Fail::EndOfInput),
            Some('{') => self.object(depth),
            Some('[') => self.array(depth),
            Some('"') => self.string(),
            Some('-' | '0'..='9') => self.number(),
            Some('t') => self.literal("true"),
            Some('f') => self.literal("false"),
            Some('n') => self.literal("null"),
            Some(_) => Err(Fail::UnexpectedToken),
        }
    }

    fn object(&mut self, depth: usize) -> Result<(), Fail> {
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some('}') {
            self.pos += 1;
            return Ok(());
        }
        let mut first = true;
        loop {
            if self.peek() != Some('"') {
                let expected = if first {
                    Fail::PropNameOrRBrace
                } else {
                    Fail::DoubleQuotedPropName
                };
                return Err(self.unexpected(expected));
            }
            first = false;
            self.string()?;
            self.skip_ws();
            if self.peek() != Some(':') {
                return Err(self.unexpected(Fail::ColonAfterPropName));
            }
            self.pos += 1;
            self.skip_ws();
            self.value(depth + 1)?;
            self.skip_ws();
            match self.peek() {
                Some(',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some('}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.unexpected(Fail::CommaOrRBrace)),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<(), Fail> {
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.value(depth + 1)?;
            self.skip_ws();
            match self.peek() {
                Some(',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.unexpected(Fail::CommaOrRBrack)),
            }
        }
    }

    fn string(&mut self) -> Result<(), Fail> {
        self.pos += 1;
        loop {
            match self.peek() {
                None => return Err(Fail::UnterminatedString),
                Some('"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(c) if (c as u32) < 0x20 => return Err(Fail::BadControlCharacter),
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        None => return Err(Fail::UnterminatedString),
                        Some('"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't') => self.pos += 1,
                        Some('u') => {
                            for _ in 0..4 {
                                self.pos += 1;
                                match self.peek() {
                                    Some(c) if c.is_ascii_hexdigit() => {}
                                    None => return Err(Fail::UnterminatedString),
                                    Some(_) => return Err(Fail::BadUnicodeEscape),
                                }
                            }
                            self.pos += 1;
                        }
                        Some(_) => return Err(Fail::BadEscapedCharacter),
                    }
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some('0'..='9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<(), Fail> {
        if self.peek() == Some('-') {
            self.pos += 1;
            if !matches!(self.peek(), Some('0'..='9')) {
                return Err(Fail::NoNumberAfterMinus);
            }
        }
        if self.peek() == Some('0') {
            self.pos += 1;
        } else {
            self.digits();
        }
        if self.peek() == Some('.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(Fail::UnterminatedFraction);
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some('+' | '-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(Fail::ExponentMissingNumber);
            }
        }
        Ok(())
    }

    fn literal(&mut self, word: &str) -> Result<(), Fail> {
        for expected in word.chars() {
            match self.peek() {
                Some(c) if c == expected => self.pos += 1,
                _ => return Err(self.unexpected(Fail::UnexpectedToken)),
            }
        }
        Ok(())
    }

    /// Position in UTF-16 code units (what JavaScript calls a position).
    fn js_position(&self) -> usize {
        self.chars[..self.pos.min(self.chars.len())]
            .iter()
            .map(|c| c.len_utf16())
            .sum()
    }

    fn line_column(&self) -> (usize, usize) {
        let before = &self.chars[..self.pos.min(self.chars.len())];
        let line = 1 + before.iter().filter(|&&c| c == '\n').count();
        let line_start = before.iter().rposition(|&c| c == '\n').map_or(0, |i| i + 1);
        (line, self.pos - line_start + 1)
    }

    fn describe(&self, fail: Fail) -> String {
        let what = match fail {
            Fail::EndOfInput | Fail::TooDeep => return "Unexpected end of JSON input".to_owned(),
            Fail::UnexpectedToken => return self.unexpected_token(),
            Fail::UnexpectedNumber => "Unexpected number in JSON",
            Fail::UnexpectedString => "Unexpected string in JSON",
            Fail::PropNameOrRBrace => "Expected property name or '}' in JSON",
            Fail::DoubleQuotedPropName => "Expected double-quoted property name in JSON",
            Fail::ColonAfterPropName => "Expected ':' after property name in JSON",
            Fail::CommaOrRBrace => "Expected ',' or '}' after property value in JSON",
            Fail::CommaOrRBrack => "Expected ',' or ']' after array element in JSON",
            Fail::TrailingCharacter => "Unexpected non-whitespace character after JSON",
            Fail::UnterminatedString => "Unterminated string in JSON",
            Fail::BadControlCharacter => "Bad control character in string literal in JSON",
            Fail::BadEscapedCharacter => "Bad escaped character in JSON",
            Fail::BadUnicodeEscape => "Bad Unicode escape in JSON",
            Fail::NoNumberAfterMinus => "No number after minus sign in JSON",
            Fail::UnterminatedFraction => "Unterminated fractional number in JSON",
            Fail::ExponentMissingNumber => "Exponent part is missing a number in JSON",
        };
        let (line, column) = self.line_column();
        format!(
            "{what} at position {} (line {line} column {column})",
            self.js_position()
        )
    }

    /// `Unexpected token 'x', "…context…" is not valid JSON`.
    fn unexpected_token(&self) -> String {
        let token = self.peek().map(String::from).unwrap_or_default();
        let len = self.chars.len();
        let pos = self.pos;
        let slice = |from: usize, to: usize| -> String {
            self.chars[from.min(len)..to.min(len)].iter().collect()
        };
        if len < CONTEXT_CHARS * 2 + 1 {
            let all = slice(0, len);
            format!("Unexpected token '{token}', \"{all}\" is not valid JSON")
        } else if pos < CONTEXT_CHARS {
            let ctx = slice(0, pos + CONTEXT_CHARS);
            format!("Unexpected token '{token}', \"{ctx}\"... is not valid JSON")
        } else if pos < len - CONTEXT_CHARS {
            let ctx = slice(pos - CONTEXT_CHARS, pos + CONTEXT_CHARS);
            format!("Unexpected token '{token}', ...\"{ctx}\"... is not valid JSON")
        } else {
            let ctx = slice(pos - CONTEXT_CHARS, len);
            format!("Unexpected token '{token}', ...\"{ctx}\" is not valid JSON")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::v8_error_message as msg;

    #[test]
    fn matches_recorded_message() {
        assert_eq!(
            msg("{not json").as_deref(),
            Some("Expected property name or '}' in JSON at position 1 (line 1 column 2)")
        );
    }

    #[test]
    fn names_common_failures_like_v8() {
        assert_eq!(msg("").as_deref(), Some("Unexpected end of JSON input"));
        assert_eq!(
            msg("{\"a\":1").as_deref(),
            Some("Unexpected end of JSON input")
        );
        assert_eq!(
            msg("{\"a\" 1}").as_deref(),
            Some("Unexpected number in JSON at position 5 (line 1 column 6)")
        );
        assert_eq!(
            msg("{\"a\":1 x").as_deref(),
            Some(
                "Expected ',' or '}' after property value in JSON at position 7 (line 1 column 8)"
            )
        );
        assert_eq!(
            msg("[1,2 x]").as_deref(),
            Some("Expected ',' or ']' after array element in JSON at position 5 (line 1 column 6)")
        );
        assert_eq!(
            msg("{}\n x").as_deref(),
            Some("Unexpected non-whitespace character after JSON at position 4 (line 2 column 2)")
        );
        assert_eq!(
            msg("\"abc").as_deref(),
            Some("Unterminated string in JSON at position 4 (line 1 column 5)")
        );
        assert_eq!(msg("NaN").as_deref(), Some("\"NaN\" is not valid JSON"));
        assert_eq!(
            msg("hello").as_deref(),
            Some("Unexpected token 'h', \"hello\" is not valid JSON")
        );
        assert_eq!(
            msg("{\"a\": 1, \"b\": 2, \"c\": x, \"d\": 4, \"e\": 5}").as_deref(),
            Some("Unexpected token 'x', ...\": 2, \"c\": x, \"d\": 4,\"... is not valid JSON")
        );
        assert_eq!(msg("{\"a\":[1,{\"b\":null}]}"), None);
    }
}
