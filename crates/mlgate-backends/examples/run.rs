//! Manual check of a runtime: `cargo run -p mlgate-backends --example run -- BACKEND MODEL`
//! runs MODEL once on synthetic inputs and prints what came out;
//! `... -- install ort|litert` installs a runtime into `$MLGATE_HOME`; `... -- doctor`
//! prints the host and every runtime's status.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use mlgate_backends::{
    inputs::synthetic_inputs, install, BackendKind, RuntimeCatalog, RuntimeConfig, SessionOptions,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = RuntimeConfig::from_env();
    if args.first().map(String::as_str) == Some("doctor") {
        let d = mlgate_backends::host::doctor(&RuntimeCatalog::new(&config));
        println!("{:#?}", d);
        return Ok(());
    }
    if args.first().map(String::as_str) == Some("install") {
        for name in &args[1..] {
            let done = install::install(install::package(name)?, &config)?;
            println!("{done:?}");
        }
        return Ok(());
    }
    let [backend, model] = &args[..] else {
        return Err("usage: run BACKEND MODEL | run install RUNTIME...".into());
    };
    let registry = RuntimeCatalog::new(&config);
    let kind: BackendKind = backend.parse()?;
    let options = SessionOptions {
        intra_op_threads: Some(1),
        ..Default::default()
    };
    let mut session = registry.load(kind, Path::new(model), &options)?;
    println!("{:?}", session.info());
    let inputs = synthetic_inputs(session.inputs(), &BTreeMap::new(), 1)?;
    session.prepare(&inputs)?;
    let start = Instant::now();
    session.run_prepared()?;
    let first = start.elapsed();
    for t in session.take_outputs()? {
        println!("{t} {:?}", t.stats());
    }
    println!("first run {first:?}");
    Ok(())
}
