//! LiteRT (TFLite) through its C API (feature `litert`), `libLiteRt.so` opened at run time.
//!
//! The declarations below are written from the public `litert/c/*.h` headers of
//! google-ai-edge/LiteRT and checked against the exported symbols of the 2.3.0 library
//! (which takes the environment as the first argument of `LiteRtCreateModelFromFile`).
//! Every handle mlgate creates is owned by a guard whose `Drop` releases it, in reverse
//! order of creation.

use mlgate_ir::ModelFormat;

use crate::discovery::{LibrarySpec, RuntimeConfig};
use crate::{Backend, BackendKind};

const KIND: BackendKind = BackendKind::LiteRt;
const FORMATS: &[ModelFormat] = &[ModelFormat::Tflite];

/// The LiteRT mlgate pins: `libLiteRt.so` from the `ai-edge-litert` 2.3.0 wheel.
pub const LIBRARY: LibrarySpec = LibrarySpec {
    backend: KIND,
    install_name: "litert",
    version: "2.3.0",
    env_var: "LITERT_LIB_PATH",
    runtime_subdir: "litert-2.3.0",
    file_name: if cfg!(target_os = "macos") {
        "libLiteRt.dylib"
    } else {
        "libLiteRt.so"
    },
    python_module: "ai_edge_litert",
    python_subdir: "",
    python_file_prefix: if cfg!(target_os = "macos") {
        "libLiteRt.dylib"
    } else {
        "libLiteRt.so"
    },
};

pub(crate) fn backend(config: &RuntimeConfig) -> Box<dyn Backend> {
    #[cfg(feature = "litert")]
    {
        Box::new(imp::LiteRtBackend {
            config: config.clone(),
        })
    }
    #[cfg(not(feature = "litert"))]
    {
        let _ = config;
        Box::new(NotBuilt)
    }
}

#[cfg(not(feature = "litert"))]
struct NotBuilt;

#[cfg(not(feature = "litert"))]
impl Backend for NotBuilt {
    fn kind(&self) -> BackendKind {
        KIND
    }
    fn formats(&self) -> &'static [ModelFormat] {
        FORMATS
    }
    fn probe(&self) -> crate::RuntimeStatus {
        crate::RuntimeStatus {
            backend: KIND,
            available: false,
            formats: FORMATS.to_vec(),
            library: None,
            source: None,
            version: None,
            problem: Some("this mlgate was built without the `litert` feature".into()),
            install: None,
        }
    }
    fn load(
        &self,
        _: &std::path::Path,
        _: &crate::SessionOptions,
    ) -> crate::Result<Box<dyn crate::Session>> {
        Err(crate::BackendError::Unavailable {
            backend: KIND,
            reason: "this mlgate was built without the `litert` feature; rebuild with `--features litert`".into(),
        })
    }
}

#[cfg(feature = "litert")]
mod ffi {
    //! `extern "C"` shapes of the LiteRT C API functions mlgate calls.
    use std::ffi::{c_char, c_int, c_void};

    pub type Status = c_int;
    pub type Handle = *mut c_void;
    pub type Deallocator = Option<unsafe extern "C" fn(*mut c_void)>;

    pub const STATUS_OK: Status = 0;
    pub const TENSOR_TYPE_RANKED: c_int = 0;
    pub const HW_ACCELERATOR_CPU: c_int = 1;
    pub const LOCK_READ: c_int = 0;
    pub const LOCK_WRITE: c_int = 1;
    pub const MAX_RANK: usize = 8;
    /// `LITERT_HOST_MEMORY_BUFFER_ALIGNMENT`.
    pub const HOST_ALIGNMENT: usize = 64;

    /// `LiteRtLayout`: `rank:7` and `has_strides:1` bit-fields share the first 32-bit word.
    #[repr(C)]
    #[derive(Clone, Copy, Debug)]
    pub struct Layout {
        pub bits: u32,
        pub dimensions: [i32; MAX_RANK],
        pub strides: [u32; MAX_RANK],
    }

    impl Layout {
        pub fn rank(&self) -> usize {
            (self.bits & 0x7f) as usize
        }

        /// The dimensions, `-1` where the model leaves one open.
        pub fn dims(&self) -> &[i32] {
            &self.dimensions[..self.rank().min(MAX_RANK)]
        }

        /// A packed layout of these dimensions (no strides); `None` past [`MAX_RANK`].
        pub fn of(dims: &[i32]) -> Option<Layout> {
            if dims.len() > MAX_RANK {
                return None;
            }
            let mut dimensions = [0; MAX_RANK];
            dimensions[..dims.len()].copy_from_slice(dims);
            Some(Layout {
                bits: dims.len() as u32,
                dimensions,
                strides: [0; MAX_RANK],
            })
        }
    }

    /// `LiteRtRankedTensorType` (72 bytes on 64-bit targets).
    #[repr(C)]
    #[derive(Clone, Copy, Debug)]
    pub struct RankedTensorType {
        pub element_type: c_int,
        pub layout: Layout,
    }

    const _: () = assert!(std::mem::size_of::<RankedTensorType>() == 72);

