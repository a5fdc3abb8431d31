//! The `#[export]` attribute of `emqx-rust-hook`: put it on `impl Hooks for YourType`.
//! It records which hook methods the impl block defines (the plugin registers exactly
//! those), reads their `#[hook(...)]` options, and emits the library's NIF entry point.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote, ToTokens};
use syn::{parse_macro_input, spanned::Spanned, Error, ImplItem, ItemImpl, LitStr};

/// Hook methods and their `HookPoint` variants (the SDK's `HookPoint::method` names).
const HOOKS: [(&str, &str); 19] = [
    ("client_connect", "ClientConnect"),
    ("client_connack", "ClientConnack"),
    ("client_connected", "ClientConnected"),
    ("client_disconnected", "ClientDisconnected"),
    ("client_authenticate", "ClientAuthenticate"),
    ("client_check_acl", "ClientCheckAcl"),
    ("client_subscribe", "ClientSubscribe"),
    ("client_unsubscribe", "ClientUnsubscribe"),
    ("session_created", "SessionCreated"),
    ("session_subscribed", "SessionSubscribed"),
    ("session_unsubscribed", "SessionUnsubscribed"),
    ("session_resumed", "SessionResumed"),
    ("session_discarded", "SessionDiscarded"),
    ("session_takeovered", "SessionTakeovered"),
    ("session_terminated", "SessionTerminated"),
    ("message_publish", "MessagePublish"),
    ("message_delivered", "MessageDelivered"),
    ("message_acked", "MessageAcked"),
    ("message_dropped", "MessageDropped"),
];

/// Options of one hook, from `#[hook(...)]`.
#[derive(Default)]
struct HookOptions {
    topics: Vec<LitStr>,
    sys: bool,
    mode: Option<String>,
    failed_action: Option<String>,
}

/// Exports an `impl Hooks for T` block as the hook library of this `cdylib`.
///
/// Options per hook method, all optional:
/// `#[hook(topics = ["sensors/#"], sys, inline, failed_action = "deny")]`
/// - `topics`: message hooks only run for matching topics (filtered before Rust is called);
/// - `sys`: let `$SYS/...` messages reach a message hook (skipped by default);
/// - `auto` (the default) / `inline` / `pool` / `queue`: where the hook runs (see
///   `emqx_rust_hook::Mode`; the operator's `exhook.drivers.rust.mode.<hook>` overrides it);
/// - `failed_action = "ignore" | "deny"`: overrides the driver's failure policy.
#[proc_macro_attribute]
pub fn export(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return Error::new(Span::call_site(), "#[export] takes no arguments")
            .to_compile_error()
            .into();
    }
    let mut block = parse_macro_input!(item as ItemImpl);
    match expand(&mut block) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand(block: &mut ItemImpl) -> syn::Result<TokenStream2> {
    let Some((_, trait_path, _)) = &block.trait_ else {
        return Err(Error::new(
            block.span(),
            "#[export] goes on `impl Hooks for YourType`",
        ));
    };
    if trait_path
        .segments
        .last()
        .map(|s| s.ident != "Hooks")
        .unwrap_or(true)
    {
        return Err(Error::new(
            trait_path.span(),
            "#[export] goes on `impl Hooks for YourType`",
        ));
    }
    let mut specs = Vec::new();
    let mut async_fns = Vec::new();
    for item in &mut block.items {
        let ImplItem::Fn(f) = item else { continue };
        let name = f.sig.ident.to_string();
        let is_async = f.sig.asyncness.is_some();
        let mut opts = HookOptions::default();
        let mut rest = Vec::new();
        for attr in f.attrs.drain(..) {
            if attr.path().is_ident("hook") {
                parse_options(&attr, &mut opts)?;
            } else {
                rest.push(attr);
            }
        }
        f.attrs = rest;
        if ["init", "terminate", "status", "command"].contains(&name.as_str()) {
            if is_async {
                return Err(Error::new(
                    f.sig.asyncness.span(),
                    format!("`{name}` cannot be async (use emqx_rust_hook::rt::block_on in it)"),
                ));
            }
            continue;
        }
        let Some((_, variant)) = HOOKS.iter().find(|(m, _)| *m == name) else {
            return Err(Error::new(
                f.sig.ident.span(),
                format!("`{name}` is not a Hooks method"),
            ));
        };
        if is_async {
            if let Some(mode) = &opts.mode {
                return Err(Error::new(
                    f.sig.ident.span(),
                    format!("an async fn hook runs in mode async; remove `{mode}`"),
                ));
            }
            opts.mode = Some("async".into());
        }
        specs.push(spec_tokens(variant, &opts, unused_args(f)));
    }
    // `async fn` methods leave the trait impl for an inherent impl (the trait's methods
    // are sync); the trait impl gets `__call_async`, which builds their futures.
    let mut kept = Vec::new();
    for item in block.items.drain(..) {
        match item {
            ImplItem::Fn(f) if f.sig.asyncness.is_some() => async_fns.push(inherent_async(f)),
            other => kept.push(other),
        }
    }
    block.items = kept;
    let self_ty = &block.self_ty;
    let inherent = if async_fns.is_empty() {
        quote!()
    } else {
        block.items.push(syn::parse2(call_async(&async_fns)?)?);
        let (impl_generics, _, where_clause) = block.generics.split_for_impl();
        quote! {
            impl #impl_generics #self_ty #where_clause {
                #(#async_fns)*
            }
        }
    };
    Ok(quote! {
        #block

        #inherent

        const _: () = {
            static SPECS: &[::emqx_rust_hook::HookSpec] = &[#(#specs),*];

            #[cfg(not(windows))]
            #[unsafe(no_mangle)]
            extern "C" fn nif_init() -> *const ::emqx_rust_hook::__private::ErlNifEntry {
                ::emqx_rust_hook::__private::nif_entry::<#self_ty>(SPECS)
            }
        };
    })
}

