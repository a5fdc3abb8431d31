%% @doc The plugin's second library module: the same functions as emqx_rust_hook_nif,
%% so that a reload can load a new library beside the running one (see
%% emqx_rust_hook_nif and emqx_rust_hook_driver).
-module(emqx_rust_hook_nif_b).

-include("emqx_rust_hook_nif_stubs.hrl").
