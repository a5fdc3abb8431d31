%% @doc A/B of two builds of the inline bench library (native/bench_hooks): the CPU time
%% of the calling process's VM (erlang:statistics(runtime), not wall time, so other load
%% on the machine counts less) per NIF call, for the bench's captured inputs, the two
%% libraries alternated round by round. Run by hand after `make bench` built everything:
%%   AB_BEFORE=/path/before.so AB_AFTER=/path/after.so erl -noshell \
%%     -pa _build/test/lib/*/ebin _build/test/lib/*/test _build/test/extras/tests _build/bench \
%%     -eval 'rust_hook_ab_cpu:main(), halt().'
%% (compile it first: erlc -o _build/bench bench/rust_hook_ab_cpu.erl).
-module(rust_hook_ab_cpu).
-export([main/0]).

-define(N, 1000000).
-define(ROUNDS, 6).

main() ->
    Inputs = emqx_rust_hook_bench:inputs(),
    {fold, [CI], AuthAcc} = maps:get('client.authenticate', Inputs),
    {fold, [ACI, PS, T], AclAcc} = maps:get('client.check_acl', Inputs),
    {fold, [], Msg} = maps:get('message.publish', Inputs),
    {run, [CCI, Conn]} = maps:get('client.connected', Inputs),
    Nif = emqx_rust_hook_nif,
    Cases = [{auth, fun() -> Nif:client_authenticate(inline, CI, AuthAcc) end},
             {acl, fun() -> Nif:client_check_acl(inline, ACI, PS, T, AclAcc) end},
             {publish, fun() -> Nif:message_publish(inline, Msg) end},
             {connected, fun() -> Nif:client_connected(inline, CCI, Conn) end}],
    Results = [begin
                   ok = rust_hook_test_util:start({path, lib(V)}),
                   R = [{V, Name, cpu_ns(F)} || {Name, F} <- Cases],
                   rust_hook_test_util:stop(),
                   R
               end || _ <- lists:seq(1, ?ROUNDS), V <- ["before", "after"]],
    All = lists:append(Results),
    [begin
         Ns = fun(V) -> lists:sort([X || {V2, N2, X} <- All, V2 =:= V, N2 =:= Name]) end,
         B = Ns("before"), A = Ns("after"),
         io:format("~-10s before min ~5.1f median ~5.1f | after min ~5.1f median ~5.1f ns/call (CPU)~n",
                   [Name, hd(B), lists:nth(?ROUNDS div 2, B), hd(A), lists:nth(?ROUNDS div 2, A)])
     end || {Name, _} <- Cases],
    ok.

lib(V) ->
    Var = case V of "before" -> "AB_BEFORE"; "after" -> "AB_AFTER" end,
    case os:getenv(Var) of
        false -> error({unset, Var});
        Path -> Path
    end.

cpu_ns(F) ->
    loop(F, 10000),
    erlang:garbage_collect(),
    {T0, _} = erlang:statistics(runtime),
    loop(F, ?N),
    {T1, _} = erlang:statistics(runtime),
    (T1 - T0) * 1.0e6 / ?N.

loop(_, 0) -> ok;
loop(F, K) -> F(), loop(F, K - 1).
