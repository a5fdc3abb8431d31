%% @doc The fixed NIF surface of every Rust hook library.
%%
%% A hook library built with the emqx-rust-hook SDK implements exactly these functions
%% (the SDK writes them; users only write trait methods). Until `load/1' has loaded a
%% library, every stub fails with `{nif_not_loaded, Function}'.
%%
%% Hook functions take `Tag' first and then the hook's arguments, accumulator last.
%% `Tag' is `inline' (run now, on the caller's scheduler), `queue' (hand to the SDK's
%% notification workers and return `ok' at once), a reference (run on the hook's
%% worker pool: returns `{pending, Job}', and the answer arrives as `{Ref, Result}') or
%% `auto' (inline under the SDK's watchdog; once the hook is demoted, like `queue' for a
%% notification, or `{pending, Job, Ref}' for a hook that decides).
%% They return what EMQX expects from a callback (`ok', `{ok, Acc}', `{stop, Acc}') or
%% `{error, Kind, Message}'.
%%
%% The plugin has two such modules, this one and emqx_rust_hook_nif_b (the same
%% functions: emqx_rust_hook_nif_stubs.hrl), so that `emqx_ctl rust_hook reload' can load
%% a new library beside the running one; a library loads into the module its staged file
%% is named after (emqx_rust_hook_driver).
-module(emqx_rust_hook_nif).

-include("emqx_rust_hook_nif_stubs.hrl").
