//! The Python side of the `python` configuration: a Python 3.10 (erlport 1.2.2, which
//! `emqx_extension_hook` uses, needs `inspect.getargspec`, gone in 3.11) and a virtualenv
//! with `emqx-extension-sdk` from PyPI, made once in the cache directory.

use std::path::PathBuf;
use std::process::Command;

fn runs(py: &str) -> bool {
    Command::new(py)
        .args(["-c", "import sys; assert sys.version_info[:2] == (3, 10)"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// A Python 3.10: `$BENCH_PYTHON310`, `python3.10` on the PATH, or a pyenv 3.10.
fn python310() -> Option<String> {
    let mut cands: Vec<String> = std::env::var("BENCH_PYTHON310").into_iter().collect();
    cands.push("python3.10".into());
    cands.push("/usr/bin/python3.10".into());
    let pyenv = std::env::var("PYENV_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".pyenv")
        });
    if let Ok(d) = std::fs::read_dir(pyenv.join("versions")) {
        let mut vs: Vec<PathBuf> = d.filter_map(|e| e.ok().map(|e| e.path())).collect();
        vs.sort();
        for v in vs.into_iter().rev() {
            if v.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("3.10"))
            {
                cands.push(v.join("bin/python3.10").display().to_string());
            }
        }
    }
    cands.into_iter().find(|p| runs(p))
}

/// The virtualenv's python with `emqx-extension-sdk`, or why there is none.
pub fn setup() -> Result<PathBuf, String> {
    let Some(py) = python310() else {
        return Err(
            "no Python 3.10 (python3.10 on PATH, a pyenv 3.10, or BENCH_PYTHON310): erlport 1.2.2 of \
             emqx_extension_hook needs Python <= 3.10 (inspect.getargspec)"
                .into(),
        );
    };
    let cache = std::env::var("EMQX_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/emqx-rust-hook")
        });
    let venv = cache.join("exhook-py310");
    let vpy = venv.join("bin/python3");
    let has_sdk = |p: &PathBuf| {
        Command::new(p)
            .args(["-c", "import emqx_extension"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if !has_sdk(&vpy) {
        let made = Command::new(&py).args(["-m", "venv"]).arg(&venv).output();
        if !made.as_ref().is_ok_and(|o| o.status.success()) {
            return Err(format!("{py} -m venv {} failed", venv.display()));
        }
        let pip = Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "emqx-extension-sdk==0.2"])
            .output();
        match pip {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                return Err(format!(
                    "pip install emqx-extension-sdk failed: {}",
                    String::from_utf8_lossy(&o.stderr)
                        .lines()
                        .last()
                        .unwrap_or("")
                ))
            }
            Err(e) => return Err(format!("pip: {e}")),
        }
        if !has_sdk(&vpy) {
            return Err("emqx-extension-sdk installed but `import emqx_extension` fails".into());
        }
    }
    Ok(vpy)
}
