//! GGUF header check before llama.cpp sees the file.
//!
//! llama.cpp reports a bad file only as a null pointer (details go to its log), and some of its
//! checks are assertions that abort the process. Walking the header ourselves gives the user a
//! precise reason ("truncated at byte N of M: incomplete download?") and keeps obviously broken
//! files away from C++ code: the magic, every metadata entry, every tensor descriptor, and the
//! extent of the tensor data against the file size.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::EngineError;

/// What the header says, for logs and the model catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GgufSummary {
    pub version: u32,
    pub tensor_count: u64,
    pub metadata_count: u64,
    pub architecture: Option<String>,
    /// `general.name`.
    pub name: Option<String>,
    pub has_chat_template: bool,
    /// The hyper-parameters that size the model on a device (layers, KV heads, vocabulary).
    pub shape: ModelShape,
    pub file_size: u64,
    /// End of the last tensor's data; equal to `file_size` for a complete file (padding aside).
    pub data_end: u64,
}

/// The numbers of `<arch>.*` metadata that tell how much device memory a model needs beyond
/// its weights; each `None` when the file does not say (or says it per layer, as an array).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModelShape {
    /// `<arch>.block_count`: the layers `n_gpu_layers` counts.
    pub n_layer: Option<u32>,
    /// `<arch>.embedding_length`.
    pub n_embd: Option<u32>,
    /// `<arch>.attention.head_count`.
    pub n_head: Option<u32>,
    /// `<arch>.attention.head_count_kv` (grouped-query attention); `n_head` when absent.
    pub n_head_kv: Option<u32>,
    /// `<arch>.attention.key_length`; `n_embd / n_head` when absent.
    pub key_length: Option<u32>,
    /// `<arch>.attention.value_length`; `n_embd / n_head` when absent.
    pub value_length: Option<u32>,
    /// Entries of `tokenizer.ggml.tokens`.
    pub n_vocab: Option<u32>,
}

impl ModelShape {
    /// Records `key` (a scalar integer) when it is one of the numbers above for `arch`'s keys;
    /// `arch` may be unknown yet (keys are matched by suffix and resolved at the end).
    fn suffix_slot(&mut self, suffix: &str) -> Option<&mut Option<u32>> {
        Some(match suffix {
            "block_count" => &mut self.n_layer,
            "embedding_length" => &mut self.n_embd,
            "attention.head_count" => &mut self.n_head,
            "attention.head_count_kv" => &mut self.n_head_kv,
            "attention.key_length" => &mut self.key_length,
            "attention.value_length" => &mut self.value_length,
            _ => return None,
        })
    }
}

// Sanity limits: far above any real model, low enough that a corrupt count cannot make us
// allocate or loop for long.
const MAX_TENSORS: u64 = 1 << 20;
const MAX_METADATA: u64 = 1 << 20;
const MAX_KEY_LEN: u64 = 1 << 16;
const MAX_DIMS: u32 = 8;
const MAX_ARRAY_DEPTH: u32 = 4;

/// Checks that `path` is a complete GGUF file.
///
/// Errors: `ModelMissing` when there is no such file, `ModelCorrupt` with the reason otherwise.
pub fn validate_gguf(path: &Path) -> Result<GgufSummary, EngineError> {
    let corrupt = |reason: String| EngineError::ModelCorrupt {
        path: path.to_path_buf(),
        reason,
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(EngineError::ModelMissing {
                path: path.to_path_buf(),
            })
        }
        Err(e) => return Err(corrupt(format!("cannot read it: {e}"))),
    };
    if !meta.is_file() {
        return Err(corrupt("not a regular file".into()));
    }
    let file = File::open(path).map_err(|e| corrupt(format!("cannot open it: {e}")))?;
    let mut r = Reader {
        inner: BufReader::with_capacity(1 << 16, file),
        pos: 0,
        len: meta.len(),
        path: path.to_path_buf(),
    };
    parse(&mut r)
}

