%% @doc The SDK's safety promises, with the real plugin and real libraries on the
%% stand-in host: `erl::send' works from every thread library code runs on (init and
%% terminate on a dirty scheduler, inline, pool, queue, Tokio tasks, threads the library
%% spawns); a `_name' parameter the body reads gets the real term; terms nested a million
%% deep reach every hook that takes a free-form term, in every mode, as the defined
%% fallback, and the VM stays up; the per-call bounds (filters, properties, the copy
%% handed to a worker, iolist payloads) hold; a log flood keeps memory and the logger's
%% mailbox bounded, with the drops counted.
-module(rust_hook_safety_tests).

-include_lib("eunit/include/eunit.hrl").

-define(PROBE, rust_hook_safety).

ci(ClientId) ->
    #{clientid => ClientId, username => <<"u">>, password => undefined,
      peerhost => {127, 0, 0, 1}, protocol => mqtt, zone => external, sockport => 1883,
      is_bridge => false, is_superuser => false, mountpoint => undefined}.

conninfo(ClientId) ->
    #{clientid => ClientId, username => <<"u">>, proto_name => <<"MQTT">>, proto_ver => 5,
      peername => {{127, 0, 0, 1}, 50000}, sockname => {{127, 0, 0, 1}, 1883},
      clean_start => true, keepalive => 60, connected_at => 1}.

%%--------------------------------------------------------------------------------------
%% A collector registered as rust_hook_safety.

collector_start() ->
    collector_stop(),
    register(?PROBE, spawn(fun() -> collect([]) end)),
    ok.

collector_stop() ->
    case whereis(?PROBE) of
        undefined -> ok;
        Pid -> unregister(?PROBE), exit(Pid, kill), ok
    end.

collect(Acc) ->
    receive
        {take, From, Ref} -> From ! {Ref, lists:reverse(Acc)}, collect([]);
        Msg -> collect([Msg | Acc])
    end.

take() ->
    Ref = make_ref(),
    ?PROBE ! {take, self(), Ref},
    receive {Ref, Msgs} -> Msgs after 5000 -> error(collector_timeout) end.

%% Waits up to 5 s for a message matching `Pred'; returns it. Other messages are kept
%% (in this process's dictionary) for later calls.
await(Pred) -> await(Pred, erlang:monotonic_time(millisecond) + 5000).

await(Pred, Deadline) ->
    Msgs = get_kept() ++ take(),
    case lists:splitwith(fun(M) -> not Pred(M) end, Msgs) of
        {Before, [M | After]} -> put(kept, Before ++ After), M;
        {_, []} ->
            put(kept, Msgs),
            case erlang:monotonic_time(millisecond) > Deadline of
                true -> error({not_received, Msgs});
                false -> timer:sleep(5), await(Pred, Deadline)
            end
    end.

get_kept() ->
    case get(kept) of
        undefined -> [];
        L -> L
    end.

with_safety(Extra, Tests) ->
    {setup,
     fun() -> collector_start(), ok = rust_hook_test_util:start("safety_hooks", Extra) end,
     fun(_) -> rust_hook_test_util:stop(), collector_stop() end,
     Tests}.

%%--------------------------------------------------------------------------------------
%% 1. erl::send from every thread

send_test_() ->
    {"erl::send works from every thread library code runs on",
     {setup,
      fun collector_start/0,
      fun(_) -> rust_hook_test_util:stop(), collector_stop() end,
      {timeout, 60, fun send_everywhere/0}}}.

send_everywhere() ->
    %% init runs on a dirty I/O scheduler.
    ok = rust_hook_test_util:start("safety_hooks", []),
    ?assertEqual({<<"init">>, true}, await(fun(M) -> element(1, M) =:= <<"init">> end)),
    %% inline, on this process's scheduler
    ?assertEqual(allow, emqx_hooks:run_fold('client.check_acl', [ci(<<"a">>), publish, <<"t/inline">>], deny)),
    ?assertEqual({<<"inline">>, <<"t/inline">>}, await(fun(M) -> element(1, M) =:= <<"inline">> end)),
    %% pool worker, a thread the library spawns, a task on the Tokio runtime
    Acc = #{auth_result => success, anonymous => true},
    ?assertMatch(#{auth_result := success}, emqx_hooks:run_fold('client.authenticate', [(ci(<<"p1">>))#{username => <<"thread">>}], Acc)),
    ?assertMatch(#{auth_result := success}, emqx_hooks:run_fold('client.authenticate', [(ci(<<"p2">>))#{username => <<"async">>}], Acc)),
    ?assertEqual({<<"pool">>, <<"p1">>}, await(fun(M) -> M =:= {<<"pool">>, <<"p1">>} end)),
    ?assertEqual({<<"thread">>, <<"p1">>}, await(fun(M) -> element(1, M) =:= <<"thread">> end)),
    ?assertEqual({<<"async">>, <<"p2">>}, await(fun(M) -> element(1, M) =:= <<"async">> end)),
    %% queue (notification shard)
    ok = emqx_hooks:run('client.connected', [ci(<<"q1">>), conninfo(<<"q1">>)]),
    ?assertMatch({<<"queue">>, _, _}, await(fun(M) -> element(1, M) =:= <<"queue">> end)),
    %% terminate runs on a dirty I/O scheduler too.
    rust_hook_test_util:stop(),
    ?assertEqual({<<"terminate">>, true}, await(fun(M) -> element(1, M) =:= <<"terminate">> end)),
    %% The VM is fine and the library loads again.
    ok = rust_hook_test_util:start("safety_hooks", []),
    ?assertEqual({<<"init">>, true}, await(fun(M) -> element(1, M) =:= <<"init">> end)).

%%--------------------------------------------------------------------------------------
%% 2. A `_name' parameter the body reads gets the real term

underscore_test_() ->
    with_safety([], [{"a queued hook reading its _clientinfo and _conninfo gets the real terms",
                      fun underscore_params/0}]).

underscore_params() ->
    ok = emqx_hooks:run('client.connected', [ci(<<"real-id">>), conninfo(<<"real-id">>)]),
    ?assertEqual({<<"queue">>, <<"real-id">>, 5},
                 await(fun(M) -> element(1, M) =:= <<"queue">> end)).