/// An `async fn` hook method as an inherent method: public, as the trait's methods are,
/// so that a test outside the crate (`tests/`, a doctest) calls it and not the trait's
/// sync default, which has the same name and would answer `Abstain`; documented when
/// the user left it without a doc comment (a `pub` item of a crate with
/// `#![deny(missing_docs)]` needs one).
fn inherent_async(mut f: syn::ImplItemFn) -> syn::ImplItemFn {
    f.vis = syn::parse_quote!(pub);
    if !f.attrs.iter().any(|a| a.path().is_ident("doc")) {
        let doc = format!(
            "The `{}` hook (an `async fn`); in a test: \
             `emqx_rust_hook::testing::block_on(hooks.{}(..))`.",
            f.sig.ident, f.sig.ident
        );
        f.attrs.push(syn::parse_quote!(#[doc = #doc]));
    }
    f
}

/// `Hooks::__call_async` for the `async fn` methods: per hook, a boxed future that
/// decodes the call's arguments (`__private::args::<method>`), awaits the method and
/// returns its answer as a `Decided`. A parameter whose type is a reference gets a
/// reference to the decoded value, any other the value itself.
fn call_async(fns: &[syn::ImplItemFn]) -> syn::Result<TokenStream2> {
    let mut arms = Vec::new();
    for f in fns {
        let method = &f.sig.ident;
        let name = method.to_string();
        let (_, variant) = HOOKS
            .iter()
            .find(|(m, _)| *m == name)
            .expect("checked by expand");
        let variant = format_ident!("{}", variant);
        let mut pats = Vec::new();
        let mut passed = Vec::new();
        for (i, arg) in f.sig.inputs.iter().enumerate() {
            let syn::FnArg::Typed(t) = arg else { continue };
            let v = format_ident!("__a{}", i);
            passed.push(if matches!(&*t.ty, syn::Type::Reference(_)) {
                quote!(&#v)
            } else {
                quote!(#v)
            });
            pats.push(v);
        }
        arms.push(quote! {
            ::emqx_rust_hook::HookPoint::#variant => ::core::option::Option::Some(
                ::std::boxed::Box::pin(async move {
                    let (#(#pats,)*) = ::emqx_rust_hook::__private::args::#method(args)?;
                    ::core::result::Result::Ok(::emqx_rust_hook::__private::Decided::from(
                        self.#method(#(#passed),*).await,
                    ))
                }),
            ),
        });
    }
    Ok(quote! {
        #[doc(hidden)]
        fn __call_async<'__a>(
            &'__a self,
            args: ::emqx_rust_hook::__private::AsyncArgs<'__a>,
        ) -> ::core::option::Option<::emqx_rust_hook::__private::CallFuture<'__a>> {
            match args.hook {
                #(#arms)*
                _ => ::core::option::Option::None,
            }
        }
    })
}

fn parse_options(attr: &syn::Attribute, opts: &mut HookOptions) -> syn::Result<()> {
    attr.parse_nested_meta(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        match key.as_str() {
            "topics" => {
                let value = meta.value()?;
                let content;
                syn::bracketed!(content in value);
                let list = content.parse_terminated(|p| p.parse::<LitStr>(), syn::Token![,])?;
                opts.topics.extend(list);
            }
            "sys" => {
                opts.sys = if meta.input.peek(syn::Token![=]) {
                    meta.value()?.parse::<syn::LitBool>()?.value
                } else {
                    true
                };
            }
            "auto" | "inline" | "pool" | "queue" => opts.mode = Some(key),
            "failed_action" => {
                let v: LitStr = meta.value()?.parse()?;
                if v.value() != "ignore" && v.value() != "deny" {
                    return Err(Error::new(
                        v.span(),
                        "failed_action is \"ignore\" or \"deny\"",
                    ));
                }
                opts.failed_action = Some(v.value());
            }
            _ => {
                return Err(meta.error(
                    "unknown hook option (topics, sys, auto, inline, pool, queue, failed_action)",
                ))
            }
        }
        Ok(())
    })
}

/// A bit per hook argument the method provably never reads: its parameter is the `_`
/// pattern, or a plain name (with or without a leading `_`) that appears nowhere in the
/// body's tokens (macro arguments and string literals included). Anything else counts
/// as read. The SDK does not copy such arguments when the hook runs on its workers.
fn unused_args(f: &syn::ImplItemFn) -> u8 {
    let body = f.block.to_token_stream();
    let mut mask = 0u8;
    let params = f.sig.inputs.iter().filter_map(|a| match a {
        syn::FnArg::Typed(t) => Some(t),
        syn::FnArg::Receiver(_) => None,
    });
    for (i, param) in params.enumerate().take(8) {
        let unused = match &*param.pat {
            syn::Pat::Wild(_) => true,
            syn::Pat::Ident(id) if id.subpat.is_none() => {
                !mentions(body.clone(), &id.ident.to_string())
            }
            _ => false,
        };
        if unused {
            mask |= 1 << i;
        }
    }
    mask
}

/// Whether `name` appears in `tokens`: as an identifier (also inside macro calls), or
/// anywhere inside a literal (a format string can capture it, `"{client:?}"`), erring
/// on the side of "used".
fn mentions(tokens: TokenStream2, name: &str) -> bool {
    tokens.into_iter().any(|t| match t {
        proc_macro2::TokenTree::Ident(i) => i == name,
        proc_macro2::TokenTree::Group(g) => mentions(g.stream(), name),
        proc_macro2::TokenTree::Literal(l) => l.to_string().contains(name),
        proc_macro2::TokenTree::Punct(_) => false,
    })
}

fn spec_tokens(variant: &str, opts: &HookOptions, unused_args: u8) -> TokenStream2 {
    let variant = format_ident!("{}", variant);
    let topics = &opts.topics;
    let sys = opts.sys;
    let mode = match opts.mode.as_deref() {
        Some("auto") => quote!(Some(::emqx_rust_hook::Mode::Auto)),
        Some("inline") => quote!(Some(::emqx_rust_hook::Mode::Inline)),
        Some("pool") => quote!(Some(::emqx_rust_hook::Mode::Pool)),
        Some("queue") => quote!(Some(::emqx_rust_hook::Mode::Queue)),
        Some("async") => quote!(Some(::emqx_rust_hook::Mode::Async)),
        _ => quote!(None),
    };
    let failed = match opts.failed_action.as_deref() {
        Some("deny") => quote!(Some(::emqx_rust_hook::FailedAction::Deny)),
        Some(_) => quote!(Some(::emqx_rust_hook::FailedAction::Ignore)),
        None => quote!(None),
    };
    quote! {
        ::emqx_rust_hook::HookSpec {
            hook: ::emqx_rust_hook::HookPoint::#variant,
            topics: &[#(#topics),*],
            sys: #sys,
            mode: #mode,
            failed_action: #failed,
            unused_args: #unused_args,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(src: &str) -> u8 {
        unused_args(&syn::parse_str::<syn::ImplItemFn>(src).unwrap())
    }

    #[test]
    fn unused_arguments_are_found() {
        assert_eq!(mask("fn h(&self, a: &A, b: &B) { a.x(); }"), 0b10);
        assert_eq!(mask("fn h(&self, _a: &A, b: &B) { b.x(); }"), 0b01);
        assert_eq!(mask("fn h(&self, _: &A, b: &B) { b.x(); }"), 0b01);
        assert_eq!(mask("fn h(&self, a: &A, b: &B) { f(a, b) }"), 0);
        // Inside macros and format strings counts as used.
        assert_eq!(
            mask("fn h(&self, a: &A, b: &B) { info!(\"{}\", b.x()); }"),
            0b01
        );
        assert_eq!(
            mask("fn h(&self, a: &A, b: &B) { info!(\"{a:?} {b}\"); }"),
            0
        );
    }

    #[test]
    fn underscore_names_that_are_read_count_as_used() {
        // The bug: `_name` was taken as unread even when the body reads it.
        assert_eq!(
            mask("fn h(&self, _c: &C, _ci: &CI) { f(_c.clientid(), _ci.proto_ver()) }"),
            0
        );
        assert_eq!(mask("fn h(&self, _c: &C, _ci: &CI) { _ci.x(); }"), 0b01);
        assert_eq!(mask("fn h(&self, _c: &C, _ci: &CI) {}"), 0b11);
        // Inside a macro call, a nested block, a closure or a format string.
        assert_eq!(mask("fn h(&self, _c: &C) { info!(\"{}\", _c); }"), 0);
        assert_eq!(mask("fn h(&self, _c: &C) { { let f = || _c; f(); } }"), 0);
        assert_eq!(mask("fn h(&self, _c: &C) { info!(\"{_c:?}\"); }"), 0);
        assert_eq!(mask("fn h(&self, _c: &C) { m!(x, [_c]) }"), 0);
        // Only what provably is not read: other patterns count as read.
        assert_eq!(mask("fn h(&self, _: &C, (a, b): (A, B)) {}"), 0b01);
        assert_eq!(mask("fn h(&self, c @ _: &C) {}"), 0);
        assert_eq!(mask("fn h(&self, mut _c: C) { _c.x(); }"), 0);
    }

    #[test]
    fn options_are_parsed() {
        let mut block: ItemImpl = syn::parse_str(
            r#"impl Hooks for T {
                fn init(c: &Config) -> Result<Self, InitError> { Ok(T) }
                #[hook(topics = ["a/#", "b"], sys, inline, failed_action = "deny")]
                fn message_publish(&self, m: &Message) -> PublishDecision { m.x() }
            }"#,
        )
        .unwrap();
        let out = expand(&mut block).unwrap().to_string();
        assert!(out.contains("HookPoint :: MessagePublish"), "{out}");
        assert!(out.contains("\"a/#\""), "{out}");
        assert!(out.contains("Mode :: Inline"), "{out}");
        assert!(out.contains("FailedAction :: Deny"), "{out}");
        assert!(out.contains("fn nif_init"), "{out}");
        // The helper attribute is consumed.
        assert!(!out.contains("# [hook"), "{out}");
    }

    #[test]
    fn async_methods_get_mode_async_and_a_future_builder() {
        let mut block: ItemImpl = syn::parse_str(
            r#"impl Hooks for T {
                fn init(c: &Config) -> Result<Self, InitError> { Ok(T) }
                async fn client_check_acl(&self, c: &ClientInfo<'_>, _: PubSub, t: &str, _: AclResult) -> AclDecision { f(c, t).await }
            }"#,
        )
        .unwrap();
        let out = expand(&mut block).unwrap().to_string();
        assert!(out.contains("Mode :: Async"), "{out}");
        // Moved to an inherent impl; the trait impl builds its future.
        // Public (a test outside the crate must not reach the trait's sync default) and
        // documented.
        assert!(out.contains("impl T { # [doc = "), "{out}");
        assert!(out.contains("] pub async fn client_check_acl"), "{out}");
        assert!(out.contains("fn __call_async"), "{out}");
        assert!(
            out.contains("self . client_check_acl (& __a1 , __a2 , & __a3 , __a4) . await"),
            "{out}"
        );
        // The second argument (`_`) and the fourth are never read: not copied.
        assert!(out.contains("unused_args : 10u8"), "{out}");
    }

    #[test]
    fn async_methods_take_no_other_mode_and_init_is_sync() {
        let mut block: ItemImpl = syn::parse_str(
            "impl Hooks for T { #[hook(pool)] async fn message_publish(&self, m: &Message<'_>) -> PublishDecision { x } }",
        )
        .unwrap();
        let err = expand(&mut block).unwrap_err().to_string();
        assert!(err.contains("mode async"), "{err}");
        let mut block: ItemImpl = syn::parse_str(
            "impl Hooks for T { async fn init(c: &Config) -> Result<Self, InitError> { Ok(T) } }",
        )
        .unwrap();
        let err = expand(&mut block).unwrap_err().to_string();
        assert!(err.contains("cannot be async"), "{err}");
    }

    #[test]
    fn unknown_methods_are_refused() {
        let mut block: ItemImpl =
            syn::parse_str("impl Hooks for T { fn on_connect(&self) {} }").unwrap();
        let err = expand(&mut block).unwrap_err().to_string();
        assert!(err.contains("not a Hooks method"), "{err}");
    }
}