/// [`validate_gguf`] on a file's bytes already in memory: the same walk, for the fuzzer and for
/// tests. Errors name the file `<memory>`.
pub fn validate_gguf_bytes(bytes: &[u8]) -> Result<GgufSummary, EngineError> {
    let mut r = Reader {
        inner: bytes,
        pos: 0,
        len: bytes.len() as u64,
        path: PathBuf::from("<memory>"),
    };
    parse(&mut r)
}

/// The header walk's cursor over `len` bytes of `inner`, a file or a slice.
struct Reader<R> {
    inner: R,
    pos: u64,
    len: u64,
    path: PathBuf,
}

impl<R: Read> Reader<R> {
    fn corrupt(&self, reason: String) -> EngineError {
        EngineError::ModelCorrupt {
            path: self.path.clone(),
            reason,
        }
    }

    fn truncated(&self, what: &str, need: u64) -> EngineError {
        self.corrupt(format!(
            "truncated: {what} needs bytes up to {need} but the file has {} (incomplete download?)",
            self.len
        ))
    }

    /// Ensures `n` more bytes exist before reading or skipping them.
    fn need(&self, n: u64, what: &str) -> Result<(), EngineError> {
        match self.pos.checked_add(n) {
            Some(end) if end <= self.len => Ok(()),
            Some(end) => Err(self.truncated(what, end)),
            None => Err(self.corrupt(format!("{what}: size {n} overflows"))),
        }
    }

    fn bytes<const N: usize>(&mut self, what: &str) -> Result<[u8; N], EngineError> {
        self.need(N as u64, what)?;
        let mut buf = [0u8; N];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| self.corrupt(format!("reading {what}: {e}")))?;
        self.pos += N as u64;
        Ok(buf)
    }

    fn u32(&mut self, what: &str) -> Result<u32, EngineError> {
        self.bytes::<4>(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &str) -> Result<u64, EngineError> {
        self.bytes::<8>(what).map(u64::from_le_bytes)
    }

    fn skip(&mut self, n: u64, what: &str) -> Result<(), EngineError> {
        self.need(n, what)?;
        let copied = std::io::copy(&mut (&mut self.inner).take(n), &mut std::io::sink())
            .map_err(|e| self.corrupt(format!("reading {what}: {e}")))?;
        if copied != n {
            return Err(self.truncated(what, self.pos + n));
        }
        self.pos += n;
        Ok(())
    }

    fn string(&mut self, what: &str) -> Result<String, EngineError> {
        self.string_max(what, u64::MAX)
    }

    fn string_max(&mut self, what: &str, max: u64) -> Result<String, EngineError> {
        let n = self.u64(what)?;
        if n > max {
            return Err(self.corrupt(format!("{what} is {n} bytes long")));
        }
        self.need(n, what)?;
        let n_usize = usize::try_from(n).map_err(|_| self.corrupt(format!("{what}: too long")))?;
        let mut buf = vec![0u8; n_usize];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| self.corrupt(format!("reading {what}: {e}")))?;
        self.pos += n;
        String::from_utf8(buf).map_err(|_| self.corrupt(format!("{what} is not UTF-8")))
    }

    fn skip_string(&mut self, what: &str) -> Result<(), EngineError> {
        let n = self.u64(what)?;
        self.skip(n, what)
    }
}

// GGUF metadata value types.
const T_U8: u32 = 0;
const T_I8: u32 = 1;
const T_U16: u32 = 2;
const T_I16: u32 = 3;
const T_U32: u32 = 4;
const T_I32: u32 = 5;
const T_F32: u32 = 6;
const T_BOOL: u32 = 7;
const T_STRING: u32 = 8;
const T_ARRAY: u32 = 9;
const T_U64: u32 = 10;
const T_I64: u32 = 11;
const T_F64: u32 = 12;

