//! The plugin directory compiled from the SDK's sources, laid out as `make plugin` lays
//! it out (`ebin/` with the `.app`, `priv/` with the schema, `etc/` with the conf), for
//! hook crates that do not build the SDK with `make`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The `erlc` to compile with: the release's own (`erts-*/bin/erlc`) when it ships one,
/// so the beams suit its VM, else `erlc` on `PATH`.
fn erlc(emqx_root: &Path) -> PathBuf {
    let bundled = fs::read_dir(emqx_root).ok().and_then(|d| {
        d.filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("erts-"))
            })
            .map(|p| p.join("bin/erlc"))
            .find(|p| p.is_file())
    });
    bundled.unwrap_or_else(|| PathBuf::from("erlc"))
}

/// Compiles `sdk/erlang/src/*.erl` into `dest/ebin`, writes the `.app` with its module
/// list, and copies the schema and the conf. Panics with the compiler's output on error.
pub fn build(sdk: &Path, emqx_root: &Path, dest: &Path) {
    let src = sdk.join("erlang/src");
    let ebin = dest.join("ebin");
    for d in ["ebin", "priv", "etc"] {
        fs::create_dir_all(dest.join(d)).unwrap();
    }
    let mut sources: Vec<PathBuf> = fs::read_dir(&src)
        .unwrap_or_else(|e| panic!("{}: {e}", src.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "erl"))
        .collect();
    sources.sort();
    let erlc = erlc(emqx_root);
    let out = Command::new(&erlc)
        .arg("-I")
        .arg(sdk.join("erlang/include"))
        .arg("-o")
        .arg(&ebin)
        .args(["+debug_info", "+warnings_as_errors"])
        .args(&sources)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}): compiling the plugin needs Erlang/OTP's erlc \
                 (Debian: apt-get install erlang-nox erlang-dev)",
                erlc.display()
            )
        });
    assert!(
        out.status.success(),
        "erlc failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let modules: Vec<String> = sources
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let app_src = fs::read_to_string(src.join("emqx_rust_hook.app.src")).unwrap();
    let app = app_src.replacen(
        "{registered,",
        &format!("{{modules, [{}]}},\n  {{registered,", modules.join(", ")),
        1,
    );
    assert_ne!(
        app, app_src,
        "emqx_rust_hook.app.src has no `registered` entry"
    );
    fs::write(ebin.join("emqx_rust_hook.app"), app).unwrap();
    fs::copy(
        sdk.join("erlang/priv/emqx_rust_hook.schema"),
        dest.join("priv/emqx_rust_hook.schema"),
    )
    .unwrap();
    fs::copy(
        sdk.join("erlang/etc/emqx_rust_hook.conf"),
        dest.join("etc/emqx_rust_hook.conf"),
    )
    .unwrap();
}
