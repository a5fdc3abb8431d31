%% @doc The `rust' driver: loads a hook library (`.so'), starts it with the driver
%% configuration, registers exactly the hooks it implements, and undoes all of it on
%% unload. What is running is kept in `persistent_term' for the CLI.
%%
%% A library is never loaded from where the operator put it: it is first copied
%% ("staged") into the node's data directory under a name made of one of the plugin's two
%% library modules (emqx_rust_hook_nif, emqx_rust_hook_nif_b) and a hash of its content.
%% So a file replaced in place is really loaded anew (the VM would otherwise reuse the
%% mapped copy of the same path), a file being written cannot crash the node, and
%% `reload/1' can load the new library into the module the running one does not use:
%% both run side by side until the hooks are switched over (emqx_rust_hook_handler) and
%% the old one has finished what it was given.
-module(emqx_rust_hook_driver).

-include("emqx_rust_hook.hrl").

-export([load/2, unload/0, reload/1, info/0, nif/0, enable/1, disable/1, find_hook/1]).
-export([sdk_version/1, compatible/2, staging_dir/0, format_error/1]).

-define(STATE, {?MODULE, running}).
-define(MODULES, [emqx_rust_hook_nif, emqx_rust_hook_nif_b]).
-define(VERSION_MARK, <<"EMQX_RUST_HOOK_SDK_VERSION=">>).

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
        #{hooks := Hooks, nif := Mod} ->
            lists:foreach(fun unregister_hook/1, Hooks),
            ok = emqx_rust_hook_handler:activate([]),
            _ = persistent_term:erase(?STATE),
            Mod:stop(),
            ok
    end.