fn scalar_size(t: u32) -> Option<u64> {
    match t {
        T_U8 | T_I8 | T_BOOL => Some(1),
        T_U16 | T_I16 => Some(2),
        T_U32 | T_I32 | T_F32 => Some(4),
        T_U64 | T_I64 | T_F64 => Some(8),
        _ => None,
    }
}

fn skip_value<R: Read>(
    r: &mut Reader<R>,
    t: u32,
    key: &str,
    depth: u32,
) -> Result<(), EngineError> {
    if let Some(n) = scalar_size(t) {
        return r.skip(n, key);
    }
    match t {
        T_STRING => r.skip_string(key),
        T_ARRAY if depth < MAX_ARRAY_DEPTH => {
            let et = r.u32(key)?;
            let count = r.u64(key)?;
            skip_elements(r, et, count, key, depth)
        }
        T_ARRAY => Err(r.corrupt(format!("array {key} nests too deeply"))),
        _ => Err(r.corrupt(format!("metadata {key} has unknown type {t}"))),
    }
}

/// Whether `key` is `<arch>.<one of ModelShape's suffixes>` (architecture names have no dot).
fn is_shape_key(key: &str) -> bool {
    key.split_once('.')
        .is_some_and(|(_, suffix)| ModelShape::default().suffix_slot(suffix).is_some())
}

/// Skips the `count` elements of type `et` of the array `key` (its header already read).
fn skip_elements<R: Read>(
    r: &mut Reader<R>,
    et: u32,
    count: u64,
    key: &str,
    depth: u32,
) -> Result<(), EngineError> {
    if let Some(n) = scalar_size(et) {
        let total = count
            .checked_mul(n)
            .ok_or_else(|| r.corrupt(format!("array {key} is impossibly large")))?;
        return r.skip(total, key);
    }
    if et != T_STRING && et != T_ARRAY {
        return Err(r.corrupt(format!("array {key} has unknown element type {et}")));
    }
    // Every element takes at least 8 bytes, which bounds the loop by the file size.
    r.need(count.saturating_mul(8), key)?;
    for _ in 0..count {
        skip_value(r, et, key, depth + 1)?;
    }
    Ok(())
}

/// A top-level array's elements (see [`skip_elements`]).
fn skip_array_elements<R: Read>(
    r: &mut Reader<R>,
    et: u32,
    count: u64,
    key: &str,
) -> Result<(), EngineError> {
    skip_elements(r, et, count, key, 0)
}

/// (elements per block, bytes per block) of a ggml tensor type; `None` for types this check
/// does not know (their extent is then checked by offset only, and llama.cpp checks the rest).
fn ggml_type_layout(t: u32) -> Option<(u64, u64)> {
    Some(match t {
        0 => (1, 4),      // F32
        1 => (1, 2),      // F16
        2 => (32, 18),    // Q4_0
        3 => (32, 20),    // Q4_1
        6 => (32, 22),    // Q5_0
        7 => (32, 24),    // Q5_1
        8 => (32, 34),    // Q8_0
        9 => (32, 36),    // Q8_1
        10 => (256, 84),  // Q2_K
        11 => (256, 110), // Q3_K
        12 => (256, 144), // Q4_K
        13 => (256, 176), // Q5_K
        14 => (256, 210), // Q6_K
        15 => (256, 292), // Q8_K
        16 => (256, 66),  // IQ2_XXS
        17 => (256, 74),  // IQ2_XS
        18 => (256, 98),  // IQ3_XXS
        19 => (256, 50),  // IQ1_S
        20 => (32, 18),   // IQ4_NL
        21 => (256, 110), // IQ3_S
        22 => (256, 82),  // IQ2_S
        23 => (256, 136), // IQ4_XS
        24 => (1, 1),     // I8
        25 => (1, 2),     // I16
        26 => (1, 4),     // I32
        27 => (1, 8),     // I64
        28 => (1, 8),     // F64
        29 => (256, 56),  // IQ1_M
        30 => (1, 2),     // BF16
        34 => (256, 54),  // TQ1_0
        35 => (256, 66),  // TQ2_0
        _ => return None,
    })
}

