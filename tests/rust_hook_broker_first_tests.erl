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

%% The library's gate (native/slow_hooks): callbacks that wait for it cannot return
%% until the test opens it, so "the caller did not wait for the callback" is a fact,
%% not a guess about durations.
gate(What) ->
    Topic = case What of close -> <<"gate/close">>; open -> <<"gate/open">> end,
    allow = emqx_hooks:run_fold('client.check_acl', [ci(<<"gate">>), publish, Topic], deny),
    ok.

with_gate_closed(Fun) ->
    ok = gate(close),
    try Fun() after gate(open) end.

%% Runs Fun and returns {Result, Holds}: every time one of the processes Fun names in
%% its `{Result, Pids}' held a scheduler for LimitMs or more in one go, from being
%% scheduled in to being scheduled out (a NIF call that does not return holds it), as
%% `{Pid, Ms}'. Measured by the VM itself (trace `running' events with their
%% timestamps; `erlang:trace_delivered/1' says when all of them have arrived), so it
%% is what the SDK controls, not how busy the machine is. The processes to watch are
%% spawned by Fun (new processes are traced from their start) or are the caller.
with_sched_monitor(LimitMs, Fun) ->
    Self = self(),
    Tracer = spawn(fun() -> trace_holds(#{}, []) end),
    Flags = [running, monotonic_timestamp, {tracer, Tracer}],
    erlang:trace(new_processes, true, Flags),
    erlang:trace(Self, true, Flags),
    try
        {Result, Pids} = Fun(),
        %% A hold is known when the process is scheduled out: wait for that.
        [scheduled_out(P, 1000) || P <- Pids, P =/= Self],
        erlang:trace(new_processes, false, [running]),
        [catch erlang:trace(P, false, [running]) || P <- Pids],
        Ref = erlang:trace_delivered(all),
        receive {trace_delivered, all, Ref} -> ok after 60000 -> error(trace_not_delivered) end,
        Tracer ! {holds, self(), Ref},
        Holds = receive {Ref, Hs} -> Hs after 60000 -> error(no_tracer) end,
        [P ! stop || P <- Pids, P =/= Self],
        {Result, [H || H = {Pid, Ms} <- Holds, Ms >= LimitMs, lists:member(Pid, Pids)]}
    after
        erlang:trace(new_processes, false, [running]),
        catch erlang:trace(Self, false, [running]),
        exit(Tracer, kill)
    end.

trace_holds(In, Holds) ->
    receive
        {trace_ts, Pid, Ev, _Where, Ts} when Ev =:= in; Ev =:= in_exiting ->
            trace_holds(In#{Pid => Ts}, Holds);
        {trace_ts, Pid, Ev, _Where, Ts} when Ev =:= out; Ev =:= out_exiting; Ev =:= out_exited ->
            case maps:take(Pid, In) of
                {T0, In1} ->
                    Ms = erlang:convert_time_unit(Ts - T0, native, millisecond),
                    trace_holds(In1, [{Pid, Ms} | Holds]);
                error -> trace_holds(In, Holds)
            end;
        {holds, From, Ref} -> From ! {Ref, Holds};
        _ -> trace_holds(In, Holds)
    end.

%% Waits until Pid waits in a receive (or is gone); 10 ms steps, N at most.
scheduled_out(Pid, 0) -> error({still_running, Pid});
scheduled_out(Pid, N) ->
    case process_info(Pid, status) of
        {status, waiting} -> ok;
        undefined -> ok;
        _ -> timer:sleep(10), scheduled_out(Pid, N - 1)
    end.

%% The bound: call_timeout of the concurrency tests. The stall these tests look for (a
%% call that waits for a callback the gate holds) would last as long as the gate is
%% closed, at least call_timeout; the OS preempting a busy machine's scheduler thread
%% costs milliseconds to a few hundred (measured: up to 255 ms with two busy loops
%% beside a full test run on 2 cores).
-define(SCHED_LIMIT_MS, 1000).

%%--------------------------------------------------------------------------------------

timeout_test_() ->
    with(["exhook.drivers.rust.call_timeout = 100ms", "exhook.drivers.rust.pool_size = 1"],
         [{"a callback held past call_timeout: fallback after call_timeout, no late reply",
           {timeout, 60, fun timeout_fallback/0}}]).

timeout_fallback() ->
    Self = self(),
    ok = gate(close),
    Caller = spawn(fun() ->
                           T0 = erlang:monotonic_time(millisecond),
                           Result = auth(<<"gated">>),
                           Self ! {fallback, Result, erlang:monotonic_time(millisecond) - T0},
                           receive go_on -> ok end,
                           %% The only worker answers this caller again once it is done
                           %% with the held call; a late reply to it would be in the
                           %% mailbox before that answer.
                           Answered = answered_after_worker_free(50),
                           {messages, Mailbox} = process_info(self(), messages),
                           Self ! {caller, Answered, Mailbox}
                   end),
    try
        receive
            {fallback, Result, Elapsed} ->
                %% failed_action = ignore: the chain goes on; not before call_timeout, and
                %% without waiting for the callback, which the closed gate still holds.
                ?assertEqual(?ACC, Result),
                ?assert(Elapsed >= 100),
                ?assert(stat('client.authenticate', timeouts) >= 1)
        after 10000 -> error({no_fallback, Caller})
        end
    after
        gate(open)
    end,
    Caller ! go_on,
    receive
        {caller, Answered, Mailbox} ->
            ?assertMatch(#{auth_result := success, anonymous := false}, Answered),
            ?assertEqual([], Mailbox)
    after 30000 -> error({no_answer, Caller})
    end.

%% Calls until the library itself answers (not the timeout fallback); at most N tries
%% of call_timeout each (hang detection).
answered_after_worker_free(0) -> error(worker_never_free);
answered_after_worker_free(N) ->
    case auth(<<"fast">>) of
        Fallback when Fallback =:= ?ACC -> answered_after_worker_free(N - 1);
        Answer -> Answer
    end.

%%--------------------------------------------------------------------------------------

concurrency_test_() ->
    with(["exhook.drivers.rust.call_timeout = 1s", "exhook.drivers.rust.pool_size = 8",
          "exhook.drivers.rust.init.sleep_ms = 1500"],
         [{"the scheduler monitor sees an inline hook that blocks its scheduler",
           fun monitor_sees_blocking_inline/0},
          {"1000 held pool calls hold no scheduler and no other client",
           {timeout, 120, fun thousand_blocking_calls/0}}]).

%% The check below can fail: an inline hook that sleeps 1.5 s on the calling
%% scheduler (a library bug the SDK cannot prevent) is seen by the monitor.
monitor_sees_blocking_inline() ->
    Self = self(),
    {allow, Events} =
        with_sched_monitor(
          ?SCHED_LIMIT_MS,
          fun() ->
                  %% A process scheduled in after the monitor is on (the monitor times a
                  %% process from the moment it is scheduled in).
                  Caller = spawn(fun() ->
                                         Self ! {acl, self(), emqx_hooks:run_fold(
                                                                'client.check_acl',
                                                                [ci(<<"u">>), publish, <<"block/x">>],
                                                                deny)},
                                         receive stop -> ok end
                                 end),
                  receive {acl, Caller, R} -> {R, [Caller]} after 10000 -> error(no_answer) end
          end),
    ?assertMatch([{_, Ms}] when Ms >= 1500, Events).

thousand_blocking_calls() ->
    Self = self(),
    T0 = stat('client.authenticate', timeouts),
    O0 = stat('client.authenticate', overloads),
    {Results, Holds} =
        with_sched_monitor(
          0,
          fun() ->
                  with_gate_closed(
                    fun() ->
                            Callers = [spawn(fun() ->
                                                     Self ! {done, self(), timed_auth(<<"gated">>)},
                                                     receive stop -> ok end
                                             end)
                                       || _ <- lists:seq(1, 1000)],
                            Rs = [receive {done, C, R} -> R after 30000 -> error(caller_stuck) end
                                  || C <- Callers],
                            %% Every worker still holds a call (the gate is closed), yet
                            %% another client's inline ACL check answers, and its login
                            %% (pool) falls back after call_timeout.
                            ?assertEqual(allow, emqx_hooks:run_fold(
                                                  'client.check_acl',
                                                  [ci(<<"other">>), publish, <<"t/1">>], deny)),
                            Other = timed_auth(<<"fast">>),
                            ?assertEqual(?ACC, element(1, Other)),
                            {[Other | Rs], [Self | Callers]}
                    end)
          end),
    Timeouts = stat('client.authenticate', timeouts) - T0,
    Overloads = stat('client.authenticate', overloads) - O0,
    ?debugFmt("1001 held calls: ~p timed out, ~p refused (queue full)", [Timeouts, Overloads]),
    %% Every caller got the fallback (failed_action = ignore): none was answered, since
    %% the gate held every callback; each either waited call_timeout or was refused at
    %% once because the queue was full.
    ?assertEqual(1001, length(Results)),
    ?assert(lists:all(fun({R, _Ms}) -> R =:= ?ACC end, Results)),
    ?assertEqual(1001, Timeouts + Overloads),
    ?assert(Timeouts > 0),
    ?assert(length([Ms || {_, Ms} <- Results, Ms >= 1000]) >= Timeouts),
    %% No scheduler was held past the limit by any caller (each was measured: every
    %% caller was scheduled in and out at least once).
    ?debugFmt("~p holds measured, the longest ~p ms",
              [length(Holds), lists:max([Ms || {_, Ms} <- Holds])]),
    ?assert(length(lists:usort([P || {P, _} <- Holds])) >= 1001),
    ?assertEqual([], [H || H = {_, Ms} <- Holds, Ms >= ?SCHED_LIMIT_MS]).

timed_auth(Username) ->
    T0 = erlang:monotonic_time(millisecond),
    R = auth(Username),
    {R, erlang:monotonic_time(millisecond) - T0}.

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

%% Polls F every 10 ms; up to 10 s (hang detection).
wait_until(F) -> wait_until(F, 1000).
wait_until(F, 0) -> ?assert(F());
wait_until(F, N) ->
    case F() of
        true -> ok;
        false -> timer:sleep(10), wait_until(F, N - 1)
    end.

%%--------------------------------------------------------------------------------------

observe_test_() ->
    with([], [{"a queued fold hook observes without making the client wait", fun queued_fold/0}]).

queued_fold() ->
    rust_hook_test_util:flush_reports(),
    Msg = {message, <<1:128>>, 1, <<"pub">>, #{}, #{}, <<"gated/q">>, <<"x">>, 1},
    with_gate_closed(
      fun() ->
              Result = emqx_hooks:run_fold('message.delivered', [ci(<<"sub">>, <<"u">>)], Msg),
              %% The message goes on unchanged while the hook is still held by the gate.
              ?assertEqual(Msg, Result),
              ?assertEqual([], rust_hook_test_util:reports())
      end),
    ?assertEqual([{<<"sub">>, <<"gated/q">>}], rust_hook_test_util:await_reports_any(1)).

%%--------------------------------------------------------------------------------------

deny_test_() ->
    with(["exhook.drivers.rust.call_timeout = 100ms", "exhook.drivers.rust.failed_action = deny"],
         [{"failed_action = deny: deny on panic and on timeout", fun deny_policy/0}]).

deny_policy() ->
    Denied = #{auth_result => not_authorized, anonymous => false},
    ?assertEqual(Denied, auth(<<"panic">>)),
    %% A callback the gate holds past call_timeout.
    ?assertEqual(Denied, with_gate_closed(fun() -> auth(<<"gated">>) end)),
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
    with(["exhook.drivers.rust.failed_action = ignore", "exhook.drivers.rust.call_timeout = 100ms"],
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
    ?assertEqual(?ACC, with_gate_closed(fun() -> auth(<<"gated">>) end)).

%%--------------------------------------------------------------------------------------

overflow_test_() ->
    Conf = fun(Policy) ->
                   ["exhook.drivers.rust.notify_queue_size = 100", "exhook.drivers.rust.pool_size = 2",
                    "exhook.drivers.rust.overflow = " ++ Policy]
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
    Clients = [<<"gated-ord-", (integer_to_binary(I))/binary>> || I <- lists:seq(1, 10)],
    %% 1000 events, 10 clients, sequence numbers in connected_at, while the gate holds
    %% the library's callback: every call returns although none of its events can have
    %% been handled, so the caller never waits for the library.
    Dropped = with_gate_closed(
                fun() ->
                        [ok = emqx_hooks:run('client.connected', [ci(C, <<"u">>), #{connected_at => Seq}])
                         || Seq <- lists:seq(1, 100), C <- Clients],
                        stat('client.connected', dropped) - D0
                end),
    %% What was queued (the capacity, 100, and one event per worker) is handled.
    Handled = rust_hook_test_util:await_reports_any(1000 - Dropped),
    ?debugFmt("overflow (~p): ~p handled, ~p dropped, RSS +~p KiB",
              [Policy, length(Handled), Dropped, rss_kb() - Rss0]),
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
    T0 = erlang:monotonic_time(millisecond),
    {Slow, SlowMs} = timed_auth(<<"slow">>),
    %% The fallback, not before call_timeout, and not after the 2 s future.
    ?assertEqual(?ACC, Slow),
    ?assert(SlowMs >= 100),
    ?assert(SlowMs < 2000),
    %% The only worker answers again while the 2 s future would still be running: it
    %% was dropped at the deadline. (A worker still busy with it would make this call
    %% fall back after call_timeout.)
    Fast = auth(<<"fast">>),
    ?assertMatch(#{auth_result := success, anonymous := false}, Fast),
    ?assert(erlang:monotonic_time(millisecond) - T0 < 2000).

async_inline_refused() ->
    ?assertEqual(deny, emqx_hooks:run_fold('client.check_acl', [ci(<<"u">>), publish, <<"t">>], allow)).
