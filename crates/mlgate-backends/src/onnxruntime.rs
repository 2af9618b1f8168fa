//! ONNX Runtime through `ort` (feature `ort`), its library loaded at run time.
//!
//! `ort` panics on first use when it cannot load the library, and a process can load only
//! one ONNX Runtime. So the library is found first ([`crate::discovery`]), its version is
//! read from the library itself, and only then is `ort` initialised from that path, once
//! per process.

use std::path::Path;

use mlgate_ir::ModelFormat;

use crate::discovery::{LibrarySpec, RuntimeConfig};
use crate::{Backend, BackendKind, RuntimeStatus};

const KIND: BackendKind = BackendKind::OnnxRuntime;

/// The ONNX Runtime mlgate pins: the `onnxruntime` 1.31.1 wheel's library.
pub const LIBRARY: LibrarySpec = LibrarySpec {
    backend: KIND,
    install_name: "ort",
    version: "1.31.1",
    env_var: "ORT_DYLIB_PATH",
    runtime_subdir: "onnxruntime-1.31.1",
    file_name: if cfg!(target_os = "macos") {
        "libonnxruntime.1.31.1.dylib"
    } else {
        "libonnxruntime.so.1.31.1"
    },
    python_module: "onnxruntime",
    python_subdir: "capi",
    python_file_prefix: if cfg!(target_os = "macos") {
        "libonnxruntime."
    } else {
        "libonnxruntime.so"
    },
};

/// The oldest library `ort` 2.0.0-rc.15 (API 31) accepts.
#[cfg_attr(not(feature = "ort"), allow(dead_code))]
const MIN_MINOR: u32 = 31;

pub(crate) fn backend(config: &RuntimeConfig) -> Box<dyn Backend> {
    #[cfg(feature = "ort")]
    {
        Box::new(imp::OrtBackend {
            config: config.clone(),
        })
    }
    #[cfg(not(feature = "ort"))]
    {
        let _ = config;
        Box::new(NotBuilt)
    }
}

const FORMATS: &[ModelFormat] = &[ModelFormat::Onnx];

#[cfg(not(feature = "ort"))]
struct NotBuilt;

#[cfg(not(feature = "ort"))]
impl Backend for NotBuilt {
    fn kind(&self) -> BackendKind {
        KIND
    }
    fn formats(&self) -> &'static [ModelFormat] {
        FORMATS
    }
    fn probe(&self) -> RuntimeStatus {
        unavailable(
            "this mlgate was built without the `ort` feature".into(),
            None,
        )
    }
    fn load(&self, _: &Path, _: &crate::SessionOptions) -> crate::Result<Box<dyn crate::Session>> {
        Err(crate::BackendError::Unavailable {
            backend: KIND,
            reason:
                "this mlgate was built without the `ort` feature; rebuild with `--features ort`"
                    .into(),
        })
    }
}

fn unavailable(problem: String, install: Option<String>) -> RuntimeStatus {
    RuntimeStatus {
        backend: KIND,
        available: false,
        formats: FORMATS.to_vec(),
        library: None,
        source: None,
        version: None,
        problem: Some(problem),
        install,
    }
}

/// Reads the version string a library reports (`OrtGetApiBase()->GetVersionString()`),
/// without initialising `ort`.
pub fn library_version(path: &Path) -> Result<String, String> {
    type GetApiBase = unsafe extern "C" fn() -> *const ApiBase;
    // The two function pointers at the start of `OrtApiBase`, the ABI-stable entry point.
    #[repr(C)]
    struct ApiBase {
        _get_api: unsafe extern "C" fn(u32) -> *const std::ffi::c_void,
        get_version_string: unsafe extern "C" fn() -> *const std::ffi::c_char,
    }
    // SAFETY: loading runs the library's initialisers; this is the ONNX Runtime library the
    // user pointed at or mlgate installed, which is what would be loaded to run it anyway.
    let lib = unsafe { libloading::Library::new(path) }.map_err(|e| e.to_string())?;
    // SAFETY: the symbol has this signature in every ONNX Runtime release.
    let get: libloading::Symbol<GetApiBase> = unsafe { lib.get(b"OrtGetApiBase\0") }
        .map_err(|_| "it does not export OrtGetApiBase; is it ONNX Runtime?".to_string())?;
    // SAFETY: OrtGetApiBase returns a pointer to a static struct, or null.
    let base = unsafe { get() };
    if base.is_null() {
        return Err("OrtGetApiBase returned null".into());
    }
    // SAFETY: non-null, static, and the version string is a static NUL-terminated string.
    let version = unsafe { std::ffi::CStr::from_ptr(((*base).get_version_string)()) };
    // Keep the library loaded: unloading ONNX Runtime while its threads exist is unsafe,
    // and `ort` loads the same file again, which just raises the reference count.
    std::mem::forget(lib);
    Ok(version.to_string_lossy().into_owned())
}