fn parse<R: Read>(r: &mut Reader<R>) -> Result<GgufSummary, EngineError> {
    if r.len < 4 {
        return Err(r.corrupt(format!("not a GGUF file: only {} bytes long", r.len)));
    }
    let magic = r.bytes::<4>("magic")?;
    if &magic != b"GGUF" {
        return Err(r.corrupt(format!(
            "not a GGUF file (starts with {:02x?}, expected \"GGUF\")",
            magic
        )));
    }
    let version = r.u32("version")?;
    if !(2..=3).contains(&version) {
        return Err(r.corrupt(format!("unsupported GGUF version {version}")));
    }
    let tensor_count = r.u64("tensor count")?;
    let metadata_count = r.u64("metadata count")?;
    if tensor_count > MAX_TENSORS || metadata_count > MAX_METADATA {
        return Err(r.corrupt(format!(
            "implausible header: {tensor_count} tensors, {metadata_count} metadata entries"
        )));
    }

    let mut alignment: u64 = 32;
    let mut architecture = None;
    let mut name = None;
    let mut has_chat_template = false;
    let mut shape = ModelShape::default();
    // `(key, value)` of scalar integers whose key may be an `<arch>.` hyper-parameter; matched
    // once `general.architecture` is known (it usually comes first, but need not).
    let mut numbers: Vec<(String, u32)> = Vec::new();
    for i in 0..metadata_count {
        let key = r
            .string_max("metadata key", MAX_KEY_LEN)
            .map_err(|e| match e {
                EngineError::ModelCorrupt { path, reason } => EngineError::ModelCorrupt {
                    path,
                    reason: format!("metadata entry #{i}: {reason}"),
                },
                other => other,
            })?;
        let t = r.u32(&key)?;
        match (key.as_str(), t) {
            ("general.alignment", T_U32) => {
                alignment = u64::from(r.u32(&key)?);
                if alignment == 0 || !alignment.is_power_of_two() {
                    return Err(r.corrupt(format!("general.alignment {alignment} is invalid")));
                }
            }
            ("general.architecture", T_STRING) => architecture = Some(r.string(&key)?),
            ("general.name", T_STRING) => name = Some(r.string(&key)?),
            ("tokenizer.chat_template", T_STRING) => {
                has_chat_template = true;
                r.skip_string(&key)?;
            }
            ("tokenizer.ggml.tokens", T_ARRAY) => {
                let et = r.u32(&key)?;
                let count = r.u64(&key)?;
                shape.n_vocab = u32::try_from(count).ok();
                // Back to the generic walk for the elements (it re-reads no header).
                skip_array_elements(r, et, count, &key)?;
            }
            (k, T_U32 | T_I32) if is_shape_key(k) && numbers.len() < 64 => {
                let v = r.u32(&key)?;
                numbers.push((key.clone(), v));
            }
            (k, T_U64) if is_shape_key(k) && numbers.len() < 64 => {
                let v = r.u64(&key)?;
                numbers.push((key.clone(), u32::try_from(v).unwrap_or(u32::MAX)));
            }
            _ => skip_value(r, t, &key, 0)?,
        }
    }
    if let Some(arch) = &architecture {
        for (key, v) in &numbers {
            let slot = key
                .strip_prefix(arch.as_str())
                .and_then(|k| k.strip_prefix('.'))
                .and_then(|suffix| shape.suffix_slot(suffix));
            if let Some(slot) = slot {
                *slot = Some(*v);
            }
        }
    }

    struct TensorInfo {
        name: String,
        offset: u64,
        bytes: Option<u64>,
    }
    let mut tensors = Vec::with_capacity(tensor_count.min(4096) as usize);
    for _ in 0..tensor_count {
        let tname = r.string("tensor name")?;
        let n_dims = r.u32(&tname)?;
        if n_dims == 0 || n_dims > MAX_DIMS {
            return Err(r.corrupt(format!("tensor {tname} has {n_dims} dimensions")));
        }
        let mut elements: u64 = 1;
        let mut ne0 = 1;
        for d in 0..n_dims {
            let n = r.u64(&tname)?;
            if d == 0 {
                ne0 = n;
            }
            elements = elements
                .checked_mul(n)
                .ok_or_else(|| r.corrupt(format!("tensor {tname} is impossibly large")))?;
        }
        let ty = r.u32(&tname)?;
        let offset = r.u64(&tname)?;
        let bytes = match ggml_type_layout(ty) {
            Some((block, size)) => {
                if ne0 % block != 0 {
                    return Err(r.corrupt(format!(
                        "tensor {tname}: row of {ne0} is not a multiple of the block size {block}"
                    )));
                }
                // Checked: a row count near 2^64 would wrap to a small size (a release build
                // does not trap) and let a file without its data pass.
                let bytes = (elements / block)
                    .checked_mul(size)
                    .ok_or_else(|| r.corrupt(format!("tensor {tname} is impossibly large")))?;
                Some(bytes)
            }
            None => None,
        };
        tensors.push(TensorInfo {
            name: tname,
            offset,
            bytes,
        });
    }

    let data_start = r.pos.div_ceil(alignment) * alignment;
    let mut data_end = data_start;
    for t in &tensors {
        if t.offset % alignment != 0 {
            return Err(r.corrupt(format!(
                "tensor {} is at offset {} which is not aligned to {alignment}",
                t.name, t.offset
            )));
        }
        let end = data_start
            .checked_add(t.offset)
            .and_then(|s| s.checked_add(t.bytes.unwrap_or(0)))
            .ok_or_else(|| r.corrupt(format!("tensor {} offset overflows", t.name)))?;
        if end > r.len {
            return Err(r.corrupt(format!(
                "truncated: tensor {} needs bytes up to {end} but the file has {} \
                 (incomplete download?)",
                t.name, r.len
            )));
        }
        data_end = data_end.max(end);
    }
    if tensor_count == 0 {
        return Err(r.corrupt("the file holds no tensors".into()));
    }

    Ok(GgufSummary {
        version,
        tensor_count,
        metadata_count,
        architecture,
        name,
        has_chat_template,
        shape,
        file_size: r.len,
        data_end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gguf_bytes(tensor_bytes: usize, truncate_to: Option<usize>) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(b"GGUF");
        v.extend_from_slice(&3u32.to_le_bytes());
        v.extend_from_slice(&1u64.to_le_bytes()); // tensors
        v.extend_from_slice(&2u64.to_le_bytes()); // metadata
        let kv_str = |v: &mut Vec<u8>, k: &str, s: &str| {
            v.extend_from_slice(&(k.len() as u64).to_le_bytes());
            v.extend_from_slice(k.as_bytes());
            v.extend_from_slice(&T_STRING.to_le_bytes());
            v.extend_from_slice(&(s.len() as u64).to_le_bytes());
            v.extend_from_slice(s.as_bytes());
        };
        kv_str(&mut v, "general.architecture", "llama");
        // An array of strings, like a vocabulary.
        let k = "tokenizer.ggml.tokens";
        v.extend_from_slice(&(k.len() as u64).to_le_bytes());
        v.extend_from_slice(k.as_bytes());
        v.extend_from_slice(&T_ARRAY.to_le_bytes());
        v.extend_from_slice(&T_STRING.to_le_bytes());
        v.extend_from_slice(&2u64.to_le_bytes());
        for s in ["<s>", "日本"] {
            v.extend_from_slice(&(s.len() as u64).to_le_bytes());
            v.extend_from_slice(s.as_bytes());
        }
        // One F32 tensor of tensor_bytes/4 elements.
        let n = "w";
        v.extend_from_slice(&(n.len() as u64).to_le_bytes());
        v.extend_from_slice(n.as_bytes());
        v.extend_from_slice(&1u32.to_le_bytes());
        v.extend_from_slice(&((tensor_bytes / 4) as u64).to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&0u64.to_le_bytes());
        while v.len() % 32 != 0 {
            v.push(0);
        }
        v.extend(std::iter::repeat_n(0u8, tensor_bytes));
        if let Some(t) = truncate_to {
            v.truncate(t);
        }
        v
    }

    fn write(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().expect("tempfile");
        f.write_all(bytes).expect("write");
        f
    }

    #[test]
    fn complete_file_passes() {
        let bytes = gguf_bytes(64, None);
        let f = write(&bytes);
        let s = validate_gguf(f.path()).expect("valid");
        assert_eq!(s.architecture.as_deref(), Some("llama"));
        assert_eq!(s.tensor_count, 1);
        assert_eq!(s.data_end, bytes.len() as u64);
    }

    #[test]
    fn truncated_tensor_data_is_reported() {
        let full = gguf_bytes(64, None);
        let f = write(&gguf_bytes(64, Some(full.len() - 1)));
        let err = validate_gguf(f.path()).unwrap_err();
        assert!(
            matches!(&err, EngineError::ModelCorrupt { reason, .. } if reason.contains("truncated")),
            "{err}"
        );
    }

    #[test]
    fn truncated_metadata_is_reported() {
        let f = write(&gguf_bytes(64, Some(60)));
        let err = validate_gguf(f.path()).unwrap_err();
        assert!(
            matches!(&err, EngineError::ModelCorrupt { reason, .. } if reason.contains("truncated")),
            "{err}"
        );
    }

    #[test]
    fn wrong_magic_and_tiny_files() {
        for bytes in [&b"GGML0000000000000000000000"[..], b"GG", b""] {
            let f = write(bytes);
            let err = validate_gguf(f.path()).unwrap_err();
            assert!(
                matches!(&err, EngineError::ModelCorrupt { reason, .. } if reason.contains("not a GGUF")),
                "{err}"
            );
        }
    }

    /// The hyper-parameters that size the KV cache, read whatever the keys' order; a per-layer
    /// array (as some models store head counts) is not taken for a number.
    #[test]
    fn model_shape_is_read_from_the_arch_keys() {
        let mut v = Vec::new();
        v.extend_from_slice(b"GGUF");
        v.extend_from_slice(&3u32.to_le_bytes());
        v.extend_from_slice(&1u64.to_le_bytes()); // tensors
        v.extend_from_slice(&7u64.to_le_bytes()); // metadata
        let key = |v: &mut Vec<u8>, k: &str, t: u32| {
            v.extend_from_slice(&(k.len() as u64).to_le_bytes());
            v.extend_from_slice(k.as_bytes());
            v.extend_from_slice(&t.to_le_bytes());
        };
        // Before `general.architecture`, as a converter may write them.
        key(&mut v, "llama.block_count", T_U32);
        v.extend_from_slice(&30u32.to_le_bytes());
        key(&mut v, "llama.attention.head_count_kv", T_U64);
        v.extend_from_slice(&3u64.to_le_bytes());
        key(&mut v, "general.architecture", T_STRING);
        v.extend_from_slice(&5u64.to_le_bytes());
        v.extend_from_slice(b"llama");
        key(&mut v, "llama.embedding_length", T_U32);
        v.extend_from_slice(&576u32.to_le_bytes());
        // Per layer: an array, not a number.
        key(&mut v, "llama.attention.head_count", T_ARRAY);
        v.extend_from_slice(&T_U32.to_le_bytes());
        v.extend_from_slice(&2u64.to_le_bytes());
        v.extend_from_slice(&9u32.to_le_bytes());
        v.extend_from_slice(&9u32.to_le_bytes());
        // Another architecture's key is not this model's.
        key(&mut v, "qwen2.block_count", T_U32);
        v.extend_from_slice(&99u32.to_le_bytes());
        key(&mut v, "tokenizer.ggml.tokens", T_ARRAY);
        v.extend_from_slice(&T_STRING.to_le_bytes());
        v.extend_from_slice(&3u64.to_le_bytes());
        for s in ["<s>", "a", "日本"] {
            v.extend_from_slice(&(s.len() as u64).to_le_bytes());
            v.extend_from_slice(s.as_bytes());
        }
        v.extend_from_slice(&1u64.to_le_bytes());
        v.push(b'w');
        v.extend_from_slice(&1u32.to_le_bytes());
        v.extend_from_slice(&16u64.to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes()); // F32
        v.extend_from_slice(&0u64.to_le_bytes());
        while v.len() % 32 != 0 {
            v.push(0);
        }
        v.extend(std::iter::repeat_n(0u8, 64));
        let s = validate_gguf_bytes(&v).expect("valid");
        assert_eq!(
            s.shape,
            ModelShape {
                n_layer: Some(30),
                n_embd: Some(576),
                n_head: None,
                n_head_kv: Some(3),
                key_length: None,
                value_length: None,
                n_vocab: Some(3),
            }
        );
        // The two-token vocabulary of the plain sample.
        let plain = validate_gguf_bytes(&gguf_bytes(64, None)).expect("valid");
        assert_eq!(plain.shape.n_vocab, Some(2));
        assert_eq!(plain.shape.n_layer, None);
    }

    #[test]
    fn missing_file() {
        let err = validate_gguf(Path::new("/nonexistent/dir/model.gguf")).unwrap_err();
        assert!(matches!(err, EngineError::ModelMissing { .. }));
    }

    /// Found by the `gguf_header` fuzz target: a tensor whose element count fits in 64 bits
    /// but whose size in bytes does not overflowed (a panic with debug assertions; without them
    /// it wrapped to 0 bytes, and the file passed without its data).
    #[test]
    fn tensor_size_overflow_is_corrupt_not_a_panic() {
        let mut v = Vec::new();
        v.extend_from_slice(b"GGUF");
        v.extend_from_slice(&3u32.to_le_bytes());
        v.extend_from_slice(&1u64.to_le_bytes()); // tensors
        v.extend_from_slice(&0u64.to_le_bytes()); // metadata
        v.extend_from_slice(&1u64.to_le_bytes());
        v.push(b'w');
        v.extend_from_slice(&1u32.to_le_bytes()); // dimensions
        v.extend_from_slice(&(1u64 << 62).to_le_bytes()); // 2^62 F32 elements: 2^64 bytes
        v.extend_from_slice(&0u32.to_le_bytes()); // F32
        v.extend_from_slice(&0u64.to_le_bytes()); // offset
        let err = validate_gguf_bytes(&v).unwrap_err();
        assert!(
            matches!(&err, EngineError::ModelCorrupt { reason, .. } if reason.contains("impossibly large")),
            "{err}"
        );
    }

    #[test]
    fn bytes_in_memory_are_checked_like_a_file() {
        for bytes in [
            gguf_bytes(64, None),
            gguf_bytes(64, Some(60)),
            b"GG".to_vec(),
        ] {
            let from_file = validate_gguf(write(&bytes).path());
            let in_memory = validate_gguf_bytes(&bytes);
            match (from_file, in_memory) {
                (Ok(a), Ok(b)) => assert_eq!(a, b),
                (
                    Err(EngineError::ModelCorrupt { reason: a, .. }),
                    Err(EngineError::ModelCorrupt { reason: b, .. }),
                ) => assert_eq!(a, b),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn huge_counts_do_not_allocate() {
        let mut v = Vec::new();
        v.extend_from_slice(b"GGUF");
        v.extend_from_slice(&3u32.to_le_bytes());
        v.extend_from_slice(&u64::MAX.to_le_bytes());
        v.extend_from_slice(&u64::MAX.to_le_bytes());
        let f = write(&v);
        let err = validate_gguf(f.path()).unwrap_err();
        assert!(
            matches!(&err, EngineError::ModelCorrupt { reason, .. } if reason.contains("implausible")),
            "{err}"
        );
    }
}
