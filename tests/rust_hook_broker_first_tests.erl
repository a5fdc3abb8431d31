%% @doc The broker comes first: hooks that block, panic or flood never stall a client
%% past call_timeout, never stall other processes or schedulers, never crash the VM and
%% never leave late replies in a mailbox; failures follow failed_action; notification
%% overflow is bounded, counted, and keeps each client's order. Real .so (native/
%% slow_hooks), real plugin, stand-in host.
-module(rust_hook_broker_first_tests).

-include_lib("eunit/include/eunit.hrl").

-define(ACC, #{auth_result => success, anonymous => true}).

ci(Username) -> ci(<<"c-", Username/binary>>, Username).
ci(ClientId, Username) ->
    #{clientid => ClientId, username => Username, password => undefined,
      peerhost => {127, 0, 0, 1}, protocol => mqtt, zone => external, sockport => 1883,
      is_bridge => false, is_superuser => false, mountpoint => undefined}.

auth(Username) ->
    emqx_hooks:run_fold('client.authenticate', [ci(Username)], ?ACC).

stat(Hook, Key) ->
    maps:get(Key, maps:get(Hook, emqx_rust_hook_nif:stats())).

with(Extra, Tests) ->
    rust_hook_test_util:with_plugin("slow_hooks", Extra, Tests).

%%--------------------------------------------------------------------------------------

timeout_test_() ->
    with(["exhook.drivers.rust.call_timeout = 100ms", "exhook.drivers.rust.init.sleep_ms = 2000"],
         [{"a 2 s callback with call_timeout 100 ms: fallback in ~100 ms, no late reply",
           {timeout, 30, fun timeout_fallback/0}}]).

timeout_fallback() ->
    Self = self(),
    Caller = spawn(fun() ->
                           T0 = erlang:monotonic_time(millisecond),
                           Result = auth(<<"slow">>),
                           Elapsed = erlang:monotonic_time(millisecond) - T0,
                           %% Wait past the callback's 2 s, then look at the mailbox.
                           timer:sleep(2500),
                           {messages, Mailbox} = process_info(self(), messages),
                           Self ! {caller, Result, Elapsed, Mailbox}
                   end),
    receive
        {caller, Result, Elapsed, Mailbox} ->
            ?assertEqual(?ACC, Result),            % failed_action = ignore: chain goes on
            ?assert(Elapsed >= 100),
            ?assert(Elapsed < 400),
            ?assertEqual([], Mailbox),
            ?assert(stat('client.authenticate', timeouts) >= 1)
    after 10000 -> error({no_answer, Caller})
    end.

%%--------------------------------------------------------------------------------------

concurrency_test_() ->
    with(["exhook.drivers.rust.call_timeout = 1s", "exhook.drivers.rust.pool_size = 8",
          "exhook.drivers.rust.init.sleep_ms = 300"],
         [{"1000 blocking calls stall no scheduler and no other client",
           {timeout, 60, fun thousand_blocking_calls/0}}]).

%% A process that wants to run every 10 ms and records how late it was.
ticker(Parent, Worst) ->
    T0 = erlang:monotonic_time(microsecond),
    receive
        stop -> Parent ! {worst_lateness_us, Worst}
    after 10 ->
        Late = erlang:monotonic_time(microsecond) - T0 - 10000,
        ticker(Parent, max(Worst, Late))
    end.

thousand_blocking_calls() ->
    Self = self(),
    Ticker = spawn(fun() -> ticker(Self, 0) end),
    T0 = erlang:monotonic_time(millisecond),
    Callers = [spawn(fun() -> Self ! {done, auth(<<"slow">>)} end) || _ <- lists:seq(1, 1000)],
    %% Meanwhile another client's hooks run: its ACL check (inline) and its login (pool,
    %% same hook) both answer; the login falls back after call_timeout at the latest.
    timer:sleep(50),
    {AclUs, allow} = timer:tc(fun() ->
                                       emqx_hooks:run_fold('client.check_acl',
                                                           [ci(<<"other">>), publish, <<"t/1">>], deny)
                               end),
    ?assert(AclUs < 50000),
    Results = [receive {done, R} -> R after 20000 -> error(caller_stuck) end || _ <- Callers],
    Elapsed = erlang:monotonic_time(millisecond) - T0,
    Ticker ! stop,
    Worst = receive {worst_lateness_us, W} -> W after 5000 -> error(no_ticker) end,
    %% Every caller got an answer within call_timeout (plus scheduling slack).
    ?assertEqual(1000, length(Results)),
    ?assert(Elapsed < 3000),
    %% Allowed (answered in time) or unchanged (timed out, failed_action = ignore).
    ?assert(lists:all(fun(R) -> R =:= ?ACC orelse maps:get(auth_result, R) =:= success end, Results)),
    ?assert(stat('client.authenticate', timeouts) > 0),
    %% No scheduler stall: the ticker was never late by more than 50 ms.
    ?assert(Worst < 50000).

%%--------------------------------------------------------------------------------------

panic_test_() ->
    with(["exhook.drivers.rust.call_timeout = 2s"],
         [{"a panic in each kind of hook: fallback, counted, VM alive", fun panic_each_kind/0},
          {timeout, 120, {"10k panics leave memory flat", fun panic_memory/0}}]).