    /// Function pointers resolved from the library; the `Library` field keeps them valid.
    pub struct Api {
        pub create_environment: unsafe extern "C" fn(c_int, *const c_void, *mut Handle) -> Status,
        pub destroy_environment: unsafe extern "C" fn(Handle),
        pub create_model_from_file:
            unsafe extern "C" fn(Handle, *const c_char, *mut Handle) -> Status,
        pub destroy_model: unsafe extern "C" fn(Handle),
        pub get_num_model_signatures: unsafe extern "C" fn(Handle, *mut usize) -> Status,
        pub get_model_signature: unsafe extern "C" fn(Handle, usize, *mut Handle) -> Status,
        pub get_num_signature_inputs: unsafe extern "C" fn(Handle, *mut usize) -> Status,
        pub get_num_signature_outputs: unsafe extern "C" fn(Handle, *mut usize) -> Status,
        pub get_signature_input_name:
            unsafe extern "C" fn(Handle, usize, *mut *const c_char) -> Status,
        pub get_signature_output_name:
            unsafe extern "C" fn(Handle, usize, *mut *const c_char) -> Status,
        pub get_signature_input_tensor_by_index:
            unsafe extern "C" fn(Handle, usize, *mut Handle) -> Status,
        pub get_signature_output_tensor_by_index:
            unsafe extern "C" fn(Handle, usize, *mut Handle) -> Status,
        pub get_tensor_name: unsafe extern "C" fn(Handle, *mut *const c_char) -> Status,
        pub get_tensor_type_id: unsafe extern "C" fn(Handle, *mut c_int) -> Status,
        pub get_ranked_tensor_type: unsafe extern "C" fn(Handle, *mut RankedTensorType) -> Status,
        pub create_options: unsafe extern "C" fn(*mut Handle) -> Status,
        pub destroy_options: unsafe extern "C" fn(Handle),
        pub set_options_hardware_accelerators: unsafe extern "C" fn(Handle, c_int) -> Status,
        pub create_opaque_options:
            unsafe extern "C" fn(*const c_char, *mut c_void, Deallocator, *mut Handle) -> Status,
        pub destroy_opaque_options: unsafe extern "C" fn(Handle),
        pub add_opaque_options: unsafe extern "C" fn(Handle, Handle) -> Status,
        pub create_compiled_model:
            unsafe extern "C" fn(Handle, Handle, Handle, *mut Handle) -> Status,
        pub destroy_compiled_model: unsafe extern "C" fn(Handle),
        pub create_tensor_buffer_from_host_memory: unsafe extern "C" fn(
            *const RankedTensorType,
            *mut c_void,
            usize,
            Deallocator,
            *mut Handle,
        ) -> Status,
        pub destroy_tensor_buffer: unsafe extern "C" fn(Handle),
        pub lock_tensor_buffer: unsafe extern "C" fn(Handle, *mut *mut c_void, c_int) -> Status,
        pub unlock_tensor_buffer: unsafe extern "C" fn(Handle) -> Status,
        pub run_compiled_model:
            unsafe extern "C" fn(Handle, usize, usize, *mut Handle, usize, *mut Handle) -> Status,
        pub resize_input_tensor:
            unsafe extern "C" fn(Handle, usize, usize, *const c_int, usize) -> Status,
        pub resize_input_tensor_non_strict:
            unsafe extern "C" fn(Handle, usize, usize, *const c_int, usize) -> Status,
        pub get_output_tensor_layouts:
            unsafe extern "C" fn(Handle, usize, usize, *mut Layout, bool) -> Status,
        _library: libloading::Library,
    }

    impl Api {
        /// # Safety
        /// `path` must be a LiteRT library exporting these functions with these signatures.
        pub unsafe fn load(path: &std::path::Path) -> Result<Api, String> {
            let library = libloading::Library::new(path).map_err(|e| e.to_string())?;
            macro_rules! sym {
                ($name:literal) => {
                    *library
                        .get(concat!($name, "\0").as_bytes())
                        .map_err(|_| format!("it does not export {}; is it LiteRT 2.x?", $name))?
                };
            }
            Ok(Api {
                create_environment: sym!("LiteRtCreateEnvironment"),
                destroy_environment: sym!("LiteRtDestroyEnvironment"),
                create_model_from_file: sym!("LiteRtCreateModelFromFile"),
                destroy_model: sym!("LiteRtDestroyModel"),
                get_num_model_signatures: sym!("LiteRtGetNumModelSignatures"),
                get_model_signature: sym!("LiteRtGetModelSignature"),
                get_num_signature_inputs: sym!("LiteRtGetNumSignatureInputs"),
                get_num_signature_outputs: sym!("LiteRtGetNumSignatureOutputs"),
                get_signature_input_name: sym!("LiteRtGetSignatureInputName"),
                get_signature_output_name: sym!("LiteRtGetSignatureOutputName"),
                get_signature_input_tensor_by_index: sym!("LiteRtGetSignatureInputTensorByIndex"),
                get_signature_output_tensor_by_index: sym!("LiteRtGetSignatureOutputTensorByIndex"),
                get_tensor_name: sym!("LiteRtGetTensorName"),
                get_tensor_type_id: sym!("LiteRtGetTensorTypeId"),
                get_ranked_tensor_type: sym!("LiteRtGetRankedTensorType"),
                create_options: sym!("LiteRtCreateOptions"),
                destroy_options: sym!("LiteRtDestroyOptions"),
                set_options_hardware_accelerators: sym!("LiteRtSetOptionsHardwareAccelerators"),
                create_opaque_options: sym!("LiteRtCreateOpaqueOptions"),
                destroy_opaque_options: sym!("LiteRtDestroyOpaqueOptions"),
                add_opaque_options: sym!("LiteRtAddOpaqueOptions"),
                create_compiled_model: sym!("LiteRtCreateCompiledModel"),
                destroy_compiled_model: sym!("LiteRtDestroyCompiledModel"),
                create_tensor_buffer_from_host_memory: sym!(
                    "LiteRtCreateTensorBufferFromHostMemory"
                ),
                destroy_tensor_buffer: sym!("LiteRtDestroyTensorBuffer"),
                lock_tensor_buffer: sym!("LiteRtLockTensorBuffer"),
                unlock_tensor_buffer: sym!("LiteRtUnlockTensorBuffer"),
                run_compiled_model: sym!("LiteRtRunCompiledModel"),
                resize_input_tensor: sym!("LiteRtCompiledModelResizeInputTensor"),
                resize_input_tensor_non_strict: sym!(
                    "LiteRtCompiledModelResizeInputTensorNonStrict"
                ),
                get_output_tensor_layouts: sym!("LiteRtGetCompiledModelOutputTensorLayouts"),
                _library: library,
            })
        }
    }

    /// Status names from `litert_common.h` (the library does not export its own lookup).
    pub fn status_name(s: Status) -> String {
        let name = match s {
            1 => "invalid argument",
            2 => "memory allocation failure",
            3 => "runtime failure",
            4 => "missing input tensor",
            5 => "unsupported",
            6 => "not found",
            7 => "timeout expired",
            8 => "wrong version",
            9 => "unknown error",
            10 => "already exists",
            100 => "cancelled",
            500 => "file I/O error",
            501 => "invalid flatbuffer",
            502 => "dynamic loading error",
            503 => "serialization error",
            504 => "compilation error",
            1000 => "index out of bounds",
            1001 => "invalid IR type",
            1002 => "invalid graph invariant",
            1003 => "graph modification error",
            4000 => "unsupported runtime version",
            4001 => "unsupported compiler version",
            4002 => "incompatible byte code version",
            5000 => "unsupported op shape inferer",
            5001 => "shape inference failed",
            _ => "status",
        };
        format!("{name} ({s})")
    }
}

