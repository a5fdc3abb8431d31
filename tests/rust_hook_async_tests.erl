%% @doc `async fn' hook methods and the elastic pool, through the real plugin with real
%% .so files (native/async_fn_hooks, native/slow_hooks) on the stand-in host. Ordering
%% and counters, not durations, decide; time bounds are generous hang detectors.
-module(rust_hook_async_tests).

-include_lib("eunit/include/eunit.hrl").
-include_lib("emqx_rust_hook/include/emqx_rust_hook.hrl").

-define(ACC, #{auth_result => success, anonymous => true}).
-define(TIMEOUT, 200).
%% The call_timeout of the 100 pending logins: long enough that all of them are pending
%% at once, and the 20 others answered, however busy the machine (ordering, not timing);
%% still shorter than their 3 s timer, so each falls back rather than finishing.
-define(LONG_TIMEOUT, 2000).

ci(ClientId, Username) ->
    #{clientid => ClientId, username => Username, password => undefined,
      peerhost => {127, 0, 0, 1}, protocol => mqtt, zone => external, sockport => 1883,
      is_bridge => false, is_superuser => false, mountpoint => undefined}.

auth(ClientId, Username) ->
    emqx_hooks:run_fold('client.authenticate', [ci(ClientId, Username)], ?ACC).
auth(Username) -> auth(<<"c-", Username/binary>>, Username).

stat(Hook, Key) ->
    maps:get(Key, maps:get(Hook, emqx_rust_hook_nif:stats())).

%% What failed_action = deny makes of a login.
-define(DENIED, #{auth_result := not_authorized, anonymous := false}).

%% Runs Fun in N processes at once; each sends {Tag, I, Result, Ms} when done.
spawn_calls(Tag, N, Fun) ->
    Self = self(),
    [spawn(fun() ->
                   T0 = erlang:monotonic_time(millisecond),
                   R = Fun(I),
                   Self ! {Tag, I, R, erlang:monotonic_time(millisecond) - T0}
           end) || I <- lists:seq(1, N)].

%% The next N messages tagged Tag or Other, in arrival order, as {Tag, I, Result, Ms}.
collect(N, Tags) -> collect(N, Tags, []).
collect(0, _, Acc) -> lists:reverse(Acc);
collect(N, Tags, Acc) ->
    receive
        {T, I, _R, Ms} = M when is_integer(I), is_integer(Ms) ->
            true = lists:member(T, Tags),
            collect(N - 1, Tags, [M | Acc])
    after 20000 -> error({hang, N, Acc})
    end.

await_stat(Hook, Key, Pred) -> await_stat(Hook, Key, Pred, 2000).
await_stat(Hook, Key, _Pred, 0) -> error({stat_never, Hook, Key, stat(Hook, Key)});
await_stat(Hook, Key, Pred, N) ->
    case Pred(stat(Hook, Key)) of
        true -> ok;
        false -> timer:sleep(5), await_stat(Hook, Key, Pred, N - 1)
    end.

%% The OS threads of this VM, by name.
threads() ->
    {ok, Tasks} = file:list_dir("/proc/self/task"),
    [case file:read_file("/proc/self/task/" ++ T ++ "/comm") of
         {ok, Comm} -> string:trim(Comm);
         _ -> <<>>
     end || T <- Tasks].

sdk_threads() -> [T || <<"rh_", _/binary>> = T <- threads()].

%% The SDK's threads once the ones that were just joined have left /proc (at most 5 s).
sdk_threads_settled() -> sdk_threads_settled(1000).
sdk_threads_settled(0) -> sdk_threads();
sdk_threads_settled(N) ->
    case sdk_threads() of
        [] -> [];
        _ -> timer:sleep(5), sdk_threads_settled(N - 1)
    end.

%%--------------------------------------------------------------------------------------

async_test_() ->
    rust_hook_test_util:with_plugin(
      "async_fn_hooks",
      ["exhook.drivers.rust.call_timeout = " ++ integer_to_list(?TIMEOUT) ++ "ms",
       "exhook.drivers.rust.failed_action.client_authenticate = deny",
       "exhook.drivers.rust.async_max_in_flight = 100"],
      {inorder,
       [{"an async fn that does not await answers at once, one that awaits is answered",
         fun ready_and_pending/0},
        {"an awaiting login falls back at call_timeout (failed_action deny)",
         fun falls_back_at_timeout/0},
        {"a panic before or after the first await is contained and counted",
         fun panics/0},
        {"an async notification does not hold its caller",
         fun notification/0},
        {"values borrowed from the arguments before a pending await are the client's "
         "after it, while the callers' heaps are collected and reused",
         {timeout, 60, fun held_across_await/0}},
        {"every field that hands out bytes (heap, off-heap and unaligned binaries, an "
         "iolist payload, headers, properties) is the client's after a pending await, "
         "read before it and again after it",
         {timeout, 60, fun all_fields_held_across_await/0}}]}).

%% The 100 pending logins, with their own call_timeout (see ?LONG_TIMEOUT).
async_pending_test_() ->
    rust_hook_test_util:with_plugin(
      "async_fn_hooks",
      ["exhook.drivers.rust.call_timeout = " ++ integer_to_list(?LONG_TIMEOUT) ++ "ms",
       "exhook.drivers.rust.failed_action.client_authenticate = deny",
       "exhook.drivers.rust.async_max_in_flight = 100"],
      [{"100 awaiting logins fall back after call_timeout, 20 others are answered first, "
        "every dropped future's Drop runs, the 101st is an overload",
        {timeout, 60, fun pending_do_not_block_others/0}}]).

ready_and_pending() ->
    ?assertEqual(async, mode('client.authenticate')),
    ?assertMatch(#{auth_result := success, anonymous := false}, auth(<<"fast">>)),
    %% AllowSuperuser comes after a 1 ms timer on the runtime.
    ?assertMatch(#{auth_result := success, is_superuser := true}, auth(<<"yield">>)),
    %% Its task ends right after answering.
    await_stat('client.authenticate', in_flight, fun(N) -> N =:= 0 end).

falls_back_at_timeout() ->
    rust_hook_test_util:flush_reports(),
    T0 = erlang:monotonic_time(millisecond),
    ?assertMatch(?DENIED, auth(<<"sleep">>)),
    Ms = erlang:monotonic_time(millisecond) - T0,
    %% Not before call_timeout; long before the 3 s timer (a hang detector, not a timing
    %% claim).
    ?assert(Ms >= ?TIMEOUT),
    ?assert(Ms < ?TIMEOUT * 10),
    %% The future was dropped: its Drop reported.
    ?assertEqual([{<<"drop">>, <<"c-sleep">>}], rust_hook_test_util:await_reports_any(1)),
    await_stat('client.authenticate', in_flight, fun(N) -> N =:= 0 end).

mode(Hook) ->
    #{hooks := Hooks} = emqx_rust_hook_driver:info(),
    hd([H#hook.mode || H <- Hooks, H#hook.name =:= Hook]).

pending_do_not_block_others() ->
    rust_hook_test_util:flush_reports(),
    Timeouts0 = stat('client.authenticate', timeouts),
    Overloads0 = stat('client.authenticate', overloads),
    Slow = spawn_calls(slow, 100, fun(I) -> auth(<<"sleep-", (integer_to_binary(I))/binary>>,
                                                 <<"sleep">>) end),
    await_stat('client.authenticate', in_flight, fun(N) -> N =:= 100 end),
    %% The bound: the 101st awaiting call fails at once, as an overload (its future is
    %% dropped: its Drop reports "c-sleep").
    ?assertMatch(?DENIED, auth(<<"sleep">>)),
    ?assertEqual(Overloads0 + 1, stat('client.authenticate', overloads)),
    %% 20 logins that do not await, while the 100 are pending.
    spawn_calls(fast, 20, fun(_) -> auth(<<"fast">>) end),
    Done = collect(120, [slow, fast]),
    {Fast, SlowDone} = lists:partition(fun(M) -> element(1, M) =:= fast end, Done),
    ?assertEqual(100, length(Slow)),
    ?assertEqual(100, length(SlowDone)),
    %% Every fast login was answered with its decision, before any awaiting login fell
    %% back (their answers came first), i.e. none waited behind them.
    [?assertMatch({fast, _, #{auth_result := success, anonymous := false}, _}, F) || F <- Fast],
    {FirstTwenty, _} = lists:split(20, Done),
    ?assertEqual(lists:sort(Fast), lists:sort(FirstTwenty)),
    %% The awaiting ones fell back (failed_action deny), not before call_timeout, and
    %% long before their 3 s timer (a generous bound, not a timing claim).
    [begin
         ?assertMatch(?DENIED, R),
         ?assert(Ms >= ?LONG_TIMEOUT),
         ?assert(Ms < ?LONG_TIMEOUT * 10)
     end || {slow, _, R, Ms} <- SlowDone],
    ?assertEqual(Timeouts0 + 100, stat('client.authenticate', timeouts)),
    %% Their futures were dropped: each Drop reported, and none is in flight any more.
    Drops = rust_hook_test_util:await_reports_any(101),
    ?assertEqual(lists:sort([[<<"drop">>, <<"c-sleep">>]
                             | [[<<"drop">>, <<"sleep-", (integer_to_binary(I))/binary>>]
                                || I <- lists:seq(1, 100)]]),
                 lists:sort([tuple_to_list(D) || D <- Drops, element(1, D) =:= <<"drop">>])),
    await_stat('client.authenticate', in_flight, fun(N) -> N =:= 0 end),
    %% No late answer reached a mailbox.
    receive Late -> error({late, Late}) after 0 -> ok end.

panics() ->
    P0 = stat('client.authenticate', panics),
    ?assertMatch(?DENIED, auth(<<"panic_before">>)),
    ?assertEqual(P0 + 1, stat('client.authenticate', panics)),
    ?assertMatch(?DENIED, auth(<<"panic_after">>)),
    ?assertEqual(P0 + 2, stat('client.authenticate', panics)),
    %% The hook still works.
    ?assertMatch(#{auth_result := success}, auth(<<"fast">>)).

notification() ->
    rust_hook_test_util:flush_reports(),
    %% Returns before the 1 ms timer of the method could have fired: its report comes later.
    ok = emqx_hooks:run('client.connected', [ci(<<"n1">>, <<"u">>), #{}]),
    [R] = rust_hook_test_util:await_reports_any(1),
    ?assertEqual({<<"connected">>, <<"n1">>}, R).

%% 50 logins whose futures hold borrowed client ids and usernames across an await. While
%% they wait, their processes are collected again and again (their heaps move) and other
%% processes allocate (the freed memory is reused), so a view into a caller's heap would
%% read something else. The ids are heap binaries (under 64 bytes) built at run time.
held_across_await() ->
    rust_hook_test_util:flush_reports(),
    N = 50,
    Ids = [iolist_to_binary(["held-", integer_to_list(I), "-",
                             integer_to_list(erlang:unique_integer([positive]))])
           || I <- lists:seq(1, N)],
    Callers = [spawn(fun() -> auth(Id, list_to_binary("hold")) end) || Id <- Ids],
    churn_until_done(Callers),
    Held = [R || R <- rust_hook_test_util:await_reports_any(N), element(1, R) =:= <<"held">>],
    ?assertEqual(lists:sort([{<<"held">>, Id, <<"hold">>} || Id <- Ids]), lists:sort(Held)).

all_fields_held_across_await() ->
    rust_hook_test_util:flush_reports(),
    N = 30,
    Cases = [held_case(I) || I <- lists:seq(1, N)],
    Callers = [spawn(fun() -> run_held_case(C) end) || C <- Cases],
    churn_until_done(Callers),
    Reports = rust_hook_test_util:await_reports_any(2 * N),
    Logins = lists:sort([R || R <- Reports, element(1, R) =:= <<"held_all">>]),
    Msgs = lists:sort([R || R <- Reports, element(1, R) =:= <<"held_msg">>]),
    ?assertEqual(lists:sort([Login || #{login := Login} <- Cases]), Logins),
    ?assertEqual(lists:sort([Msg || #{msg := Msg} <- Cases]), Msgs).

%% One login and one message, each with the report it must give. Binaries are built at
%% run time in the caller, of every shape: on the heap (64 bytes or less), off the heap,
%% an unaligned sub-binary, and an iolist payload.
held_case(I) ->
    U = integer_to_binary(erlang:unique_integer([positive])),
    Id = <<"ha-", U/binary>>,
    Password = binary:copy(<<"p", U/binary>>, 40),
    Mount = binary:part(binary:copy(<<"mount-", U/binary, "/">>, 20), 0, 100),
    <<_:1, Unaligned:100/binary, _:7>> = <<0:1, Mount/binary, 0:7>>,
    Topic = case I rem 2 of
                0 -> <<"hold/", U/binary>>;
                1 -> iolist_to_binary([<<"hold/">>, binary:copy(<<"long-", U/binary>>, 10)])
            end,
    {Payload, Expected} = case I rem 3 of
                              0 -> {<<"small-", U/binary>>, <<"small-", U/binary>>};
                              1 -> Big = binary:copy(<<"big-", U/binary>>, 30), {Big, Big};
                              2 -> Io = [<<"io-">>, U, "-tail"], {Io, iolist_to_binary(Io)}
                          end,
    From = <<"from-", U/binary>>,
    User = <<"hu-", U/binary>>,
    Value = <<"v-", U/binary>>,
    Headers = #{username => User, properties => #{'User-Property' => [{<<"k">>, Value}]}},
    #{ci => (ci(Id, <<"hold_all">>))#{password => Password, mountpoint => Unaligned},
      message => {message, <<7:128>>, 1, From, #{}, Headers, Topic, Payload, 1},
      login => {<<"held_all">>, Id, Password, Mount, true},
      msg => {<<"held_msg">>, Topic, Expected, From, User, Value, true}}.

run_held_case(#{ci := Ci, message := Msg}) ->
    #{auth_result := success} = emqx_hooks:run_fold('client.authenticate', [Ci], ?ACC),
    Msg = emqx_hooks:run_fold('message.publish', [], Msg).

%% Collects the callers' heaps and allocates garbage until every caller has returned.
churn_until_done(Callers) ->
    case [P || P <- Callers, is_process_alive(P)] of
        [] -> ok;
        Alive ->
            [erlang:garbage_collect(P) || P <- Alive],
            Junk = [spawn(fun() -> _ = [binary:copy(<<"x">>, 48) || _ <- lists:seq(1, 200)] end)
                    || _ <- lists:seq(1, 4)],
            _ = [erlang:garbage_collect(J) || J <- Junk],
            churn_until_done(Callers)
    end.

%%--------------------------------------------------------------------------------------

threads_test_() ->
    {setup,
     fun() -> rust_hook_test_util:probe_start() end,
     fun(_) -> rust_hook_test_util:stop(), rust_hook_test_util:probe_stop() end,
     {timeout, 120, fun ten_thousand_pending/0}}.

%% 10,000 pending async logins add no OS thread; unloading leaves no thread of the
%% library (`rh_*': pools, notification shards, the runtime) behind.
ten_thousand_pending() ->
    Conf = ["exhook.drivers.rust.call_timeout = 10s"],
    %% A first start and stop: what stays for the VM's life (the log thread) exists now.
    ok = rust_hook_test_util:start("async_fn_hooks", Conf),
    ok = rust_hook_test_util:stop(),
    ?assertEqual([], sdk_threads_settled()),
    Before = length(threads()),
    ok = rust_hook_test_util:start("async_fn_hooks", Conf),
    Running = length(threads()),
    Pids = spawn_calls(slow, 10000, fun(I) -> auth(<<"t-", (integer_to_binary(I))/binary>>,
                                                    <<"sleep">>) end),
    await_stat('client.authenticate', in_flight, fun(N) -> N =:= 10000 end, 20000),
    ?assertEqual(Running, length(threads())),
    ok = rust_hook_test_util:stop(),
    %% Unloading dropped the pending futures; their callers got an answer (the
    %% fallback, at once or at call_timeout).
    Done = collect(10000, [slow]),
    ?assertEqual(10000, length(Done)),
    ?assertEqual(10000, length(Pids)),
    ?assertEqual([], sdk_threads_settled()),
    ?assert(length(threads()) =< Before).