panic_each_kind() ->
    %% pool (authenticate)
    P0 = stat('client.authenticate', panics),
    ?assertEqual(?ACC, auth(<<"panic">>)),
    ?assertEqual(P0 + 1, stat('client.authenticate', panics)),
    %% inline (check_acl): the running result is kept (ignore)
    A0 = stat('client.check_acl', panics),
    ?assertEqual(deny, emqx_hooks:run_fold('client.check_acl', [ci(<<"u">>), publish, <<"panic/x">>], deny)),
    ?assertEqual(A0 + 1, stat('client.check_acl', panics)),
    %% pool (message.publish): the message goes on unchanged
    M0 = stat('message.publish', panics),
    Msg = {message, <<1:128>>, 0, <<"c">>, #{}, #{}, <<"panic/m">>, <<"x">>, 1},
    ?assertEqual(Msg, emqx_hooks:run_fold('message.publish', [], Msg)),
    ?assertEqual(M0 + 1, stat('message.publish', panics)),
    %% queue (client.connected): the caller is not affected at all
    C0 = stat('client.connected', panics),
    ?assertEqual(ok, emqx_hooks:run('client.connected', [ci(<<"panic1">>, <<"u">>), #{connected_at => 1}])),
    wait_until(fun() -> stat('client.connected', panics) =:= C0 + 1 end),
    %% The library still works afterwards.
    ?assertMatch(#{auth_result := success, anonymous := false}, auth(<<"fine">>)).

rss_kb() ->
    {ok, Status} = file:read_file("/proc/self/status"),
    [Line] = [L || L <- binary:split(Status, <<"\n">>, [global]), binary:match(L, <<"VmRSS:">>) =/= nomatch],
    [_, Kb | _] = binary:split(Line, [<<" ">>, <<"\t">>], [global, trim_all]),
    binary_to_integer(Kb).

panic_memory() ->
    Panic = fun(N) ->
                    [deny = emqx_hooks:run_fold('client.check_acl', [ci(<<"u">>), publish, <<"panic/x">>], deny)
                     || _ <- lists:seq(1, N)],
                    ok
            end,
    %% Quiet the failure log for the loop (it is rate-limited anyway).
    logger:set_module_level(emqx_rust_hook_logger, none),
    try
        Panic(1000),
        erlang:garbage_collect(),
        Rss0 = rss_kb(),
        Beam0 = erlang:memory(total),
        P0 = stat('client.check_acl', panics),
        Panic(10000),
        erlang:garbage_collect(),
        ?assertEqual(P0 + 10000, stat('client.check_acl', panics)),
        GrowthKb = rss_kb() - Rss0,
        BeamGrowth = erlang:memory(total) - Beam0,
        ?debugFmt("10k panics: RSS +~p KiB, BEAM memory +~p bytes", [GrowthKb, BeamGrowth]),
        ?assert(GrowthKb < 8 * 1024),
        ?assert(BeamGrowth < 8 * 1024 * 1024)
    after
        logger:unset_module_level(emqx_rust_hook_logger)
    end.

wait_until(F) -> wait_until(F, 200).
wait_until(F, 0) -> ?assert(F());
wait_until(F, N) ->
    case F() of
        true -> ok;
        false -> timer:sleep(10), wait_until(F, N - 1)
    end.

%%--------------------------------------------------------------------------------------

observe_test_() ->
    with(["exhook.drivers.rust.init.notify_sleep_us = 200000"],
         [{"a queued fold hook observes without making the client wait", fun queued_fold/0}]).

queued_fold() ->
    rust_hook_test_util:flush_reports(),
    Msg = {message, <<1:128>>, 1, <<"pub">>, #{}, #{}, <<"t/q">>, <<"x">>, 1},
    {Us, Result} = timer:tc(fun() -> emqx_hooks:run_fold('message.delivered', [ci(<<"sub">>, <<"u">>)], Msg) end),
    %% The message goes on unchanged at once, although the hook takes 200 ms.
    ?assertEqual(Msg, Result),
    ?assert(Us < 50000),
    ?assertEqual([{<<"sub">>, <<"t/q">>}], rust_hook_test_util:await_reports_any(1)).

%%--------------------------------------------------------------------------------------

deny_test_() ->
    with(["exhook.drivers.rust.call_timeout = 100ms", "exhook.drivers.rust.failed_action = deny",
          "exhook.drivers.rust.init.sleep_ms = 500"],
         [{"failed_action = deny: deny on panic and on timeout", fun deny_policy/0}]).

deny_policy() ->
    Denied = #{auth_result => not_authorized, anonymous => false},
    ?assertEqual(Denied, auth(<<"panic">>)),
    ?assertEqual(Denied, auth(<<"slow">>)),
    ?assertEqual(deny, emqx_hooks:run_fold('client.check_acl', [ci(<<"u">>), publish, <<"panic/x">>], allow)),
    %% A client refused at login by the policy, through a whole CONNECT.
    ?assertEqual({error, not_authorized},
                 emqx_double_scenario:connect(#{clientid => <<"p1">>, username => <<"panic">>})).

override_test_() ->
    with(["exhook.drivers.rust.failed_action = ignore",
          "exhook.drivers.rust.failed_action.client_authenticate = deny"],
         [{"failed_action per hook overrides the driver's", fun override/0}]).

override() ->
    ?assertMatch(#{auth_result := not_authorized}, auth(<<"panic">>)),
    %% check_acl keeps the driver's ignore: the running result stays.
    ?assertEqual(allow, emqx_hooks:run_fold('client.check_acl', [ci(<<"u">>), publish, <<"panic/x">>], allow)).

ignore_test_() ->
    with(["exhook.drivers.rust.failed_action = ignore", "exhook.drivers.rust.call_timeout = 100ms",
          "exhook.drivers.rust.init.sleep_ms = 300"],
         [{"failed_action = ignore: the chain goes on to the next callback", fun ignore_policy/0}]).

ignore_policy() ->
    %% A later callback (priority -1, like the file ACL) decides after the failure.
    Later = fun(_CI, _PubSub, _Topic, _Acc) -> {stop, deny} end,
    ok = emqx_hooks:add('client.check_acl', Later, -1),
    try
        ?assertEqual(deny, emqx_hooks:run_fold('client.check_acl', [ci(<<"u">>), publish, <<"panic/x">>], allow))
    after
        emqx_hooks:del('client.check_acl', Later)
    end,
    ?assertEqual(?ACC, auth(<<"slow">>)).

%%--------------------------------------------------------------------------------------

overflow_test_() ->
    Conf = fun(Policy) ->
                   ["exhook.drivers.rust.notify_queue_size = 100", "exhook.drivers.rust.pool_size = 2",
                    "exhook.drivers.rust.overflow = " ++ Policy,
                    "exhook.drivers.rust.init.notify_sleep_us = 20000"]
           end,
    [with(Conf("drop_newest"),
          [{timeout, 60, {"notification overflow at 10x capacity: bounded, counted, ordered",
                          fun() -> overflow(drop_newest) end}}]),
     with(Conf("drop_oldest"),
          [{timeout, 60, {"overflow = drop_oldest keeps the newest events",
                          fun() -> overflow(drop_oldest) end}}])].

overflow(Policy) ->
    rust_hook_test_util:flush_reports(),
    D0 = stat('client.connected', dropped),
    Rss0 = rss_kb(),
    Clients = [<<"ord-", (integer_to_binary(I))/binary>> || I <- lists:seq(1, 10)],
    %% 1000 events, 10 clients, sequence numbers in connected_at; the caller never waits
    %% although each event takes the library 20 ms.
    {Us, _} = timer:tc(fun() ->
                               [ok = emqx_hooks:run('client.connected', [ci(C, <<"u">>), #{connected_at => Seq}])
                                || Seq <- lists:seq(1, 100), C <- Clients]
                       end),
    ?assert(Us div 1000 < 500),
    Dropped = stat('client.connected', dropped) - D0,
    %% What was queued (at most the capacity, 100) is handled: 50 per shard, 20 ms each.
    Handled = rust_hook_test_util:await_reports_any(1000 - Dropped),
    ?debugFmt("overflow (~p): ~p handled, ~p dropped, enqueue of 1000 took ~p us, RSS +~p KiB",
              [Policy, length(Handled), Dropped, Us, rss_kb() - Rss0]),
    ?assertEqual(1000, length(Handled) + Dropped),
    ?assert(Dropped >= 800),
    %% Each client's handled events are in the order they happened.
    [begin
         Seqs = [S || {Id, S} <- Handled, Id =:= C],
         ?assertEqual(lists:sort(Seqs), Seqs),
         %% drop_oldest makes room for new events, so every client's last one is handled.
         Policy =:= drop_oldest andalso ?assertEqual(100, lists:last(Seqs))
     end || C <- Clients],
    ?assert(rss_kb() - Rss0 < 16 * 1024).

%%--------------------------------------------------------------------------------------

async_test_() ->
    rust_hook_test_util:with_plugin(
      "async_hooks", ["exhook.drivers.rust.call_timeout = 100ms", "exhook.drivers.rust.pool_size = 1"],
      [{"async hooks: a future past call_timeout is dropped and frees its worker", fun async_deadline/0},
       {"async hooks: block_on is refused in an inline hook", fun async_inline_refused/0}]).

async_deadline() ->
    ?assertMatch(#{auth_result := success, anonymous := false}, auth(<<"fast">>)),
    {SlowUs, Slow} = timer:tc(fun() -> auth(<<"slow">>) end),
    ?assertEqual(?ACC, Slow),
    ?assert(SlowUs < 400000),
    %% The only worker is free again: the 2 s future was dropped at the deadline.
    {FastUs, Fast} = timer:tc(fun() -> auth(<<"fast">>) end),
    ?assertMatch(#{auth_result := success, anonymous := false}, Fast),
    ?assert(FastUs < 100000).

async_inline_refused() ->
    ?assertEqual(deny, emqx_hooks:run_fold('client.check_acl', [ci(<<"u">>), publish, <<"t">>], allow)).