#[cfg_attr(not(feature = "ort"), allow(dead_code))]
fn check_version(path: &Path, version: &str) -> Result<(), crate::BackendError> {
    let minor = version
        .split('.')
        .nth(1)
        .and_then(|m| m.parse::<u32>().ok())
        .unwrap_or(0);
    if minor < MIN_MINOR {
        return Err(crate::BackendError::LibraryVersion {
            backend: KIND,
            path: path.to_owned(),
            found: version.to_string(),
            expected: format!(
                "1.{MIN_MINOR} or newer (mlgate installs {})",
                LIBRARY.version
            ),
            install: LIBRARY.install_command(),
        });
    }
    Ok(())
}

#[cfg(feature = "ort")]
mod imp {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::path::{Path, PathBuf};
    use std::sync::{Mutex, OnceLock};
    use std::time::Instant;

    use mlgate_ir::tensor::{Tensor, TensorData};
    use mlgate_ir::{DType, Dim, ModelFormat, TensorInfo};
    use ort::memory::MemoryInfo;
    use ort::session::builder::GraphOptimizationLevel;
    use ort::session::{IoBinding, Session as OrtSession};
    use ort::value::{DynValue, TensorElementType, ValueType};

    use super::{check_version, library_version, unavailable, FORMATS, KIND, LIBRARY};
    use crate::discovery::{find_library, FoundLibrary, RuntimeConfig};
    use crate::{
        Backend, BackendError, BackendKind, ExecutionProvider, OptLevel, Result, RuntimeStatus,
        Session, SessionInfo, SessionOptions,
    };

    pub(super) struct OrtBackend {
        pub(super) config: RuntimeConfig,
    }

    /// The process's ONNX Runtime: one library, one environment.
    struct Runtime {
        env: ort::environment::Environment,
        library: FoundLibrary,
        version: String,
    }

    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    static INIT: Mutex<()> = Mutex::new(());

    impl OrtBackend {
        fn find(&self) -> Result<FoundLibrary> {
            find_library(
                &LIBRARY,
                self.config.onnxruntime_library.as_deref(),
                &self.config,
            )
            .map_err(|tried| BackendError::LibraryMissing {
                backend: KIND,
                tried: tried.join("; "),
                install: LIBRARY.install_command(),
            })
        }

