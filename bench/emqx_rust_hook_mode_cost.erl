%% @doc `make bench-mode-cost': what the plugin's own per-call machinery costs, in one
%% BEAM run: the 19-hook library `native/bench_all_hooks' loaded through the real plugin
%% on the stand-in host, every hook `inline' or in the default mode (`auto': inline under
%% the watchdog), with the latency sampling on (`latency_sample = 16', the default) or off
%% (`0'). Each case runs `emqx_hooks:run_fold/3' for `client.authenticate' and
%% `message.publish' N times in a loop (no per-call clock read) after a warm-up; the four
%% cases alternate over the rounds, the order shifted by one each round. `BENCH_LIB'
%% names another build of the library (e.g. to compare with another branch's plugin). Printed: the mean ns per call of each round, sorted
%% (the smallest is the least disturbed by other jobs on a shared machine).
-module(emqx_rust_hook_mode_cost).

-export([main/0, main/2]).

-define(HOOKS, ["client_connect", "client_connack", "client_connected",
                "client_disconnected", "client_authenticate", "client_check_acl",
                "client_subscribe", "client_unsubscribe", "session_created",
                "session_subscribed", "session_unsubscribed", "session_resumed",
                "session_discarded", "session_takeovered", "session_terminated",
                "message_publish", "message_delivered", "message_acked", "message_dropped"]).

main() ->
    N = list_to_integer(os:getenv("BENCH_N", "300000")),
    Rounds = list_to_integer(os:getenv("BENCH_ROUNDS", "5")),
    main(N, Rounds).

main(N, Rounds) ->
    Lib = case os:getenv("BENCH_LIB") of
              false -> filename:join(emqx_double:repo_path("target/release"), "libbench_all_hooks.so");
              L -> L
          end,
    #{'client.authenticate' := {fold, AArgs, AAcc}, 'message.publish' := {fold, PArgs, PAcc}} =
        emqx_rust_hook_bench:inputs(),
    Cases = [{"inline, latency_sample = 16", conf("inline", 16)},
             {"auto, latency_sample = 16", conf("auto", 16)},
             {"auto, latency_sample = 0", conf("auto", 0)},
             {"inline, latency_sample = 0", conf("inline", 0)}],
    io:format("emqx_rust_hook mode cost: ~b calls per hook and case, ~b rounds, load ~ts~n",
              [N, Rounds, loadavg()]),
    Runs = [[run(Name, Conf, Lib, N, {AArgs, AAcc}, {PArgs, PAcc}) || {Name, Conf} <- rotate(R, Cases)]
            || R <- lists:seq(0, Rounds - 1)],
    Flat = lists:append(Runs),
    io:format("~-30s ~-40s ~s~n", ["case", "client.authenticate ns/call", "message.publish ns/call"]),
    [io:format("~-30s ~-40s ~w~n",
               [Name, io_lib:format("~w", [lists:sort([A || {Nm, A, _} <- Flat, Nm =:= Name])]),
                lists:sort([P || {Nm, _, P} <- Flat, Nm =:= Name])])
     || {Name, _} <- Cases],
    io:format("load after: ~ts~n", [loadavg()]),
    ok.

conf(Mode, Sample) ->
    ["exhook.drivers.rust.latency_sample = " ++ integer_to_list(Sample)
     | ["exhook.drivers.rust.mode." ++ H ++ " = " ++ Mode || Mode =/= "auto", H <- ?HOOKS]].

run(Name, Conf, Lib, N, {AArgs, AAcc}, {PArgs, PAcc}) ->
    ok = rust_hook_test_util:start({path, Lib}, Conf),
    try
        loop(20000, 'client.authenticate', AArgs, AAcc),
        T0 = erlang:monotonic_time(nanosecond),
        loop(N, 'client.authenticate', AArgs, AAcc),
        T1 = erlang:monotonic_time(nanosecond),
        loop(N, 'message.publish', PArgs, PAcc),
        T2 = erlang:monotonic_time(nanosecond),
        {Name, (T1 - T0) div N, (T2 - T1) div N}
    after
        rust_hook_test_util:stop()
    end.

rotate(R, L) ->
    {A, B} = lists:split(R rem length(L), L),
    B ++ A.

loop(0, _, _, _) -> ok;
loop(K, Hook, Args, Acc) ->
    _ = emqx_hooks:run_fold(Hook, Args, Acc),
    loop(K - 1, Hook, Args, Acc).

loadavg() ->
    case file:read_file("/proc/loadavg") of
        {ok, B} -> string:trim(binary_to_list(B));
        _ -> "?"
    end.
