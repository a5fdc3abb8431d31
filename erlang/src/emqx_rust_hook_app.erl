%% @doc The emqx_rust_hook plugin: EMQX hooks implemented by an in-process Rust library.
%%
%% Configured like emqx_extension_hook (`exhook.drivers = rust' and
%% `exhook.drivers.rust.*'), under a name of its own so both plugins can be loaded.
-module(emqx_rust_hook_app).
-behaviour(application).

-emqx_plugin(?MODULE).

-export([start/2, prep_stop/1, stop/1]).

start(_Type, _Args) ->
    {ok, Sup} = emqx_rust_hook_sup:start_link(),
    case start_drivers(application:get_env(emqx_rust_hook, drivers, [])) of
        ok ->
            emqx_rust_hook_cli:load(),
            {ok, Sup};
        {error, Reason} ->
            {error, Reason}
    end.

start_drivers([]) ->
    logger:warning("emqx_rust_hook: no driver configured (set exhook.drivers = rust)"),
    ok;
start_drivers([{Name, Opts}]) ->
    emqx_rust_hook_driver:load(Name, Opts);
start_drivers([{_, _} | _] = Drivers) ->
    logger:error("emqx_rust_hook: only one driver can run, got ~p", [[N || {N, _} <- Drivers]]),
    {error, {too_many_drivers, [N || {N, _} <- Drivers]}}.

prep_stop(State) ->
    emqx_rust_hook_cli:unload(),
    emqx_rust_hook_driver:unload(),
    State.

stop(_State) ->
    ok.
