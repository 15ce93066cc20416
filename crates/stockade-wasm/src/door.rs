//! The guest ABI: how the host hands code to a guest and reads the result.
//!
//! A guest exports `stockade_alloc(len) -> ptr` and
//! `stockade_run(ptr, len) -> u64`. The host writes the UTF-8 source at
//! `ptr`, calls `stockade_run`, and reads a JSON result frame at
//! `(ret >> 32, ret & 0xffff_ffff)` in guest memory:
//!
//! ```json
//! {"ok": true, "value": 42}
//! {"ok": false, "error": {"type": "TypeError", "message": "...", "stack": "..."}}
//! ```
//!
//! The frame comes from the guest and is therefore hostile input: its
//! location is bounds-checked, its size capped, and its JSON parsed with
//! `deny_unknown_fields` into owned values.

use serde::Deserialize;

/// Export that reserves room for the source.
pub const ALLOC: &str = "stockade_alloc";
/// Export that runs the source and returns the result frame's location.
pub const RUN: &str = "stockade_run";
/// The guest's linear memory.
pub const MEMORY: &str = "memory";
/// The guest's function table, exported so a store can empty it before
/// the pool reuses it (see `crate::store`).
pub const TABLE: &str = "__indirect_function_table";
/// The guest's shadow-stack pointer, exported so a stack overflow can be
/// told apart from other out-of-bounds accesses.
pub const STACK_POINTER: &str = "__stack_pointer";

/// A decoded result frame.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ResultFrame {
    /// The code ran to the end.
    pub ok: bool,
    /// The final value, when there is one.
    #[serde(default)]
    pub value: Option<serde_json::Value>,
    /// The uncaught error, when `ok` is false.
    #[serde(default)]
    pub error: Option<GuestErrorFrame>,
}

impl ResultFrame {
    /// The frame standing in for one the guest got wrong.
    pub fn protocol_error(message: String) -> ResultFrame {
        let error = GuestErrorFrame { kind: "ProtocolError".into(), message, stack: None };
        ResultFrame { ok: false, value: None, error: Some(error) }
    }
}

/// An uncaught guest error.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GuestErrorFrame {
    /// The error's type (`TypeError`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The message.
    pub message: String,
    /// The guest's stack trace.
    #[serde(default)]
    pub stack: Option<String>,
}

/// Why a frame could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The frame is larger than the cap.
    TooLarge(u64),
    /// The frame is outside the guest's memory or not valid JSON.
    Malformed(String),
}

/// The calling guest's exported linear memory, if it has one.
pub fn guest_memory<T>(caller: &mut wasmtime::Caller<'_, T>) -> Option<wasmtime::Memory> {
    match caller.get_export(MEMORY) {
        Some(wasmtime::Extern::Memory(memory)) => Some(memory),
        _ => None,
    }
}

/// Splits `stockade_run`'s return value into (offset, length).
pub fn unpack(packed: u64) -> (u64, u64) {
    (packed >> 32, packed & 0xffff_ffff)
}

/// Reads and decodes the frame at `packed` in `memory`, refusing frames
/// larger than `cap` bytes.
pub fn read_frame(memory: &[u8], packed: u64, cap: u64) -> Result<ResultFrame, FrameError> {
    let (offset, len) = unpack(packed);
    if len > cap {
        return Err(FrameError::TooLarge(len));
    }
    let start = usize::try_from(offset).map_err(|_| FrameError::Malformed("offset overflows".into()))?;
    let end = start
        .checked_add(usize::try_from(len).unwrap_or(usize::MAX))
        .ok_or_else(|| FrameError::Malformed("length overflows".into()))?;
    let bytes = memory
        .get(start..end)
        .ok_or_else(|| FrameError::Malformed(format!("frame {start}..{end} is outside guest memory")))?;
    let frame: ResultFrame =
        serde_json::from_slice(bytes).map_err(|e| FrameError::Malformed(format!("bad frame: {e}")))?;
    if !frame.ok && frame.error.is_none() {
        return Err(FrameError::Malformed("a failed run must say why".into()));
    }
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(memory: &[u8], start: usize, len: usize) -> u64 {
        let _ = memory;
        ((start as u64) << 32) | len as u64
    }

    #[test]
    fn reads_good_frames() {
        let memory = b"xx{\"ok\":true,\"value\":[1,2]}yy";
        let frame = read_frame(memory, at(memory, 2, 25), 1024).expect("frame");
        assert_eq!(frame.value, Some(serde_json::json!([1, 2])));
        let memory = br#"{"ok":false,"error":{"type":"TypeError","message":"m"}}"#;
        let frame = read_frame(memory, at(memory, 0, memory.len()), 1024).expect("frame");
        assert_eq!(frame.error.expect("error").kind, "TypeError");
    }

    #[test]
    fn refuses_hostile_frames() {
        let memory = br#"{"ok":true}"#;
        let cases = [
            at(memory, 0, 1000),             // past the end
            at(memory, usize::MAX >> 32, 4), // far outside
            u64::MAX,                        // both halves huge
            at(memory, 0, 5),                // truncated JSON
        ];
        for packed in cases {
            assert!(read_frame(memory, packed, u64::MAX).is_err(), "{packed:#x}");
        }
        assert_eq!(read_frame(memory, at(memory, 0, 11), 4), Err(FrameError::TooLarge(11)));
        let memory = br#"{"ok":false}"#;
        assert!(read_frame(memory, at(memory, 0, memory.len()), 100).is_err());
        let memory = br#"{"ok":true,"extra":1}"#;
        assert!(read_frame(memory, at(memory, 0, memory.len()), 100).is_err());
    }
}