/// Capturing what native code writes to file descriptor 2.
#[cfg(feature = "litert")]
mod stderr {
    /// Runs `f` with fd 2 redirected to an anonymous file; returns `f`'s result and what was
    /// written. One capture at a time process-wide; without the redirect (no fds, not Unix)
    /// `f` just runs.
    pub fn capture<T>(f: impl FnOnce() -> T) -> (T, String) {
        #[cfg(unix)]
        {
            use std::io::{Read, Seek};
            use std::os::fd::AsRawFd;
            static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
            thread_local!(static CAPTURING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
            // Nested (a session dropped while loading fails): the outer capture has it all.
            if CAPTURING.get() {
                return (f(), String::new());
            }
            let _guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
            CAPTURING.set(true);
            struct Reset;
            impl Drop for Reset {
                fn drop(&mut self) {
                    CAPTURING.set(false);
                }
            }
            let _reset = Reset;
            let Ok(mut file) = tempfile::tempfile() else {
                return (f(), String::new());
            };
            // SAFETY: plain fd calls; fd 2 is restored before returning on every path.
            let saved = unsafe { libc::dup(2) };
            if saved < 0 || unsafe { libc::dup2(file.as_raw_fd(), 2) } < 0 {
                if saved >= 0 {
                    unsafe { libc::close(saved) };
                }
                return (f(), String::new());
            }
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            unsafe {
                libc::dup2(saved, 2);
                libc::close(saved);
            }
            let mut text = String::new();
            if file.rewind().is_ok() {
                let _ = file.read_to_string(&mut text);
            }
            match result {
                Ok(v) => (v, text),
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        #[cfg(not(unix))]
        {
            (f(), String::new())
        }
    }

    /// The lines of `log` that are not LiteRT's chatter (INFO, and warnings that GPU or NPU
    /// accelerator libraries are absent), for the session's info.
    pub fn notable_lines(log: &str) -> Vec<String> {
        let chatter =
            |l: &str| l.starts_with("INFO:") || l.contains("_registry.cc") || l.trim().is_empty();
        let mut seen = std::collections::HashSet::new();
        // LiteRT repeats some warnings once per tensor; once per load is enough.
        log.lines()
            .filter(|l| !chatter(l) && seen.insert(*l))
            .map(str::to_string)
            .collect()
    }
}

#[cfg(feature = "litert")]
mod imp {
    use std::alloc::Layout as AllocLayout;
    use std::ffi::{c_void, CStr, CString};
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Mutex, OnceLock};
    use std::time::Instant;

    use mlgate_ir::tensor::{Tensor, TensorData};
    use mlgate_ir::{DType, Dim, FormatDetails, ModelFormat, TensorInfo};

    use super::ffi::{self, Api, Handle, RankedTensorType, Status};
    use super::{stderr, FORMATS, KIND, LIBRARY};
    use crate::discovery::{find_library, FoundLibrary, RuntimeConfig};
    use crate::{
        Backend, BackendError, BackendKind, ExecutionProvider, Result, RuntimeStatus, Session,
        SessionInfo, SessionOptions,
    };

    pub(super) struct LiteRtBackend {
        pub(super) config: RuntimeConfig,
    }

    struct Runtime {
        api: Api,
        library: FoundLibrary,
        version: Option<String>,
    }

    /// Loaded libraries by path: loading is expensive and unloading LiteRT is not safe
    /// while its worker threads may exist, so each stays loaded for the process.
    static LOADED: OnceLock<Mutex<Vec<Arc<Runtime>>>> = OnceLock::new();

    impl LiteRtBackend {
        fn find(&self) -> Result<FoundLibrary> {
            find_library(
                &LIBRARY,
                self.config.litert_library.as_deref(),
                &self.config,
            )
            .map_err(|tried| BackendError::LibraryMissing {
                backend: KIND,
                tried: tried.join("; "),
                install: LIBRARY.install_command(),
            })
        }

        fn runtime(&self) -> Result<Arc<Runtime>> {
            let library = self.find()?;
            let loaded = LOADED.get_or_init(Default::default);
            let mut loaded = loaded.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(rt) = loaded.iter().find(|r| r.library.path == library.path) {
                return Ok(rt.clone());
            }
            // SAFETY: the file was found as LiteRT's library; `Api::load` checks every
            // symbol exists before any is called.
            let api = unsafe { Api::load(&library.path) }.map_err(|detail| {
                BackendError::LibraryLoad {
                    backend: KIND,
                    path: library.path.clone(),
                    detail,
                    install: LIBRARY.install_command(),
                }
            })?;
            let version = library
                .version
                .clone()
                .or_else(|| pinned_version(&library.path));
            let rt = Arc::new(Runtime {
                api,
                library,
                version,
            });
            loaded.push(rt.clone());
            Ok(rt)
        }
    }

    /// The library has no version call; a file identical to the pinned release is that release.
    fn pinned_version(path: &Path) -> Option<String> {
        let sha = mlgate_ir::hash::sha256_file(path).ok()?;
        (crate::install::LITERT.sha256 == Some(sha.as_str())).then(|| LIBRARY.version.to_string())
    }

    impl Backend for LiteRtBackend {
        fn kind(&self) -> BackendKind {
            KIND
        }

        fn formats(&self) -> &'static [ModelFormat] {
            FORMATS
        }

        fn probe(&self) -> RuntimeStatus {
            let (available, library, version, problem) = match self.runtime() {
                Ok(rt) => (true, Some(rt.library.clone()), rt.version.clone(), None),
                Err(e) => (false, self.find().ok(), None, Some(e.to_string())),
            };
            RuntimeStatus {
                backend: KIND,
                available,
                formats: FORMATS.to_vec(),
                library: library.as_ref().map(|l| l.path.clone()),
                source: library.as_ref().map(|l| l.source.to_string()),
                version,
                install: problem.as_ref().map(|_| LIBRARY.install_command()),
                problem,
            }
        }

        fn load(&self, model: &Path, options: &SessionOptions) -> Result<Box<dyn Session>> {
            if options.execution_provider != ExecutionProvider::Cpu {
                return Err(BackendError::Options {
                    backend: KIND,
                    detail: format!(
                        "mlgate runs LiteRT on the CPU only, not {}",
                        options.execution_provider
                    ),
                });
            }
            let rt = self.runtime()?;
            let start = Instant::now();
            // LiteRT logs accelerator probing at INFO and names a failing op only in its log,
            // so its stderr is captured while loading: INFO is dropped, anything else is
            // passed on, and a failure quotes it.
            let (result, log) = stderr::capture(|| {
                let mut session = open(rt.clone(), model, options)?;
                // Tensors are allocated, and unknown custom ops detected, on the first run;
                // doing it now makes a model that cannot run fail at load. Not where the file
                // leaves an input dimension open: its placeholder extent (1) need not be one
                // the model runs at (a spectrogram of one sample), and the first run, at the
                // shapes given, allocates anyway.
                let open_inputs = session
                    .inputs
                    .iter()
                    .any(|t| t.shape.iter().flatten().any(|d| d.fixed().is_none()));
                if !open_inputs {
                    session.prime()?;
                    // That run moved the state a stateful model keeps in variables; its
                    // first real run must start from the file's initial state, as in every
                    // other LiteRT API, so it gets a fresh session.
                    if keeps_state(model) {
                        session = open(rt, model, options)?;
                    }
                }
                Ok::<_, BackendError>(session)
            });
            match result {
                Ok(mut session) => {
                    session.info.warnings = stderr::notable_lines(&log);
                    session.info.load_ms = start.elapsed().as_secs_f64() * 1e3;
                    Ok(Box::new(session))
                }
                Err(e) => Err(explain_failure(e, model, &log)),
            }
        }
    }

    /// Whether the model keeps state from one run to the next: resource variables (what the
    /// TF converter writes for a stateful layer, `VAR_HANDLE` / `ASSIGN_VARIABLE`) or
    /// variable tensors (the state of TFLite's recurrent kernels).
    fn keeps_state(model: &Path) -> bool {
        let Ok(m) = mlgate_ir::tflite::read_model(model) else {
            return false;
        };
        m.subgraphs
            .iter()
            .any(|g| g.tensors.iter().any(|t| t.is_variable))
            || m.operator_codes
                .iter()
                .any(|c| matches!(c.name().as_str(), "VAR_HANDLE" | "ASSIGN_VARIABLE"))
    }

    fn dtype_of(element_type: i32) -> DType {
        match element_type {
            1 => DType::F32,
            2 => DType::I32,
            3 => DType::U8,
            4 => DType::I64,
            5 => DType::String,
            6 => DType::Bool,
            7 => DType::I16,
            8 => DType::Complex64,
            9 => DType::I8,
            10 => DType::F16,
            11 => DType::F64,
            12 => DType::Complex128,
            13 => DType::U64,
            16 => DType::U32,
            17 => DType::U16,
            18 => DType::I4,
            19 => DType::Bf16,
            other => DType::Other(format!("litert element type {other}")),
        }
    }

    /// Host memory aligned as LiteRT requires, owned by mlgate and wrapped by a buffer.
    struct AlignedBuf {
        ptr: *mut u8,
        len: usize,
        layout: AllocLayout,
    }

    impl AlignedBuf {
        fn zeroed(len: usize) -> Option<AlignedBuf> {
            // Zero-sized tensors still get a valid, aligned allocation.
            let layout =
                AllocLayout::from_size_align(len.max(ffi::HOST_ALIGNMENT), ffi::HOST_ALIGNMENT)
                    .ok()?;
            // SAFETY: the layout has a non-zero size.
            let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
            (!ptr.is_null()).then_some(AlignedBuf { ptr, len, layout })
        }
    }

    impl Drop for AlignedBuf {
        fn drop(&mut self) {
            // SAFETY: allocated in `zeroed` with this layout.
            unsafe { std::alloc::dealloc(self.ptr, self.layout) }
        }
    }

    /// One tensor buffer over mlgate-owned memory.
    struct Buffer {
        handle: Handle,
        memory: AlignedBuf,
        shape: Vec<usize>,
        /// The element type and layout the buffer was made with.
        ty: RankedTensorType,
        dtype: DType,
        name: String,
    }

    /// Every LiteRT object a session owns. Fields drop in declaration order, so buffers go
    /// before the compiled model, which goes before the model and the environment.
    struct Handles {
        rt: Arc<Runtime>,
        inputs: Vec<Buffer>,
        outputs: Vec<Buffer>,
        /// The buffer handles again, as the arrays a run takes, so runs allocate nothing.
        input_handles: Vec<Handle>,
        output_handles: Vec<Handle>,
        compiled: Handle,
        model: Handle,
        env: Handle,
    }

    impl Drop for Handles {
        fn drop(&mut self) {
            let api = &self.rt.api;
            // SAFETY: each handle was created by this library and is released exactly once;
            // the memory behind the buffers outlives them (it is freed after this body).
            // Teardown logs at INFO only; nothing there is worth showing.
            let _ = stderr::capture(|| unsafe {
                for b in self.inputs.iter().chain(&self.outputs) {
                    (api.destroy_tensor_buffer)(b.handle);
                }
                if !self.compiled.is_null() {
                    (api.destroy_compiled_model)(self.compiled);
                }
                if !self.model.is_null() {
                    (api.destroy_model)(self.model);
                }
                if !self.env.is_null() {
                    (api.destroy_environment)(self.env);
                }
            });
        }
    }

    struct OptionsGuard<'a> {
        api: &'a Api,
        handle: Handle,
    }

