%% @doc A/B of two builds of a hook library in ONE VM, through the real plugin and the
%% hook runner: build A is started by the plugin (module emqx_rust_hook_nif), build B is
%% loaded and started beside it in the plugin's second module (emqx_rust_hook_nif_b, the
%% one a reload uses), and the running hook set is switched between the two every slice
%% of 200,000 calls of `emqx_hooks:run_fold/3' (`run/2' for message.dropped), with the
%% captured EMQX 4.2.14 terms of `make bench'. Both builds see the same VM, the same
%% caches and the same machine load, so a difference of a few percent per call shows,
%% where separate VMs differ by 10 to 30% from run to run. Prints the median and the
%% minimum ns per call of each build and the median of the per-slice ratios B/A.
%% Run by hand after `make build' and `make bench' (which compiles the bench module):
%%   erlc -I erlang/include -o _build/bench bench/rust_hook_ab_slots.erl
%%   erl -noshell -pa _build/test/lib/*/ebin _build/test/lib/*/test \
%%     _build/test/extras/tests _build/bench \
%%     -eval "rust_hook_ab_slots:run(\"/tmp/a.so\", \"/tmp/b.so\", 'message.publish', 20), halt()."
%% A and B must implement the hook; a path that is not absolute is taken in target/release.
%% `run/5' gives B's hooks a mode of their own, e.g. `async' to set a library of
%% `async fn' methods (B) against the same decisions as sync inline methods (A):
%%     -eval "rust_hook_ab_slots:run(\"libbench_hooks.so\",
%%            \"examples/libbench_hooks_async.so\", 'client.check_acl', 15, async), halt()."
-module(rust_hook_ab_slots).
-export([run/4, run/5]).

-include("emqx_rust_hook.hrl").

-define(SLICE, 200000).
-define(WARMUP, 20000).

run(LibA, LibB, Hook, Rounds) ->
    run(LibA, LibB, Hook, Rounds, same).

run(LibA, LibB, Hook, Rounds, ModeB) ->
    ok = emqx_double:start(),
    ok = logger:set_primary_config(level, warning),
    Abs = fun(L) -> filename:join(emqx_double:repo_path("target/release"), L) end,
    ok = rust_hook_test_util:start({path, Abs(LibA)}, []),
    Staged = filename:join(emqx_rust_hook_driver:staging_dir(), "emqx_rust_hook_nif_b.ab.so"),
    {ok, _} = file:copy(Abs(LibB), Staged),
    ok = emqx_rust_hook_nif_b:load(Staged),
    {ok, _} = emqx_rust_hook_nif_b:start(config(Abs(LibB))),
    SetA = persistent_term:get(emqx_rust_hook_handler_active),
    SetB = list_to_tuple([retarget(H, ModeB) || H <- tuple_to_list(SetA)]),
    {Args, Acc} = inputs(Hook),
    Slices = lists:append(
               [[begin
                     persistent_term:put(emqx_rust_hook_handler_active, Set),
                     {Name, slice(Hook, Args, Acc)}
                 end || {Name, Set} <- [{a, SetA}, {b, SetB}]]
                || _ <- lists:seq(1, Rounds)]),
    persistent_term:put(emqx_rust_hook_handler_active, SetA),
    ok = emqx_rust_hook_nif_b:stop(),
    [report(Name, Lib, [T || {N, T} <- Slices, N =:= Name])
     || {Name, Lib} <- [{a, LibA}, {b, LibB}]],
    Ratios = [TB / TA || {{a, TA}, {b, TB}} <- pairs(Slices)],
    io:format("B/A per slice: median ~.3f~n", [median(Ratios)]).

%% The driver's configuration with its defaults, as emqx_rust_hook_driver gives it.
config(Path) ->
    #{path => list_to_binary(Path), call_timeout => 5000, hook_priority => 0,
      pool_size => 8, pool_max_size => 256, async_max_in_flight => 10000,
      failed_action => ignore, notify_queue_size => 10000, overflow => drop_newest,
      mode_overrides => #{}, emqx_version => <<"4.2.14">>, init_args => #{},
      logger => whereis(emqx_rust_hook_logger)}.

%% A hook of build A's running set, pointed at build B (the record's `nif' field), with
%% A's mode or `ModeB'.
retarget(undefined, _) -> undefined;
retarget(H, same) -> H#hook{nif = emqx_rust_hook_nif_b};
retarget(H, ModeB) -> H#hook{nif = emqx_rust_hook_nif_b, mode = ModeB}.

inputs('message.dropped') ->
    {fold, [], Msg} = maps:get('message.publish', emqx_rust_hook_bench:inputs()),
    {[Msg, #{node => node()}, no_subscribers], run};
inputs(Hook) ->
    {fold, Args, Acc} = maps:get(Hook, emqx_rust_hook_bench:inputs()),
    {Args, Acc}.

slice(Hook, Args, Acc) ->
    loop(Hook, Args, Acc, ?WARMUP),
    T0 = erlang:monotonic_time(nanosecond),
    loop(Hook, Args, Acc, ?SLICE),
    (erlang:monotonic_time(nanosecond) - T0) / ?SLICE.

loop(_, _, _, 0) -> ok;
loop(Hook, Args, run, N) -> emqx_hooks:run(Hook, Args), loop(Hook, Args, run, N - 1);
loop(Hook, Args, Acc, N) -> emqx_hooks:run_fold(Hook, Args, Acc), loop(Hook, Args, Acc, N - 1).

pairs([{a, _} = A, {b, _} = B | Rest]) -> [{A, B} | pairs(Rest)];
pairs([]) -> [].

report(Name, Lib, Ts) ->
    io:format("~s ~-40s median ~6.1f min ~6.1f ns/call~n",
              [Name, Lib, median(Ts), lists:min(Ts)]).

median(Xs) -> lists:nth((length(Xs) + 1) div 2, lists:sort(Xs)).