%%--------------------------------------------------------------------------------------

pool_test_() ->
    %% call_timeout 1 s: the pool grows after 250 ms; the margin to the fallback keeps
    %% the ordering below true on a loaded machine.
    rust_hook_test_util:with_plugin(
      "slow_hooks",
      ["exhook.drivers.rust.call_timeout = 1s",
       "exhook.drivers.rust.init.sleep_ms = 3000"],
      {timeout, 60, fun pool_grows_and_shrinks/0}).

%% A sync hook that blocks: while 100 blocking calls are pending, 20 other calls of the
%% same hook are answered with their decision (the pool grew past pool_size), before the
%% blocking ones fall back; afterwards the pool returns to pool_size threads.
pool_grows_and_shrinks() ->
    Base = stat('client.authenticate', workers),
    ?assertEqual(8, Base),
    Calls0 = stat('client.authenticate', calls),
    spawn_calls(slow, 100, fun(_) -> auth(<<"slow">>) end),
    %% The 100 are submitted (8 run, 92 wait) before the others come.
    await_stat('client.authenticate', calls, fun(N) -> N >= Calls0 + 100 end),
    spawn_calls(fast, 20, fun(_) -> auth(<<"fast">>) end),
    Done = collect(120, [slow, fast]),
    {Fast, Slow} = lists:partition(fun(M) -> element(1, M) =:= fast end, Done),
    [?assertMatch({fast, _, #{auth_result := success, anonymous := false}, _}, F) || F <- Fast],
    [?assertEqual(?ACC, R) || {slow, _, R, _} <- Slow],
    {FirstTwenty, _} = lists:split(20, Done),
    ?assertEqual(lists:sort(Fast), lists:sort(FirstTwenty)),
    ?assert(stat('client.authenticate', workers) > Base),
    %% The blocking calls end after 3 s; idle extra workers end 1 s later.
    await_stat('client.authenticate', workers, fun(N) -> N =:= Base end, 4000),
    %% The pool's threads and its grower ("rh_client_authenticate+"), names cut to 15 bytes.
    ?assertEqual(ok, await_true(fun() ->
        Base + 1 =:= length([T || <<"rh_client_authe", _/binary>> = T <- threads()])
    end, 1000)).

await_true(_, 0) -> timeout;
await_true(F, N) ->
    case F() of
        true -> ok;
        false -> timer:sleep(5), await_true(F, N - 1)
    end.