    impl Drop for OptionsGuard<'_> {
        fn drop(&mut self) {
            // SAFETY: created by `create_options`; the compiled model does not keep it.
            unsafe { (self.api.destroy_options)(self.handle) }
        }
    }

    unsafe extern "C" fn free_cstring(p: *mut c_void) {
        if !p.is_null() {
            // SAFETY: the payload was made by `CString::into_raw` below.
            drop(unsafe { CString::from_raw(p.cast()) });
        }
    }

    pub(super) struct LiteRtSession {
        handles: Handles,
        model_path: PathBuf,
        inputs: Vec<TensorInfo>,
        outputs: Vec<TensorInfo>,
        prepared: bool,
        ran: bool,
        /// Whether the output buffers were checked against the shapes the last run
        /// produced, once per binding.
        outputs_checked: bool,
        info: SessionInfo,
    }

    // SAFETY: the LiteRT objects are used from one thread at a time (every use goes through
    // `&mut self`), which the C API allows; they are not tied to the creating thread.
    unsafe impl Send for LiteRtSession {}

    fn open(rt: Arc<Runtime>, model: &Path, options: &SessionOptions) -> Result<LiteRtSession> {
        let load_err = |detail: String| BackendError::Load {
            backend: KIND,
            model: model.to_owned(),
            detail,
        };
        let mut h = Handles {
            rt: rt.clone(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            input_handles: Vec::new(),
            output_handles: Vec::new(),
            compiled: std::ptr::null_mut(),
            model: std::ptr::null_mut(),
            env: std::ptr::null_mut(),
        };
        let api = &rt.api;
        let check = |what: &str, s: Status| -> Result<()> {
            if s == ffi::STATUS_OK {
                Ok(())
            } else {
                Err(load_err(format!("{what}: {}", ffi::status_name(s))))
            }
        };
        let c_path = CString::new(model.as_os_str().as_encoded_bytes())
            .map_err(|_| load_err("the path contains a NUL byte".into()))?;
        // SAFETY (whole block): arguments are valid handles created above or out-pointers
        // to locals; strings returned by LiteRT are copied before the model is released.
        unsafe {
            check(
                "creating the environment",
                (api.create_environment)(0, std::ptr::null(), &mut h.env),
            )?;
            check(
                "reading the model",
                (api.create_model_from_file)(h.env, c_path.as_ptr(), &mut h.model),
            )?;
            let mut n_sig = 0usize;
            check(
                "listing signatures",
                (api.get_num_model_signatures)(h.model, &mut n_sig),
            )?;
            if n_sig == 0 {
                return Err(load_err("the model has no signature to run".into()));
            }
            let mut sig: Handle = std::ptr::null_mut();
            check(
                "reading signature 0",
                (api.get_model_signature)(h.model, 0, &mut sig),
            )?;
            let (mut n_in, mut n_out) = (0usize, 0usize);
            check(
                "counting inputs",
                (api.get_num_signature_inputs)(sig, &mut n_in),
            )?;
            check(
                "counting outputs",
                (api.get_num_signature_outputs)(sig, &mut n_out),
            )?;
            let file_info = mlgate_ir::inspect(model).ok();
            // Which dimensions of a signature input or output the file leaves open.
            let dynamic_dims = |name: &str, input: bool| -> Vec<bool> {
                let Some(info) = &file_info else {
                    return Vec::new();
                };
                let list = if input { &info.inputs } else { &info.outputs };
                list.iter()
                    .find(|t| t.is_called(name))
                    .and_then(|t| t.shape.as_ref())
                    .map(|dims| dims.iter().map(|d| d.fixed().is_none()).collect())
                    .unwrap_or_default()
            };
            let describe = |input: bool, i: usize| -> Result<(TensorInfo, RankedTensorType)> {
                let mut name_ptr = std::ptr::null();
                let mut tensor: Handle = std::ptr::null_mut();
                if input {
                    check(
                        "reading an input name",
                        (api.get_signature_input_name)(sig, i, &mut name_ptr),
                    )?;
                    check(
                        "reading an input",
                        (api.get_signature_input_tensor_by_index)(sig, i, &mut tensor),
                    )?;
                } else {
                    check(
                        "reading an output name",
                        (api.get_signature_output_name)(sig, i, &mut name_ptr),
                    )?;
                    check(
                        "reading an output",
                        (api.get_signature_output_tensor_by_index)(sig, i, &mut tensor),
                    )?;
                }
                let name = if name_ptr.is_null() {
                    format!("{}_{i}", if input { "input" } else { "output" })
                } else {
                    CStr::from_ptr(name_ptr).to_string_lossy().into_owned()
                };
                // The graph's own name for the tensor (`serving_default_input:0`), which users
                // who saved inputs from Python LiteRT's tensor API name it by.
                let mut tensor_name_ptr = std::ptr::null();
                let tensor_name = ((api.get_tensor_name)(tensor, &mut tensor_name_ptr)
                    == ffi::STATUS_OK
                    && !tensor_name_ptr.is_null())
                .then(|| {
                    CStr::from_ptr(tensor_name_ptr)
                        .to_string_lossy()
                        .into_owned()
                })
                .filter(|t| *t != name);
                let mut type_id = 0;
                check(
                    "reading a tensor type",
                    (api.get_tensor_type_id)(tensor, &mut type_id),
                )?;
                if type_id != ffi::TENSOR_TYPE_RANKED {
                    return Err(load_err(format!(
                        "tensor '{name}' has no fixed rank, which mlgate does not support"
                    )));
                }
                let mut ty: RankedTensorType = std::mem::zeroed();
                check(
                    "reading a tensor type",
                    (api.get_ranked_tensor_type)(tensor, &mut ty),
                )?;
                // LiteRT reports the file's static shape (batch 1); the model may leave a
                // dimension open in its `shape_signature`, which mlgate then resizes.
                let open = dynamic_dims(&name, input);
                let dims = ty
                    .layout
                    .dims()
                    .iter()
                    .enumerate()
                    .map(|(k, &d)| {
                        if d >= 0 && !open.get(k).copied().unwrap_or(false) {
                            Dim::Fixed(d as u64)
                        } else {
                            Dim::Unknown
                        }
                    })
                    .collect();
                Ok((
                    TensorInfo {
                        tensor_name,
                        name,
                        dtype: dtype_of(ty.element_type),
                        shape: Some(dims),
                        quantization: None,
                    },
                    ty,
                ))
            };
            let mut inputs = Vec::new();
            let mut types_in = Vec::new();
            for i in 0..n_in {
                let (info, ty) = describe(true, i)?;
                inputs.push(info);
                types_in.push(ty);
            }
            let mut outputs = Vec::new();
            let mut types_out = Vec::new();
            for i in 0..n_out {
                let (info, ty) = describe(false, i)?;
                outputs.push(info);
                types_out.push(ty);
            }

            let mut opts: Handle = std::ptr::null_mut();
            check("creating options", (api.create_options)(&mut opts))?;
            let opts = OptionsGuard { api, handle: opts };
            check(
                "selecting the CPU accelerator",
                (api.set_options_hardware_accelerators)(opts.handle, ffi::HW_ACCELERATOR_CPU),
            )?;
            if let Some(n) = options.intra_op_threads {
                // The XNNPACK options helper is not exported; its payload is this text.
                let payload = CString::new(format!("num_threads = {n}\n"))
                    .map_err(|e| load_err(e.to_string()))?;
                let raw = payload.into_raw();
                let mut opaque: Handle = std::ptr::null_mut();
                let s = (api.create_opaque_options)(
                    c"xnnpack".as_ptr(),
                    raw.cast(),
                    Some(free_cstring),
                    &mut opaque,
                );
                if s != ffi::STATUS_OK {
                    free_cstring(raw.cast());
                    check("setting threads", s)?;
                }
                let s = (api.add_opaque_options)(opts.handle, opaque);
                if s != ffi::STATUS_OK {
                    (api.destroy_opaque_options)(opaque);
                    check("setting threads", s)?;
                }
            }
            let s = (api.create_compiled_model)(h.env, h.model, opts.handle, &mut h.compiled);
            drop(opts);
            if s != ffi::STATUS_OK {
                h.compiled = std::ptr::null_mut();
                return Err(compile_error(model, s));
            }

            // Open dimensions (a dynamic batch) start at 1, as every TFLite tool does; a
            // prepare with other shapes resizes again.
            let initial: Vec<Vec<usize>> = types_in
                .iter()
                .map(|t| t.layout.dims().iter().map(|&d| d.max(1) as usize).collect())
                .collect();
            let any_open = inputs.iter().any(|i| !i.is_static())
                || types_in.iter().any(|t| t.layout.dims().contains(&-1));
            if any_open {
                let all: Vec<usize> = (0..types_in.len()).collect();
                resize(
                    api,
                    h.compiled,
                    &all,
                    &initial,
                    &mut types_in,
                    &mut types_out,
                )
                .map_err(load_err)?;
            }
            for (infos, types, out) in [
                (&inputs, &types_in, &mut h.inputs),
                (&outputs, &types_out, &mut h.outputs),
            ] {
                for (info, ty) in infos.iter().zip(types) {
                    out.push(new_buffer(api, &info.name, &info.dtype, ty).map_err(load_err)?);
                }
            }

            h.input_handles = h.inputs.iter().map(|b| b.handle).collect();
            h.output_handles = h.outputs.iter().map(|b| b.handle).collect();
            Ok(LiteRtSession {
                model_path: model.to_owned(),
                inputs,
                outputs,
                prepared: false,
                ran: false,
                outputs_checked: false,
                info: SessionInfo {
                    backend: KIND,
                    runtime_version: rt.version.clone(),
                    library: Some(rt.library.path.clone()),
                    model: model.to_owned(),
                    intra_op_threads: options.intra_op_threads,
                    inter_op_threads: None,
                    graph_optimization: options.graph_optimization,
                    execution_provider: options.execution_provider,
                    load_ms: 0.0,
                    session_config: Vec::new(),
                    warnings: Vec::new(),
                },
                handles: h,
            })
        }
    }

    /// Resizes inputs `which` of signature 0 to `shapes` (indexed like the inputs) and
    /// reads the output layouts that follow, updating `types_in` and `types_out`.
    ///
    /// # Safety
    /// `compiled` is a live compiled model of `api`'s library.
    unsafe fn resize(
        api: &Api,
        compiled: Handle,
        which: &[usize],
        shapes: &[Vec<usize>],
        types_in: &mut [RankedTensorType],
        types_out: &mut [RankedTensorType],
    ) -> std::result::Result<(), String> {
        for &i in which {
            let dims: Vec<i32> = shapes[i]
                .iter()
                .map(|&d| i32::try_from(d).map_err(|_| format!("dimension {d} is too large")))
                .collect::<std::result::Result<_, _>>()?;
            let layout = ffi::Layout::of(&dims).ok_or("too many dimensions")?;
            if types_in[i].layout.dims() != dims.as_slice() {
                // Strict first (only dimensions the model leaves open may change), then
                // the non-strict resize TFLite tools fall back to.
                let mut s = (api.resize_input_tensor)(compiled, 0, i, dims.as_ptr(), dims.len());
                if s != ffi::STATUS_OK {
                    s = (api.resize_input_tensor_non_strict)(
                        compiled,
                        0,
                        i,
                        dims.as_ptr(),
                        dims.len(),
                    );
                }
                if s != ffi::STATUS_OK {
                    return Err(format!(
                        "resizing input {i} to {:?}: {}",
                        shapes[i],
                        ffi::status_name(s)
                    ));
                }
            }
            types_in[i].layout = layout;
        }
        let mut layouts: Vec<ffi::Layout> = types_out.iter().map(|t| t.layout).collect();
        let s =
            (api.get_output_tensor_layouts)(compiled, 0, layouts.len(), layouts.as_mut_ptr(), true);
        if s != ffi::STATUS_OK {
            return Err(format!(
                "reading the output shapes after a resize: {}",
                ffi::status_name(s)
            ));
        }
        for (t, l) in types_out.iter_mut().zip(layouts) {
            t.layout = l;
        }
        Ok(())
    }

    /// Fresh zeroed host memory of `ty`'s shape, wrapped as a LiteRT tensor buffer.
    ///
    /// # Safety
    /// `api` is a loaded LiteRT library.
    unsafe fn new_buffer(
        api: &Api,
        name: &str,
        dtype: &DType,
        ty: &RankedTensorType,
    ) -> std::result::Result<Buffer, String> {
        let shape: Option<Vec<usize>> = ty
            .layout
            .dims()
            .iter()
            .map(|&d| usize::try_from(d).ok())
            .collect();
        let Some(shape) = shape else {
            return Err(format!(
                "'{name}' has shape {:?} after allocation; mlgate's LiteRT backend needs every shape known before a run",
                ty.layout.dims()
            ));
        };
        let size = dtype.size_bytes().ok_or_else(|| {
            format!("tensor '{name}' has type {dtype}, which mlgate cannot feed or read")
        })? as usize;
        let bytes = mlgate_ir::tensor::element_count(&shape)
            .and_then(|n| n.checked_mul(size))
            .ok_or_else(|| format!("tensor '{name}' is too large"))?;
        let memory = AlignedBuf::zeroed(bytes)
            .ok_or_else(|| format!("cannot allocate {bytes} bytes for '{name}'"))?;
        let mut handle: Handle = std::ptr::null_mut();
        let s = (api.create_tensor_buffer_from_host_memory)(
            ty,
            memory.ptr.cast(),
            memory.len.max(1),
            None,
            &mut handle,
        );
        if s != ffi::STATUS_OK {
            return Err(format!("wrapping host memory: {}", ffi::status_name(s)));
        }
        Ok(Buffer {
            handle,
            memory,
            shape,
            ty: *ty,
            dtype: dtype.clone(),
            name: name.to_string(),
        })
    }

    /// Compilation fails when an op has no kernel; LiteRT only logs which one, so the
    /// model's own list of custom ops names the likely culprits.
    fn compile_error(model: &Path, s: Status) -> BackendError {
        let custom_ops = match mlgate_ir::inspect(model) {
            Ok(info) => match info.details {
                FormatDetails::Tflite { custom_ops, .. } => custom_ops,
                _ => Vec::new(),
            },
            Err(_) => Vec::new(),
        };
        if custom_ops.is_empty() {
            BackendError::Load {
                backend: KIND,
                model: model.to_owned(),
                detail: format!("compiling the model failed: {}", ffi::status_name(s)),
            }
        } else {
            BackendError::UnsupportedOp {
                backend: KIND,
                model: model.to_owned(),
                ops: custom_ops,
                detail: format!(
                    "compiling failed with {}; these are custom ops, which plain LiteRT has no kernels for unless they are built in",
                    ffi::status_name(s)
                ),
            }
        }
    }

    /// Turns a load failure into the clearest error the log allows: LiteRT reports an op
    /// without a kernel as `Node number N (OP) failed to prepare`. A delegate's node
    /// (`TfLiteXNNPackDelegate`) failing to prepare is no missing op: the shapes do not fit.
    fn explain_failure(e: BackendError, model: &Path, log: &str) -> BackendError {
        let ops: Vec<String> = log
            .lines()
            .filter_map(|l| {
                let rest = &l[l.find("Node number ")?..];
                let open = rest.find('(')?;
                let close = rest[open..].find(')')? + open;
                rest[close..]
                    .contains("failed to prepare")
                    .then(|| rest[open + 1..close].to_string())
            })
            .filter(|op| !op.ends_with("Delegate"))
            .collect();
        let errors: Vec<&str> = log.lines().filter(|l| l.starts_with("ERROR")).collect();
        let detail = if errors.is_empty() {
            e.to_string()
        } else {
            format!("{e}; LiteRT said: {}", errors.join(" | "))
        };
        if !ops.is_empty() {
            return BackendError::UnsupportedOp { backend: KIND, model: model.to_owned(), ops, detail: "LiteRT cannot prepare it; it is a custom op that needs the kernel of the framework that made the model (e.g. mediapipe)".into() };
        }
        match e {
            BackendError::Load { backend, model, .. }
            | BackendError::Run { backend, model, .. } => BackendError::Load {
                backend,
                model,
                detail,
            },
            other => other,
        }
    }

    impl LiteRtSession {
        /// One run on the zeroed buffers, then back to the unprepared state.
        fn prime(&mut self) -> Result<()> {
            self.prepared = true;
            let r = self.run_prepared();
            self.prepared = false;
            self.ran = false;
            r
        }

        /// Resizes the inputs whose shape differs from their buffers' (a dynamic batch) and
        /// makes new buffers for them and for every output.
        fn reshape(&mut self, shapes: &[Vec<usize>]) -> Result<()> {
            let which: Vec<usize> = (0..shapes.len())
                .filter(|&i| self.handles.inputs[i].shape != shapes[i])
                .collect();
            if which.is_empty() {
                return Ok(());
            }
            let h = &mut self.handles;
            let api = &h.rt.api;
            let mut types_in: Vec<RankedTensorType> = h.inputs.iter().map(|b| b.ty).collect();
            let mut types_out: Vec<RankedTensorType> = h.outputs.iter().map(|b| b.ty).collect();
            let made = stderr::capture(|| {
                // SAFETY: the compiled model is live; buffers are replaced only after every
                // new one exists, and each old handle is destroyed exactly once.
                unsafe {
                    resize(
                        api,
                        h.compiled,
                        &which,
                        shapes,
                        &mut types_in,
                        &mut types_out,
                    )?;
                    let mut new_in = Vec::new();
                    for &i in &which {
                        let b = &h.inputs[i];
                        new_in.push((i, new_buffer(api, &b.name, &b.dtype, &types_in[i])?));
                    }
                    let mut new_out = Vec::new();
                    for (b, ty) in h.outputs.iter().zip(&types_out) {
                        new_out.push(new_buffer(api, &b.name, &b.dtype, ty)?);
                    }
                    Ok::<_, String>((new_in, new_out))
                }
            });
            let (new_in, new_out) = match made {
                (Ok(v), _) => v,
                (Err(e), log) => {
                    let said: Vec<&str> = log.lines().filter(|l| l.starts_with("ERROR")).collect();
                    return Err(self.err(if said.is_empty() {
                        e
                    } else {
                        format!("{e}; LiteRT said: {}", said.join(" | "))
                    }));
                }
            };
            // SAFETY: the replaced buffers are no longer referenced by anything.
            unsafe {
                for (i, b) in new_in {
                    let old = std::mem::replace(&mut h.inputs[i], b);
                    (api.destroy_tensor_buffer)(old.handle);
                }
                for (slot, b) in h.outputs.iter_mut().zip(new_out) {
                    let old = std::mem::replace(slot, b);
                    (api.destroy_tensor_buffer)(old.handle);
                }
            }
            h.input_handles = h.inputs.iter().map(|b| b.handle).collect();
            h.output_handles = h.outputs.iter().map(|b| b.handle).collect();
            Ok(())
        }

        fn err(&self, detail: String) -> BackendError {
            BackendError::Run {
                backend: KIND,
                model: self.model_path.clone(),
                detail,
            }
        }

        /// Copies between a buffer and `bytes` under the buffer's lock.
        fn with_lock(&self, b: &Buffer, mode: i32, f: impl FnOnce(*mut u8)) -> Result<()> {
            let api = &self.handles.rt.api;
            let mut addr: *mut c_void = std::ptr::null_mut();
            // SAFETY: `b.handle` is live; LiteRT returns the mapped host address.
            let s = unsafe { (api.lock_tensor_buffer)(b.handle, &mut addr, mode) };
            if s != ffi::STATUS_OK || addr.is_null() {
                return Err(self.err(format!("locking '{}': {}", b.name, ffi::status_name(s))));
            }
            f(addr.cast());
            // SAFETY: locked just above.
            let s = unsafe { (api.unlock_tensor_buffer)(b.handle) };
            if s != ffi::STATUS_OK {
                return Err(self.err(format!("unlocking '{}': {}", b.name, ffi::status_name(s))));
            }
            Ok(())
        }
    }

    impl Session for LiteRtSession {
        fn info(&self) -> &SessionInfo {
            &self.info
        }

        fn inputs(&self) -> &[TensorInfo] {
            &self.inputs
        }

        fn outputs(&self) -> &[TensorInfo] {
            &self.outputs
        }

        fn bind(&mut self, ordered: &[&Tensor]) -> Result<()> {
            let shapes: Vec<Vec<usize>> = ordered.iter().map(|t| t.shape().to_vec()).collect();
            self.reshape(&shapes)?;
            for (t, b) in ordered.iter().zip(&self.handles.inputs) {
                let bytes = t.data().to_le_bytes();
                if bytes.len() != b.memory.len {
                    return Err(self.err(format!(
                        "input '{}' has {} bytes, the buffer {}",
                        b.name,
                        bytes.len(),
                        b.memory.len
                    )));
                }
                // SAFETY: the lock maps at least `memory.len` bytes (it is our allocation).
                self.with_lock(b, ffi::LOCK_WRITE, |dst| unsafe {
                    std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len())
                })?;
            }
            self.prepared = true;
            self.ran = false;
            self.outputs_checked = false;
            Ok(())
        }

        fn run_prepared(&mut self) -> Result<()> {
            self.run_once()?;
            if !self.outputs_checked {
                self.outputs_checked = true;
                // An output whose shape is computed while the model runs (SHAPE, FILL,
                // ... after a resize) is known only now; LiteRT wrote what fit the buffers
                // made from the shapes known before. New buffers, and the run again.
                if self.resize_outputs_to_last_run()? {
                    self.run_once()?;
                }
            }
            Ok(())
        }

        fn take_outputs(&mut self) -> Result<Vec<Tensor>> {
            if !self.ran {
                return Err(self.err("no outputs: run the session first".into()));
            }
            let mut out = Vec::with_capacity(self.handles.outputs.len());
            for b in &self.handles.outputs {
                let mut bytes = vec![0u8; b.memory.len];
                // SAFETY: the lock maps `memory.len` bytes.
                self.with_lock(b, ffi::LOCK_READ, |src| unsafe {
                    std::ptr::copy_nonoverlapping(src, bytes.as_mut_ptr(), bytes.len())
                })?;
                let data = TensorData::from_le_bytes(&b.dtype, &bytes).ok_or_else(|| {
                    self.err(format!(
                        "output '{}' has type {}, which mlgate cannot read",
                        b.name, b.dtype
                    ))
                })?;
                out.push(
                    Tensor::new(b.name.clone(), b.shape.clone(), data)
                        .map_err(|e| self.err(e.to_string()))?,
                );
            }
            Ok(out)
        }
    }

    impl LiteRtSession {
        fn run_once(&mut self) -> Result<()> {
            if !self.prepared {
                return Err(self.err("run_prepared called before prepare".into()));
            }
            let h = &mut self.handles;
            // SAFETY: all handles are live and belong to this compiled model's signature 0.
            let s = unsafe {
                (h.rt.api.run_compiled_model)(
                    h.compiled,
                    0,
                    h.input_handles.len(),
                    h.input_handles.as_mut_ptr(),
                    h.output_handles.len(),
                    h.output_handles.as_mut_ptr(),
                )
            };
            if s != ffi::STATUS_OK {
                return Err(self.err(ffi::status_name(s)));
            }
            self.ran = true;
            Ok(())
        }

        /// Replaces the output buffers whose shape differs from what the compiled model
        /// reports now; whether any did.
        fn resize_outputs_to_last_run(&mut self) -> Result<bool> {
            let h = &mut self.handles;
            let api = &h.rt.api;
            let mut layouts: Vec<ffi::Layout> = h.outputs.iter().map(|b| b.ty.layout).collect();
            // SAFETY: the compiled model is live; `layouts` holds one slot per output.
            let s = unsafe {
                (api.get_output_tensor_layouts)(
                    h.compiled,
                    0,
                    layouts.len(),
                    layouts.as_mut_ptr(),
                    false,
                )
            };
            if s != ffi::STATUS_OK {
                return Err(BackendError::Run {
                    backend: KIND,
                    model: self.model_path.clone(),
                    detail: format!("reading the output shapes: {}", ffi::status_name(s)),
                });
            }
            let mut changed = false;
            for (i, layout) in layouts.into_iter().enumerate() {
                let b = &h.outputs[i];
                let now: Vec<usize> = layout.dims().iter().map(|&d| d.max(0) as usize).collect();
                if now == b.shape {
                    continue;
                }
                let mut ty = b.ty;
                ty.layout = layout;
                // SAFETY: `api` is the loaded library; the old buffer is destroyed once,
                // after its replacement exists and nothing refers to it.
                let new = unsafe { new_buffer(api, &b.name, &b.dtype, &ty) }.map_err(|e| {
                    BackendError::Run {
                        backend: KIND,
                        model: self.model_path.clone(),
                        detail: e,
                    }
                })?;
                let old = std::mem::replace(&mut h.outputs[i], new);
                // SAFETY: see above.
                unsafe { (api.destroy_tensor_buffer)(old.handle) };
                changed = true;
            }
            if changed {
                h.output_handles = h.outputs.iter().map(|b| b.handle).collect();
            }
            Ok(changed)
        }
    }
}
