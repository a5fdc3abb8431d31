//! Generates the HookProvider server stubs from `proto/exhook.proto` (EMQX 4.4.19's
//! `emqx_exhook` 4.4.7 proto, unchanged) with the protoc of `protoc-bin-vendored`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // Read by prost-build; a build script runs single-threaded.
    std::env::set_var("PROTOC", protoc);
    println!("cargo:rerun-if-changed=proto/exhook.proto");
    tonic_prost_build::configure()
        .build_client(false)
        .compile_protos(&["proto/exhook.proto"], &["proto"])?;
    Ok(())
}