%% @doc Replaces the running library with the one at `Path' (`default': the configured
%% path), with the plugin's conf read again (EMQX's reading, as `plugins load' does),
%% without a moment in which a hook is missing: the new library is
%% loaded and started beside the old one, every hook is switched to it at once, then the
%% old library finishes the calls it was given and its queued notifications (at most
%% `reload_drain' for those), its `terminate' runs, and it is dropped. When the new
%% library cannot be loaded or started, the old one goes on serving.
-spec reload(file:filename_all() | default) ->
          {ok, #{path := string(), sdk := binary(), hooks := [atom()]}} | {error, term()}.
reload(Path0) ->
    case global:trans({{?MODULE, reload}, self()}, fun() -> do_reload(Path0) end, [node()], 0) of
        aborted -> {error, reload_in_progress};
        Result -> Result
    end.

do_reload(Path0) ->
    case persistent_term:get(?STATE, undefined) of
        undefined -> {error, not_running};
        St ->
            case conf_opts() of
                {ok, Configs, Opts} ->
                    Path = case Path0 of
                               default -> resolve(proplists:get_value(path, Opts));
                               _ -> resolve(Path0)
                           end,
                    %% The new library holds its queued notifications until the old one
                    %% has run its own: one client's events stay in order across the
                    %% reload.
                    Hold = opt(reload_drain, Opts) + opt(call_timeout, Opts),
                    Mod = other(maps:get(nif, St)),
                    case prepare(Path, Mod, [{hold_notifications, Hold} | Opts]) of
                        {ok, New} ->
                            ok = emqx_plugins:apply_configs(Configs),
                            switch_over(St#{opts => Opts}, New);
                        {error, Reason} = Error -> refused(St, Reason, Error)
                    end;
                {error, Reason} = Error -> refused(St, Reason, Error)
            end
    end.

refused(#{path := Running}, Reason, Error) ->
    logger:error("emqx_rust_hook: reload refused, ~ts keeps serving: ~ts",
                 [Running, format_error(Reason)]),
    Error.

%% The driver options of the plugin's conf as it is now (EMQX's own reading of a
%% plugin's conf, the one `plugins load' does), and the app env they come from.
conf_opts() ->
    try emqx_plugins:generate_configs(emqx_rust_hook) of
        Configs when is_list(Configs) ->
            Env = proplists:get_value(emqx_rust_hook, Configs, []),
            case proplists:get_value(rust, proplists:get_value(drivers, Env, [])) of
                Opts when is_list(Opts) -> {ok, Configs, Opts};
                _ -> {error, {bad_conf, "exhook.drivers does not name the rust driver"}}
            end;
        Other -> {error, {bad_conf, Other}}
    catch
        _:Reason -> {error, {bad_conf, Reason}}
    end.

other(emqx_rust_hook_nif) -> emqx_rust_hook_nif_b;
other(emqx_rust_hook_nif_b) -> emqx_rust_hook_nif.

switch_over(St = #{hooks := OldHooks, disabled := Disabled0, nif := OldMod, priority := Prio,
                   opts := Opts},
            #{path := Path, hooks := NewHooks, nif := NewMod, sdk := Sdk}) ->
    Names = fun(Hs) -> [H#hook.name || H <- Hs] end,
    Disabled = [D || D <- Disabled0, lists:member(D, Names(NewHooks))],
    Running = fun(Hs) -> [H || H <- Hs, not lists:member(H#hook.name, Disabled)] end,
    OldOn = Running(OldHooks),
    NewOn = Running(NewHooks),
    %% Callbacks the old library did not need are registered first (they find no hook
    %% until the switch), the switch is one write, and callbacks the new library does not
    %% need are unregistered after it.
    [register_hook(H, Prio) || H <- NewOn, not lists:member(H#hook.name, Names(OldOn))],
    ok = emqx_rust_hook_handler:activate(NewOn),
    [unregister_hook(H) || H <- OldOn, not lists:member(H#hook.name, Names(NewOn))],
    persistent_term:put(?STATE, St#{path => Path, hooks => NewHooks, nif => NewMod,
                                    disabled => Disabled, sdk => Sdk}),
    _ = catch sys:get_state(emqx_hooks),
    logger:info("emqx_rust_hook: reloaded ~ts (SDK ~ts), hooks: ~p; the previous library "
                "is finishing its calls", [Path, Sdk, Names(NewHooks)]),
    ok = OldMod:retire(opt(reload_drain, Opts)),
    ok = NewMod:release(),
    logger:info("emqx_rust_hook: the previous library stopped"),
    {ok, #{path => Path, sdk => Sdk, hooks => Names(NewHooks)}}.

%% @doc The running driver: library path, priority, the library's hooks and those the
%% operator disabled.
-spec info() -> #{path := string(), priority := integer(), hooks := [#hook{}],
                  disabled := [atom()], nif := module(), sdk := binary()} | not_running.
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

%% @doc The module the running library is loaded into (emqx_rust_hook_nif when none runs).
-spec nif() -> module().
nif() ->
    case persistent_term:get(?STATE, undefined) of
        #{nif := Mod} -> Mod;
        _ -> emqx_rust_hook_nif
    end.

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
                            Off = [Name | Disabled],
                            ok = emqx_rust_hook_handler:activate(running(Hooks, Off)),
                            persistent_term:put(?STATE, St#{disabled => Off});
                        {true, true} ->
                            On2 = Disabled -- [Name],
                            ok = emqx_rust_hook_handler:activate(running(Hooks, On2)),
                            register_hook(H, Prio),
                            persistent_term:put(?STATE, St#{disabled => On2});
                        _ -> ok
                    end,
                    %% emqx:unhook/2 is a cast: the hook is gone once emqx_hooks handled it.
                    _ = catch sys:get_state(emqx_hooks),
                    ok
            end
    end.

running(Hooks, Disabled) ->
    [H || H <- Hooks, not lists:member(H#hook.name, Disabled)].

%%--------------------------------------------------------------------------------------
%% Loading

load_rust(Opts) ->
    case proplists:get_value(path, Opts) of
        undefined -> {error, no_path};
        Path0 ->
            case prepare(resolve(Path0), emqx_rust_hook_nif, Opts) of
                {ok, #{path := Path, hooks := Hooks, nif := Mod, sdk := Sdk}} ->
                    Prio = opt(hook_priority, Opts),
                    ok = emqx_rust_hook_handler:activate(Hooks),
                    lists:foreach(fun(H) -> register_hook(H, Prio) end, Hooks),
                    persistent_term:put(?STATE, #{path => Path, priority => Prio,
                                                  hooks => Hooks, nif => Mod, sdk => Sdk,
                                                  disabled => [], opts => Opts}),
                    logger:info("emqx_rust_hook: loaded ~ts (SDK ~ts), hooks: ~p",
                                [Path, Sdk, [H#hook.name || H <- Hooks]]),
                    ok;
                {error, _} = Error -> Error
            end
    end.

%% A relative path is taken from the plugin's priv directory.
resolve(Path) ->
    P = unicode:characters_to_list(Path),
    case filename:pathtype(P) of
        absolute -> P;
        _ -> filename:join(code:priv_dir(emqx_rust_hook), P)
    end.

%% Checks the library at `Path', stages it for module `Mod', loads it there and starts it:
%% its hooks, not yet registered.
prepare(Path, Mod, Opts) ->
    case file:read_file(Path) of
        {ok, Bin} ->
            case check_sdk(Path, Bin) of
                {ok, Sdk} ->
                    case stage(Path, Bin, Mod) of
                        {ok, Staged} -> load_and_start(Path, Staged, Mod, Sdk, Opts);
                        {error, Reason} -> {error, {stage_failed, Path, Reason}}
                    end;
                {error, _} = Error -> Error
            end;
        {error, enoent} -> {error, {not_found, Path}};
        {error, Reason} -> {error, {load_failed, Path, Reason}}
    end.

%% The library must be built with an SDK this plugin speaks: read from the file, before
%% the library is loaded (a library of another SDK may not even load into the module).
check_sdk(Path, Bin) ->
    case sdk_version(Bin) of
        undefined -> {error, {no_sdk_version, Path}};
        Vsn ->
            case compatible(Vsn, ?SDK_VERSION) of
                true -> {ok, Vsn};
                false -> {error, {incompatible_sdk, Path, Vsn, ?SDK_VERSION}}
            end
    end.

%% @doc The SDK version a hook library's file was built with, or `undefined'.
-spec sdk_version(binary()) -> binary() | undefined.
sdk_version(Bin) ->
    case binary:match(Bin, ?VERSION_MARK) of
        {At, Len} ->
            Rest = binary:part(Bin, At + Len, min(32, byte_size(Bin) - At - Len)),
            case binary:split(Rest, <<0>>) of
                [Vsn, _] when byte_size(Vsn) > 0 -> Vsn;
                _ -> undefined
            end;
        nomatch -> undefined
    end.

%% @doc Whether a library built with SDK `Lib' runs in this plugin (SDK `Plugin'): the
%% same major version, and for 0.x the same minor version (Cargo's rule).
-spec compatible(binary() | string(), binary() | string()) -> boolean().
compatible(Lib, Plugin) ->
    case {parse_version(Lib), parse_version(Plugin)} of
        {{0, Minor, _}, {0, Minor, _}} -> true;
        {{0, _, _}, _} -> false;
        {{Major, _, _}, {Major, _, _}} -> true;
        _ -> false
    end.

parse_version(V) ->
    try
        [Ma, Mi, Pa | _] = string:split(unicode:characters_to_list(V), ".", all) ++ ["0"],
        {list_to_integer(Ma), list_to_integer(Mi), list_to_integer(hd(string:split(Pa, "-")))}
    catch _:_ -> invalid
    end.

%% @doc Where libraries are staged: `staging_dir' of the plugin's app env, else
%% `rust_hook/' in the node's data directory, else a directory in the system's temp dir.
-spec staging_dir() -> file:filename().
staging_dir() ->
    case application:get_env(emqx_rust_hook, staging_dir) of
        {ok, Dir} -> Dir;
        undefined ->
            case application:get_env(emqx, data_dir) of
                {ok, Data} -> filename:join(Data, "rust_hook");
                undefined ->
                    Tmp = case os:getenv("TMPDIR") of
                              false -> "/tmp";
                              T -> T
                          end,
                    filename:join(Tmp, "emqx_rust_hook-" ++ atom_to_list(node()))
            end
    end.

%% Copies the library to `<staging>/<Mod>.<hash>.so' (once per content and module), and
%% removes that module's other staged files (a copy the VM still maps stays mapped).
stage(_Path, Bin, Mod) ->
    Dir = staging_dir(),
    Hash = [io_lib:format("~2.16.0b", [B]) || <<B>> <= binary:part(crypto:hash(sha256, Bin), 0, 8)],
    Name = lists:flatten([atom_to_list(Mod), "." | Hash]),
    Staged = filename:join(Dir, Name ++ ".so"),
    Prefix = atom_to_list(Mod) ++ ".",
    case filelib:ensure_dir(Staged) of
        ok ->
            [file:delete(F) || F <- filelib:wildcard(filename:join(Dir, Prefix ++ "*.so")),
                               F =/= Staged],
            case filelib:is_regular(Staged) of
                true -> {ok, Staged};
                false ->
                    Tmp = Staged ++ ".tmp",
                    case file:write_file(Tmp, Bin) of
                        ok ->
                            case file:rename(Tmp, Staged) of
                                ok -> {ok, Staged};
                                {error, _} = E -> E
                            end;
                        {error, _} = E -> E
                    end
            end;
        {error, _} = E -> E
    end.

load_and_start(Path, Staged, Mod, Sdk, Opts) ->
    case fresh_module(Mod) of
        ok ->
            case Mod:load(Staged) of
                ok -> start_library(Path, Mod, Sdk, Opts);
                {error, Reason} -> {error, {load_failed, Path, Reason}}
            end;
        {error, Reason} -> {error, {load_failed, Path, Reason}}
    end.

%% Gives `Mod' a new instance without a library: the library an earlier load left in it
%% (stopped by now) is dropped once no process runs its code.
fresh_module(Mod) ->
    _ = code:ensure_loaded(Mod),
    case purge(Mod, 50) of
        true ->
            _ = code:delete(Mod),
            case purge(Mod, 50) of
                true ->
                    case code:load_file(Mod) of
                        {module, Mod} -> ok;
                        {error, Reason} -> {error, {module_reload, Reason}}
                    end;
                false -> {error, {old_library_busy, Mod}}
            end;
        false -> {error, {old_library_busy, Mod}}
    end.

purge(Mod, Tries) ->
    case code:soft_purge(Mod) of
        true -> true;
        false when Tries > 0 -> timer:sleep(20), purge(Mod, Tries - 1);
        false -> false
    end.

start_library(Path, Mod, Sdk, Opts) ->
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
    Hold = case proplists:get_value(hold_notifications, Opts) of
               undefined -> #{};
               Ms -> #{hold_notifications => Ms}
           end,
    case Mod:start(maps:merge(Config, Hold)) of
        {ok, Specs} ->
            {ok, #{path => Path, nif => Mod, sdk => Sdk,
                   hooks => [hook_record(Spec, Mod, Opts) || Spec <- Specs]}};
        {error, Reason} ->
            {error, {start_failed, Path, Reason}}
    end.

hook_record({Name, #{mode := Mode, topics := Topics, sys := Sys, failed_action := FA}}, Mod,
            Opts) ->
    Overrides = proplists:get_value(failed_action_overrides, Opts, []),
    Failed = case FA of
                 undefined -> proplists:get_value(Name, Overrides, opt(failed_action, Opts));
                 _ -> FA
             end,
    #hook{name = Name, nif = Mod, mode = Mode, topics = Topics, sys = Sys, failed_action = Failed,
          timeout = opt(call_timeout, Opts), lat = latency(Mod, Name, opt(latency_sample, Opts))}.

latency(_Mod, _Name, 0) -> undefined;
latency(Mod, Name, Every) -> emqx_rust_hook_latency:new(Mod, Name, Every).

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
opt(latency_sample, Opts) -> proplists:get_value(latency_sample, Opts, ?DEFAULT_LATENCY_SAMPLE);
opt(reload_drain, Opts) -> proplists:get_value(reload_drain, Opts, ?DEFAULT_RELOAD_DRAIN).

register_hook(#hook{name = Name}, Prio) ->
    ok = emqx:hook(Name, {emqx_rust_hook_handler, emqx_rust_hook_handler:callback(Name),
                          [emqx_rust_hook_handler:index(Name)]}, Prio).

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
format_error({no_sdk_version, Path}) ->
    io_lib:format("~ts is not a hook library of this SDK (no SDK version in the file; this "
                  "plugin speaks SDK ~ts)", [Path, ?SDK_VERSION]);
format_error({incompatible_sdk, Path, Lib, Plugin}) ->
    io_lib:format("~ts was built with emqx-rust-hook SDK ~ts; this plugin (and the library "
                  "it runs) speaks SDK ~ts: rebuild the library against SDK ~ts",
                  [Path, Lib, Plugin, Plugin]);
format_error({stage_failed, Path, Reason}) ->
    io_lib:format("cannot copy hook library ~ts to ~ts: ~p", [Path, staging_dir(), Reason]);
format_error({bad_conf, Reason}) ->
    io_lib:format("the plugin's conf (etc/plugins/emqx_rust_hook.conf) cannot be read: ~p",
                  [Reason]);
format_error(reload_in_progress) ->
    "another reload is in progress";
format_error(not_running) ->
    "the rust driver is not running";
format_error({start_failed, Path, Reason}) ->
    io_lib:format("hook library ~ts did not start: ~ts", [Path, Reason]);
format_error(Other) ->
    io_lib:format("~p", [Other]).
