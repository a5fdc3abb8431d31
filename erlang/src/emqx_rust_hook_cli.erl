%% @doc `emqx_ctl rust_hook ...': what the Rust hook library is doing, and the operator's
%% switches.
-module(emqx_rust_hook_cli).

-include("emqx_rust_hook.hrl").

-export([load/0, unload/0, cli/1]).

%% @doc Registers the `rust_hook' command.
load() -> emqx_ctl:register_command(rust_hook, {?MODULE, cli}, []).

%% @doc Unregisters the `rust_hook' command.
unload() -> emqx_ctl:unregister_command(rust_hook).

%% @doc `rust_hook status', `rust_hook stats', `rust_hook enable|disable <hook>',
%% `rust_hook reload [Path]' and `rust_hook cmd ...'.
cli(["status"]) ->
    case emqx_rust_hook_driver:info() of
        not_running ->
            emqx_ctl:print("rust driver: not running~n");
        #{path := Path, priority := Prio, hooks := Hooks, disabled := Disabled} = Info ->
            emqx_ctl:print("rust driver: ~ts (priority ~p, SDK ~ts)~n",
                           [Path, Prio, maps:get(sdk, Info, <<"?">>)]),
            [emqx_ctl:print("  ~-22s mode=~p failed_action=~p topics=~p sys=~p~ts~n",
                            [H#hook.name, H#hook.mode, H#hook.failed_action, H#hook.topics,
                             H#hook.sys, disabled(H#hook.name, Disabled)])
             || H <- Hooks],
            print_library_status(),
            ok
    end;
cli(["stats"]) ->
    Stats = try (emqx_rust_hook_driver:nif()):stats() catch error:_ -> #{} end,
    Lat = latencies(),
    [emqx_ctl:print("~-22s ~ts~ts~n",
                    [Hook, [io_lib:format("~p=~p ", [K, maps:get(K, S, false)])
                            || K <- [calls, errors, panics, timeouts, overloads, dropped,
                                     in_flight, workers, demoted]],
                     latency(maps:get(Hook, Lat, undefined))])
     || {Hook, S} <- lists:sort(maps:to_list(Stats))],
    case catch (emqx_rust_hook_driver:nif()):log_stats() of
        #{dropped := D, cut := C} ->
            emqx_ctl:print("~-22s dropped=~p cut=~p~n", [log, D, C]);
        _ -> ok
    end,
    ok;
cli(["cmd" | Args]) ->
    Result = try (emqx_rust_hook_driver:nif()):library_command([unicode:characters_to_binary(A) || A <- Args])
             catch error:_ -> {error, <<"no library running">>}
             end,
    case Result of
        {ok, Text} -> emqx_ctl:print("~ts~n", [Text]);
        {error, Msg} -> emqx_ctl:print("error: ~ts~n", [Msg])
    end;
cli(["reload" | Rest]) when length(Rest) =< 1 ->
    Path = case Rest of
               [] -> default;
               [P] -> P
           end,
    case emqx_rust_hook_driver:reload(Path) of
        {ok, #{path := New, sdk := Sdk, hooks := Hooks}} ->
            emqx_ctl:print("reloaded ~ts (SDK ~ts), hooks: ~p~n", [New, Sdk, Hooks]);
        {error, Reason} ->
            emqx_ctl:print("reload failed, the running library goes on: ~ts~n",
                           [emqx_rust_hook_driver:format_error(Reason)])
    end;
cli([Switch, Name]) when Switch =:= "enable"; Switch =:= "disable" ->
    case emqx_rust_hook_driver:find_hook(Name) of
        {ok, #hook{name = Hook}} ->
            ok = case Switch of
                     "enable" -> emqx_rust_hook_driver:enable(Hook);
                     "disable" -> emqx_rust_hook_driver:disable(Hook)
                 end,
            emqx_ctl:print("~s ~sd~n", [Hook, Switch]);
        {error, not_running} ->
            emqx_ctl:print("rust driver: not running~n");
        {error, {unknown_hook, _}} ->
            emqx_ctl:print("~ts: not a hook of the loaded library (see rust_hook status)~n",
                           [Name])
    end;
cli(_) ->
    emqx_ctl:usage([{"rust_hook status", "Show the Rust hook library and its hooks"},
                    {"rust_hook cmd ...", "Run a command of the library (e.g. clear_cache for emqx_jobs)"},
                    {"rust_hook stats", "Show per-hook counters: calls, errors, panics, timeouts, overloads, dropped, in_flight (pending async calls), workers (pool threads), demoted (an auto hook moved off the schedulers); latency p50/p99/max (us) of sampled calls; and the log's dropped and cut lines"},
                    {"rust_hook reload [<path>]", "Replace the library without a gap, with the plugin's conf read again (default path: the conf's): the new one starts beside the old, the hooks switch at once, the old one finishes its calls and stops"},
                    {"rust_hook disable <hook>", "Unregister a hook of the library from EMQX (e.g. client.authenticate), until enabled or the plugin is loaded again"},
                    {"rust_hook enable <hook>", "Register a disabled hook again"}]).

disabled(Name, Disabled) ->
    case lists:member(Name, Disabled) of
        true -> " DISABLED";
        false -> ""
    end.

%% Latency summary per hook (the stats map's keys: hookpoint atoms).
latencies() ->
    case emqx_rust_hook_driver:info() of
        #{hooks := Hooks} ->
            maps:from_list([{H#hook.name, emqx_rust_hook_latency:summary(H#hook.lat)}
                            || H <- Hooks]);
        not_running -> #{}
    end.

latency(undefined) -> "";
latency(#{samples := N, p50 := P50, p99 := P99, max := Max}) ->
    io_lib:format("p50_us=~p p99_us=~p max_us=~p samples=~p", [P50, P99, Max, N]).

%% The library's own lines (`Hooks::status'), if it reports any.
print_library_status() ->
    case catch (emqx_rust_hook_driver:nif()):library_status() of
        [] -> ok;
        Lines when is_list(Lines) ->
            emqx_ctl:print("library status:~n"),
            [emqx_ctl:print("  ~ts: ~ts~n", [K, V]) || {K, V} <- Lines],
            ok;
        {error, Msg} when is_binary(Msg) ->
            emqx_ctl:print("library status: failed: ~ts~n", [Msg]);
        _ -> ok
    end.
