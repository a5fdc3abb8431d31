%% @doc The `rust' driver: loads a hook library (`.so'), starts it with the driver
%% configuration, registers exactly the hooks it implements, and undoes all of it on
%% unload. What is running is kept in `persistent_term' for the CLI.
-module(emqx_rust_hook_driver).

-include("emqx_rust_hook.hrl").

-export([load/2, unload/0, info/0, enable/1, disable/1, find_hook/1]).

-define(NIF, emqx_rust_hook_nif).
-define(STATE, {?MODULE, running}).

%% @doc Starts the driver `Name' with its options (from the plugin's app env). Errors are
%% logged with the library path and the reason, and returned; the node keeps running.
-spec load(atom(), list()) -> ok | {error, term()}.
load(rust, Opts) ->
    case load_rust(Opts) of
        ok -> ok;
        {error, Reason} ->
            logger:error("emqx_rust_hook: rust driver failed to start: ~ts",
                         [format_error(Reason)]),
            {error, Reason}
    end;
load(Name, _Opts) ->
    logger:error("emqx_rust_hook: unknown driver ~p (the only driver is rust)", [Name]),
    {error, {unknown_driver, Name}}.

%% @doc Unregisters the hooks, then stops the library (its `terminate' runs).
-spec unload() -> ok.
unload() ->
    case persistent_term:get(?STATE, undefined) of
        undefined -> ok;
        #{hooks := Hooks} ->
            lists:foreach(fun unregister_hook/1, Hooks),
            _ = persistent_term:erase(?STATE),
            ?NIF:stop(),
            ok
    end.

%% @doc The running driver: library path, priority, the library's hooks and those the
%% operator disabled.
-spec info() -> #{path := string(), priority := integer(), hooks := [#hook{}],
                  disabled := [atom()]} | not_running.
info() ->
    case persistent_term:get(?STATE, not_running) of
        not_running -> not_running;
        St -> maps:merge(#{disabled => []}, St)
    end.

%% @doc The library's hook named `Name' (`"client.authenticate"' or
%% `"client_authenticate"'), without making atoms from it.
-spec find_hook(string()) -> {ok, #hook{}} | {error, not_running | {unknown_hook, string()}}.
find_hook(Name) ->
    case info() of
        not_running -> {error, not_running};
        #{hooks := Hooks} ->
            Dotted = [case C of $_ -> $.; _ -> C end || C <- Name],
            Match = [H || H <- Hooks,
                          lists:member(atom_to_list(H#hook.name), [Name, Dotted])
                              orelse atom_to_list(emqx_rust_hook_handler:callback(H#hook.name))
                                     =:= "on_" ++ Name],
            case Match of
                [H | _] -> {ok, H};
                [] -> {error, {unknown_hook, Name}}
            end
    end.

%% @doc Unregisters one of the library's hooks from EMQX, so it does not run at all (the
%% library stays loaded); `enable/1' registers it again. Until the plugin is loaded again.
-spec disable(atom()) -> ok | {error, not_running | {not_implemented, atom()}}.
disable(Name) -> switch(Name, false).

%% @doc Registers a hook that `disable/1' unregistered.
-spec enable(atom()) -> ok | {error, not_running | {not_implemented, atom()}}.
enable(Name) -> switch(Name, true).

switch(Name, On) ->
    case info() of
        not_running -> {error, not_running};
        St = #{hooks := Hooks, priority := Prio, disabled := Disabled} ->
            case lists:keyfind(Name, #hook.name, Hooks) of
                false -> {error, {not_implemented, Name}};
                H ->
                    case {On, lists:member(Name, Disabled)} of
                        {false, false} ->
                            unregister_hook(H),
                            persistent_term:put(?STATE, St#{disabled => [Name | Disabled]});
                        {true, true} ->
                            register_hook(H, Prio),
                            persistent_term:put(?STATE, St#{disabled => Disabled -- [Name]});
                        _ -> ok
                    end,
                    %% emqx:unhook/2 is a cast: the hook is gone once emqx_hooks handled it.
                    _ = catch sys:get_state(emqx_hooks),
                    ok
            end
    end.

%%--------------------------------------------------------------------------------------
%% Loading

load_rust(Opts) ->
    case proplists:get_value(path, Opts) of
        undefined -> {error, no_path};
        Path0 ->
            Path = resolve(Path0),
            case filelib:is_regular(Path) of
                false -> {error, {not_found, Path}};
                true -> load_library(Path, Opts)
            end
    end.

%% A relative path is taken from the plugin's priv directory.
resolve(Path) ->
    P = unicode:characters_to_list(Path),
    case filename:pathtype(P) of
        absolute -> P;
        _ -> filename:join(code:priv_dir(emqx_rust_hook), P)
    end.

load_library(Path, Opts) ->
    case ensure_loaded(Path) of
        ok -> start_library(Path, Opts);
        {error, Reason} -> {error, {load_failed, Path, Reason}}
    end.

%% Loads the .so into emqx_rust_hook_nif. A library left loaded by an earlier start of
%% the plugin is reused; another library is loaded into a new instance of the module
%% (the NIF upgrade path), the old instance staying until it is purged.
ensure_loaded(Path) ->
    _ = code:ensure_loaded(?NIF),
    Same = persistent_term:get({?MODULE, loaded_path}, undefined) =:= Path,
    Result = case ?NIF:is_loaded() of
                 true when Same -> ok;
                 true -> load_into_new_instance(Path);
                 false -> ?NIF:load(Path)
             end,
    case Result of
        ok -> persistent_term:put({?MODULE, loaded_path}, Path);
        {error, _} = Error -> Error
    end.

load_into_new_instance(Path) ->
    _ = code:soft_purge(?NIF),
    case code:load_file(?NIF) of
        {module, ?NIF} -> ?NIF:load(Path);
        {error, Reason} -> {error, {module_reload, Reason}}
    end.

start_library(Path, Opts) ->
    %% Every value the SDK needs, defaults included (it has none of its own).
    Config = #{path => unicode:characters_to_binary(Path),
               call_timeout => opt(call_timeout, Opts),
               hook_priority => opt(hook_priority, Opts),
               pool_size => opt(pool_size, Opts),
               pool_max_size => opt(pool_max_size, Opts),
               async_max_in_flight => opt(async_max_in_flight, Opts),
               failed_action => opt(failed_action, Opts),
               notify_queue_size => opt(notify_queue_size, Opts),
               overflow => opt(overflow, Opts),
               mode_overrides => maps:from_list(proplists:get_value(mode_overrides, Opts, [])),
               emqx_version => emqx_version(),
               init_args => maps:from_list([{to_bin(K), to_bin(V)}
                                            || {K, V} <- proplists:get_value(init_args, Opts, [])]),
               logger => whereis(emqx_rust_hook_logger)},
    case ?NIF:start(Config) of
        {ok, Specs} ->
            Prio = opt(hook_priority, Opts),
            Hooks = [hook_record(Spec, Opts) || Spec <- Specs],
            lists:foreach(fun(H) -> register_hook(H, Prio) end, Hooks),
            persistent_term:put(?STATE, #{path => Path, priority => Prio, hooks => Hooks}),
            %% A library loaded before into an older instance of the module is freed
            %% once no process runs that instance any more.
            _ = code:soft_purge(?NIF),
            logger:info("emqx_rust_hook: loaded ~ts, hooks: ~p",
                        [Path, [H#hook.name || H <- Hooks]]),
            ok;
        {error, Reason} ->
            {error, {start_failed, Path, Reason}}
    end.

hook_record({Name, #{mode := Mode, topics := Topics, sys := Sys, failed_action := FA}}, Opts) ->
    Overrides = proplists:get_value(failed_action_overrides, Opts, []),
    Failed = case FA of
                 undefined -> proplists:get_value(Name, Overrides, opt(failed_action, Opts));
                 _ -> FA
             end,
    #hook{name = Name, mode = Mode, topics = Topics, sys = Sys, failed_action = Failed,
          timeout = opt(call_timeout, Opts), lat = latency(Name, opt(latency_sample, Opts))}.

latency(_Name, 0) -> undefined;
latency(Name, Every) -> emqx_rust_hook_latency:new(Name, Every).

%% A driver option, or its default (emqx_rust_hook.hrl) when the app env lacks it.
opt(call_timeout, Opts) -> proplists:get_value(call_timeout, Opts, ?DEFAULT_CALL_TIMEOUT);
opt(hook_priority, Opts) -> proplists:get_value(hook_priority, Opts, ?DEFAULT_HOOK_PRIORITY);
opt(pool_size, Opts) -> proplists:get_value(pool_size, Opts, ?DEFAULT_POOL_SIZE);
opt(pool_max_size, Opts) -> proplists:get_value(pool_max_size, Opts, ?DEFAULT_POOL_MAX_SIZE);
opt(async_max_in_flight, Opts) ->
    proplists:get_value(async_max_in_flight, Opts, ?DEFAULT_ASYNC_MAX_IN_FLIGHT);
opt(failed_action, Opts) -> proplists:get_value(failed_action, Opts, ?DEFAULT_FAILED_ACTION);
opt(notify_queue_size, Opts) ->
    proplists:get_value(notify_queue_size, Opts, ?DEFAULT_NOTIFY_QUEUE_SIZE);
opt(overflow, Opts) -> proplists:get_value(overflow, Opts, ?DEFAULT_OVERFLOW);
opt(latency_sample, Opts) -> proplists:get_value(latency_sample, Opts, ?DEFAULT_LATENCY_SAMPLE).

register_hook(H = #hook{name = Name}, Prio) ->
    ok = emqx:hook(Name, {emqx_rust_hook_handler, emqx_rust_hook_handler:callback(Name), [H]},
                   Prio).

unregister_hook(#hook{name = Name}) ->
    emqx:unhook(Name, {emqx_rust_hook_handler, emqx_rust_hook_handler:callback(Name)}).

emqx_version() ->
    try unicode:characters_to_binary(emqx_sys:version()) catch _:_ -> <<>> end.

to_bin(X) when is_binary(X) -> X;
to_bin(X) when is_atom(X) -> atom_to_binary(X, utf8);
to_bin(X) -> unicode:characters_to_binary(X).

format_error(no_path) ->
    "exhook.drivers.rust.path is not set";
format_error({not_found, Path}) ->
    io_lib:format("hook library ~ts not found", [Path]);
format_error({load_failed, Path, Reason}) ->
    io_lib:format("cannot load hook library ~ts: ~p", [Path, Reason]);
format_error({start_failed, Path, Reason}) ->
    io_lib:format("hook library ~ts did not start: ~ts", [Path, Reason]);
format_error(Other) ->
    io_lib:format("~p", [Other]).