        fn runtime(&self) -> Result<&'static Runtime> {
            if let Some(rt) = RUNTIME.get() {
                if let Some(wanted) = &self.config.onnxruntime_library {
                    if wanted != &rt.library.path {
                        return Err(BackendError::Options {
                            backend: KIND,
                            detail: format!(
                                "ONNX Runtime is already loaded from {} in this process; {} can only be used by a new process",
                                rt.library.path.display(),
                                wanted.display()
                            ),
                        });
                    }
                }
                return Ok(rt);
            }
            let _guard = INIT.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(rt) = RUNTIME.get() {
                return Ok(rt);
            }
            let library = self.find()?;
            let load_err = |detail: String| BackendError::LibraryLoad {
                backend: KIND,
                path: library.path.clone(),
                detail,
                install: LIBRARY.install_command(),
            };
            let version = library_version(&library.path).map_err(load_err)?;
            check_version(&library.path, &version)?;
            let env = catch_unwind(AssertUnwindSafe(|| {
                ort::init_from(&library.path)
                    .map_err(|e| e.to_string())?
                    .with_name("mlgate")
                    .with_telemetry(false)
                    .build()
                    .map_err(|e| e.to_string())
            }))
            .unwrap_or_else(|_| Err("ONNX Runtime panicked while initialising".into()))
            .map_err(load_err)?;
            let _ = RUNTIME.set(Runtime {
                env,
                library,
                version,
            });
            RUNTIME.get().ok_or_else(|| BackendError::Unavailable {
                backend: KIND,
                reason: "initialisation raced".into(),
            })
        }
    }

    impl Backend for OrtBackend {
        fn kind(&self) -> BackendKind {
            KIND
        }

        fn formats(&self) -> &'static [ModelFormat] {
            FORMATS
        }

        fn probe(&self) -> RuntimeStatus {
            let (library, version) = match RUNTIME.get() {
                Some(rt) => (rt.library.clone(), Ok(rt.version.clone())),
                None => match self.find() {
                    Ok(lib) => {
                        let v = library_version(&lib.path);
                        (lib, v)
                    }
                    Err(e) => return unavailable(e.to_string(), Some(LIBRARY.install_command())),
                },
            };
            let problem = match &version {
                Err(e) => Some(format!("cannot load {}: {e}", library.path.display())),
                Ok(v) => check_version(&library.path, v).err().map(|e| e.to_string()),
            };
            RuntimeStatus {
                backend: KIND,
                available: problem.is_none(),
                formats: FORMATS.to_vec(),
                install: problem.as_ref().map(|_| LIBRARY.install_command()),
                library: Some(library.path),
                source: Some(library.source.to_string()),
                version: version.ok().or(library.version),
                problem,
            }
        }

        fn load(&self, model: &Path, options: &SessionOptions) -> Result<Box<dyn Session>> {
            let rt = self.runtime()?;
            let start = Instant::now();
            let load_err = |detail: String| BackendError::Load {
                backend: KIND,
                model: model.to_owned(),
                detail,
            };
            // The profiler writes `<prefix>_<timestamp>.json`; a directory per session keeps
            // concurrent sessions' files apart and is removed with the session.
            let profile_dir = if options.profile_ops {
                Some(tempfile::tempdir().map_err(|e| {
                    load_err(format!("cannot create a directory for the profile: {e}"))
                })?)
            } else {
                None
            };
            let session = catch_unwind(AssertUnwindSafe(|| {
                build_session(
                    rt,
                    model,
                    options,
                    &self.config.onnxruntime_session_config,
                    profile_dir.as_ref().map(|d| d.path().join("ort_profile")),
                )
            }))
            .unwrap_or_else(|_| {
                Err(load_err(
                    "ONNX Runtime panicked while loading the model".into(),
                ))
            })?;
            let inputs = session
                .inputs()
                .iter()
                .map(|o| describe(o.name(), o.dtype()))
                .collect();
            let outputs: Vec<TensorInfo> = session
                .outputs()
                .iter()
                .map(|o| describe(o.name(), o.dtype()))
                .collect();
            let binding = session
                .create_binding()
                .map_err(|e| load_err(e.to_string()))?;
            Ok(Box::new(OrtSessionImpl {
                model: model.to_owned(),
                session,
                binding,
                inputs,
                outputs,
                bound: Vec::new(),
                last: None,
                profile_dir,
                info: SessionInfo {
                    backend: KIND,
                    runtime_version: Some(rt.version.clone()),
                    library: Some(rt.library.path.clone()),
                    model: model.to_owned(),
                    intra_op_threads: options.intra_op_threads,
                    inter_op_threads: options.inter_op_threads,
                    graph_optimization: options.graph_optimization,
                    execution_provider: options.execution_provider,
                    load_ms: start.elapsed().as_secs_f64() * 1e3,
                    session_config: self.config.onnxruntime_session_config.clone(),
                    warnings: Vec::new(),
                },
            }))
        }
    }

    fn build_session(
        rt: &Runtime,
        model: &Path,
        options: &SessionOptions,
        config: &[(String, String)],
        profile_prefix: Option<PathBuf>,
    ) -> Result<OrtSession> {
        let opt_err = |detail: String| BackendError::Options {
            backend: KIND,
            detail,
        };
        let load_err = |detail: String| classify_load_error(model, detail);
        let mut b = OrtSession::builder(&rt.env).map_err(|e| opt_err(e.to_string()))?;
        b = b
            .with_optimization_level(match options.graph_optimization {
                OptLevel::Disabled => GraphOptimizationLevel::Disable,
                OptLevel::Basic => GraphOptimizationLevel::Level1,
                OptLevel::Extended => GraphOptimizationLevel::Level2,
                OptLevel::All => GraphOptimizationLevel::All,
            })
            .map_err(|e| opt_err(e.to_string()))?;
        if let Some(n) = options.intra_op_threads {
            b = b
                .with_intra_threads(n)
                .map_err(|e| opt_err(e.to_string()))?;
        }
        if let Some(n) = options.inter_op_threads {
            // Inter-op threads only matter with the parallel executor.
            b = b
                .with_parallel_execution(n > 1)
                .map_err(|e| opt_err(e.to_string()))?;
            b = b
                .with_inter_threads(n)
                .map_err(|e| opt_err(e.to_string()))?;
        }
        if let Some(prefix) = profile_prefix {
            b = b
                .with_profiling(prefix)
                .map_err(|e| opt_err(format!("cannot turn on the profiler: {e}")))?;
        }
        for (key, value) in config {
            b = b.with_config_entry(key, value).map_err(|e| {
                opt_err(format!(
                    "session config entry {key}={value}: {e}; see ONNX Runtime's \
                     onnxruntime_session_options_config_keys.h for the keys"
                ))
            })?;
        }
        match options.execution_provider {
            ExecutionProvider::Cpu => {}
            #[cfg(feature = "cuda")]
            ExecutionProvider::Cuda { device_id } => {
                use ort::ep::ExecutionProvider as _;
                let ep = ort::ep::CUDA::default().with_device_id(device_id);
                if !ep.is_available().unwrap_or(false) {
                    return Err(opt_err(format!(
                        "the ONNX Runtime at {} has no CUDA execution provider; use a GPU build of ONNX Runtime (onnxruntime-gpu)",
                        rt.library.path.display()
                    )));
                }
                b = b
                    .with_execution_providers([ep.build().error_on_failure()])
                    .map_err(|e| opt_err(e.to_string()))?;
            }
            #[cfg(not(feature = "cuda"))]
            ExecutionProvider::Cuda { .. } => {
                return Err(opt_err(
                    "CUDA needs mlgate built with the `cuda` feature".into(),
                ));
            }
        }
        b.commit_from_file(model)
            .map_err(|e| load_err(e.to_string()))
    }

    /// ONNX Runtime reports a missing kernel as NOT_IMPLEMENTED with the op and its opset
    /// version (`Add(6)`) in the text; the version matters, as old opsets lose kernels.
    fn classify_load_error(model: &Path, detail: String) -> BackendError {
        let marker = "Could not find an implementation for ";
        if let Some(at) = detail.find(marker) {
            let op: String = detail[at + marker.len()..]
                .chars()
                .take_while(|c| *c != ' ')
                .collect();
            if !op.is_empty() {
                return BackendError::UnsupportedOp {
                    backend: KIND,
                    model: model.to_owned(),
                    ops: vec![op],
                    detail,
                };
            }
        }
        BackendError::Load {
            backend: KIND,
            model: model.to_owned(),
            detail,
        }
    }

    fn dtype_of(t: TensorElementType) -> DType {
        match t {
            TensorElementType::Float32 => DType::F32,
            TensorElementType::Float16 => DType::F16,
            TensorElementType::Float64 => DType::F64,
            TensorElementType::Bfloat16 => DType::Bf16,
            TensorElementType::Int8 => DType::I8,
            TensorElementType::Int16 => DType::I16,
            TensorElementType::Int32 => DType::I32,
            TensorElementType::Int64 => DType::I64,
            TensorElementType::Uint8 => DType::U8,
            TensorElementType::Uint16 => DType::U16,
            TensorElementType::Uint32 => DType::U32,
            TensorElementType::Uint64 => DType::U64,
            TensorElementType::Bool => DType::Bool,
            TensorElementType::String => DType::String,
            TensorElementType::Complex64 => DType::Complex64,
            TensorElementType::Complex128 => DType::Complex128,
            TensorElementType::Int4 => DType::I4,
            TensorElementType::Uint4 => DType::U4,
            other => DType::Other(format!("{other:?}")),
        }
    }

    fn describe(name: &str, ty: &ValueType) -> TensorInfo {
        match ty {
            ValueType::Tensor {
                ty,
                shape,
                dimension_symbols,
            } => {
                let dims = shape
                    .iter()
                    .enumerate()
                    .map(|(i, &d)| match (d, dimension_symbols.get(i)) {
                        (d, _) if d >= 0 => Dim::Fixed(d as u64),
                        (_, Some(s)) if !s.is_empty() => Dim::Symbolic(s.clone()),
                        _ => Dim::Unknown,
                    })
                    .collect();
                TensorInfo {
                    tensor_name: None,
                    name: name.to_string(),
                    dtype: dtype_of(*ty),
                    shape: Some(dims),
                    quantization: None,
                }
            }
            other => TensorInfo {
                tensor_name: None,
                name: name.to_string(),
                dtype: DType::Other(format!("{other:?}")),
                shape: None,
                quantization: None,
            },
        }
    }

    fn to_value(t: &Tensor) -> ort::Result<DynValue> {
        use ort::value::Tensor as OrtTensor;
        let shape: Vec<i64> = t.shape().iter().map(|&d| d as i64).collect();
        Ok(match t.data() {
            TensorData::F32(v) => OrtTensor::from_array((shape, v.clone()))?.into_dyn(),
            TensorData::F16(v) => {
                let halfs: Vec<half::f16> = v.iter().map(|&b| half::f16::from_bits(b)).collect();
                OrtTensor::from_array((shape, halfs))?.into_dyn()
            }
            TensorData::F64(v) => OrtTensor::from_array((shape, v.clone()))?.into_dyn(),
            TensorData::I8(v) => OrtTensor::from_array((shape, v.clone()))?.into_dyn(),
            TensorData::I16(v) => OrtTensor::from_array((shape, v.clone()))?.into_dyn(),
            TensorData::I32(v) => OrtTensor::from_array((shape, v.clone()))?.into_dyn(),
            TensorData::I64(v) => OrtTensor::from_array((shape, v.clone()))?.into_dyn(),
            TensorData::U8(v) => OrtTensor::from_array((shape, v.clone()))?.into_dyn(),
            TensorData::U16(v) => OrtTensor::from_array((shape, v.clone()))?.into_dyn(),
            TensorData::U32(v) => OrtTensor::from_array((shape, v.clone()))?.into_dyn(),
            TensorData::U64(v) => OrtTensor::from_array((shape, v.clone()))?.into_dyn(),
            TensorData::Bool(v) => OrtTensor::from_array((shape, v.clone()))?.into_dyn(),
        })
    }

    fn from_value(name: &str, v: &DynValue) -> std::result::Result<Tensor, String> {
        let ValueType::Tensor { ty, .. } = v.dtype() else {
            return Err(format!(
                "output '{name}' is a {:?}, not a tensor; mlgate compares tensors only",
                v.dtype()
            ));
        };
        macro_rules! extract {
            ($t:ty, $variant:ident) => {{
                let (shape, data) = v
                    .try_extract_tensor::<$t>()
                    .map_err(|e| format!("output '{name}': {e}"))?;
                (
                    shape.iter().map(|&d| d as usize).collect::<Vec<usize>>(),
                    TensorData::$variant(data.to_vec()),
                )
            }};
        }
        let (shape, data) = match ty {
            TensorElementType::Float32 => extract!(f32, F32),
            TensorElementType::Float64 => extract!(f64, F64),
            TensorElementType::Int8 => extract!(i8, I8),
            TensorElementType::Int16 => extract!(i16, I16),
            TensorElementType::Int32 => extract!(i32, I32),
            TensorElementType::Int64 => extract!(i64, I64),
            TensorElementType::Uint8 => extract!(u8, U8),
            TensorElementType::Uint16 => extract!(u16, U16),
            TensorElementType::Uint32 => extract!(u32, U32),
            TensorElementType::Uint64 => extract!(u64, U64),
            TensorElementType::Bool => extract!(bool, Bool),
            TensorElementType::Float16 => {
                let (shape, data) = v
                    .try_extract_tensor::<half::f16>()
                    .map_err(|e| format!("output '{name}': {e}"))?;
                (
                    shape.iter().map(|&d| d as usize).collect(),
                    TensorData::F16(data.iter().map(|h| h.to_bits()).collect()),
                )
            }
            other => {
                return Err(format!(
                    "output '{name}' has type {other:?}, which mlgate cannot represent"
                ))
            }
        };
        Tensor::new(name, shape, data).map_err(|e| e.to_string())
    }

    struct OrtSessionImpl {
        model: PathBuf,
        session: OrtSession,
        binding: IoBinding,
        inputs: Vec<TensorInfo>,
        outputs: Vec<TensorInfo>,
        /// Input values bound to `binding`; kept alive as long as they are bound.
        bound: Vec<DynValue>,
        last: Option<Vec<DynValue>>,
        /// Where the profiler writes, when the session was loaded with `profile_ops`.
        profile_dir: Option<tempfile::TempDir>,
        info: SessionInfo,
    }

    impl OrtSessionImpl {
        fn err(&self, detail: String) -> BackendError {
            BackendError::Run {
                backend: KIND,
                model: self.model.clone(),
                detail,
            }
        }
    }

    impl Session for OrtSessionImpl {
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
            self.binding.clear();
            self.bound.clear();
            self.last = None;
            for (t, d) in ordered.iter().zip(&self.inputs) {
                let value =
                    to_value(t).map_err(|e| self.err(format!("input '{}': {e}", t.name())))?;
                self.binding
                    .bind_input(d.name.as_str(), &value)
                    .map_err(|e| self.err(format!("input '{}': {e}", t.name())))?;
                self.bound.push(value);
            }
            // Outputs go to host memory the runtime allocates once and reuses across runs.
            let cpu = MemoryInfo::default();
            for o in &self.outputs {
                self.binding
                    .bind_output_to_device(o.name.as_str(), &cpu)
                    .map_err(|e| BackendError::Run {
                        backend: KIND,
                        model: self.model.clone(),
                        detail: format!("output '{}': {e}", o.name),
                    })?;
            }
            Ok(())
        }

        fn run_prepared(&mut self) -> Result<()> {
            if self.bound.len() != self.inputs.len() {
                return Err(self.err("run_prepared called before prepare".into()));
            }
            let mut outs =
                self.session
                    .run_binding(&self.binding)
                    .map_err(|e| BackendError::Run {
                        backend: KIND,
                        model: self.model.clone(),
                        detail: e.to_string(),
                    })?;
            let values: Option<Vec<DynValue>> = self
                .outputs
                .iter()
                .map(|o| outs.remove(o.name.as_str()))
                .collect();
            self.last = values;
            Ok(())
        }

        fn end_op_profile(&mut self) -> Result<crate::profile::OpProfile> {
            // Kept until the file is read: dropping it removes the directory.
            let Some(_dir) = self.profile_dir.take() else {
                return Err(crate::profile::not_profiling(KIND));
            };
            let file = self
                .session
                .end_profiling()
                .map_err(|e| self.err(format!("ending the profiler: {e}")))?;
            let text = std::fs::read_to_string(&file)
                .map_err(|e| self.err(format!("reading the profile {file}: {e}")))?;
            let _ = std::fs::remove_file(&file);
            crate::profile::parse_onnxruntime_trace(&text)
                .map_err(|e| self.err(format!("the profile {file}: {e}")))
        }

        fn take_outputs(&mut self) -> Result<Vec<Tensor>> {
            let Some(values) = self.last.take() else {
                return Err(self.err("no outputs: run the session first".into()));
            };
            values
                .iter()
                .zip(&self.outputs)
                .map(|(v, o)| from_value(&o.name, v).map_err(|d| self.err(d)))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_check() {
        assert!(check_version(Path::new("x"), "1.31.1").is_ok());
        assert!(check_version(Path::new("x"), "1.32.0").is_ok());
        let e = check_version(Path::new("/l/libonnxruntime.so"), "1.22.0")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("1.22.0") && e.contains("mlgate runtime install ort"),
            "{e}"
        );
    }

    #[test]
    fn version_of_a_non_library_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("libonnxruntime.so");
        std::fs::write(&p, b"not a library").unwrap();
        assert!(library_version(&p).is_err());
    }
}
