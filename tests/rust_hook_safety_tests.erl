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

%% A logger handler (log/2) that stands for a slow log destination in the flood test.
-export([log/2]).

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

%%--------------------------------------------------------------------------------------
%% 3. Terms nested a million deep, in every mode

-define(DEEP, 1000000).

deep_tuple(N) -> lists:foldl(fun(_, Acc) -> {Acc} end, leaf, lists:seq(1, N)).
deep_list(N) -> lists:foldl(fun(_, Acc) -> [Acc] end, <<"x">>, lists:seq(1, N)).
deep_map(N) -> lists:foldl(fun(_, Acc) -> #{k => Acc} end, leaf, lists:seq(1, N)).

msg(Topic, Payload) -> {message, <<7:128>>, 1, <<"pub">>, #{}, #{}, Topic, Payload, 1}.

%% The text a hook saw for a deep reason: the first levels, then the fallback `...'.
assert_bounded_reason(Open, Text) ->
    ?assert(is_binary(Text)),
    ?assert(byte_size(Text) < 2048),
    ?assertEqual(binary:copy(Open, 32), binary:part(Text, 0, 32)),
    ?assertNotEqual(nomatch, binary:match(Text, <<"...">>)),
    ?assertEqual(nomatch, binary:match(Text, <<"leaf">>)).

%% test_hooks gives its hooks no mode (the default, auto, runs them inline): these tests
%% are about the copies made for the workers, so they put every hook there.
pool_and_queue() ->
    [["exhook.drivers.rust.mode.", H, " = ", M]
     || {Hs, M} <- [{["client_connect", "client_connack", "client_authenticate",
                      "client_check_acl", "client_subscribe", "client_unsubscribe",
                      "message_publish", "message_delivered"], "pool"},
                    {["client_connected", "client_disconnected", "session_created",
                      "session_subscribed", "session_unsubscribed", "session_resumed",
                      "session_discarded", "session_takeovered", "session_terminated",
                      "message_acked", "message_dropped"], "queue"}],
        H <- Hs].

deep_queue_pool_test_() ->
    rust_hook_test_util:with_plugin(
      "test_hooks", pool_and_queue(),
      [{timeout, 120, {"1,000,000-deep reasons and payloads, queued and pool hooks (test_hooks)",
                       fun deep_queue_pool/0}}]).

deep_queue_pool() ->
    rust_hook_test_util:flush_reports(),
    Deep = deep_tuple(?DEEP),
    CI = ci(<<"deep">>),
    %% client.disconnected (queue)
    ok = emqx_hooks:run('client.disconnected', [CI, Deep, conninfo(<<"deep">>)]),
    [D] = rust_hook_test_util:await_reports(<<"client.disconnected">>, 1),
    assert_bounded_reason(<<"{">>, rust_hook_test_util:get(<<"reason">>, D)),
    %% session.terminated (queue), a deep list this time
    ok = emqx_hooks:run('session.terminated', [CI, deep_list(?DEEP), #{}]),
    [T] = rust_hook_test_util:await_reports(<<"session.terminated">>, 1),
    assert_bounded_reason(<<"[">>, rust_hook_test_util:get(<<"reason">>, T)),
    %% message.dropped (queue), a deep map
    ok = emqx_hooks:run('message.dropped', [msg(<<"nosub/x">>, <<"p">>), #{node => node()}, deep_map(?DEEP)]),
    [Dr] = rust_hook_test_util:await_reports(<<"message.dropped">>, 1),
    DrText = rust_hook_test_util:get(<<"reason">>, Dr),
    ?assert(byte_size(DrText) < 2048),
    ?assertMatch(<<"#{k => #{k => ", _/binary>>, DrText),
    ?assertNotEqual(nomatch, binary:match(DrText, <<"...">>)),
    %% A million-deep iolist payload: message.publish and message.delivered (pool)
    %% and message.acked (queue) see the fallback, an empty payload; the message goes on
    %% unchanged.
    DeepPayload = deep_list(?DEEP),
    M = msg(<<"t/deep">>, DeepPayload),
    ?assertEqual(M, emqx_hooks:run_fold('message.publish', [], M)),
    [P] = rust_hook_test_util:await_reports(<<"message.publish">>, 1),
    ?assertEqual(<<>>, rust_hook_test_util:get([<<"message">>, <<"payload">>], P)),
    ?assertEqual(M, emqx_hooks:run_fold('message.delivered', [CI], M)),
    [Dv] = rust_hook_test_util:await_reports(<<"message.delivered">>, 1),
    ?assertEqual(<<>>, rust_hook_test_util:get([<<"message">>, <<"payload">>], Dv)),
    ok = emqx_hooks:run('message.acked', [CI, M]),
    [A] = rust_hook_test_util:await_reports(<<"message.acked">>, 1),
    ?assertEqual(<<>>, rust_hook_test_util:get([<<"message">>, <<"payload">>], A)),
    %% A changed message cannot be built from a payload that was not copied: refused,
    %% and the message goes on unchanged (failed_action = ignore).
    Up = msg(<<"rewrite/deep">>, DeepPayload),
    ?assertEqual(Up, emqx_hooks:run_fold('message.publish', [], Up)),
    %% A deep value under a header key another plugin added (contract 2.5: any term),
    %% queued: the call is not copied and fails at once, counted; the VM stays up.
    Ack0 = stat('message.acked', errors),
    ok = emqx_hooks:run('message.acked', [CI, setelement(6, msg(<<"t/h">>, <<"p">>), #{junk => Deep})]),
    ?assertEqual(Ack0 + 1, stat('message.acked', errors)),
    %% A deep term anywhere else in a pool call's arguments is not copied: the call
    %% fails at once (failed_action = ignore) and is counted.
    E0 = stat('client.authenticate', errors),
    Acc = #{auth_result => success, anonymous => true},
    ?assertEqual(Acc, emqx_hooks:run_fold('client.authenticate', [CI#{junk => Deep}], Acc)),
    ?assertEqual(E0 + 1, stat('client.authenticate', errors)),
    %% The library still works.
    ?assertMatch(#{auth_result := success, anonymous := false},
                 emqx_hooks:run_fold('client.authenticate', [CI#{password => <<"secret">>}], Acc)).

deep_inline_test_() ->
    with_safety([], [{timeout, 120, {"1,000,000-deep reasons and payloads, inline hooks (safety_hooks)",
                                     fun deep_inline/0}}]).

deep_inline() ->
    Deep = deep_tuple(?DEEP),
    CI = ci(<<"deep">>),
    ok = emqx_hooks:run('client.disconnected', [CI, Deep, conninfo(<<"deep">>)]),
    {_, D} = await(fun(M) -> element(1, M) =:= <<"client.disconnected">> end),
    assert_bounded_reason(<<"{">>, D),
    ok = emqx_hooks:run('session.terminated', [CI, deep_list(?DEEP), #{}]),
    {_, T} = await(fun(M) -> element(1, M) =:= <<"session.terminated">> end),
    assert_bounded_reason(<<"[">>, T),
    ok = emqx_hooks:run('message.dropped', [msg(<<"x">>, <<"p">>), #{node => node()}, Deep]),
    {_, Dr} = await(fun(M) -> element(1, M) =:= <<"message.dropped">> end),
    assert_bounded_reason(<<"{">>, Dr),
    %% A wide reason: a million elements, decoded up to the term bound.
    ok = emqx_hooks:run('client.disconnected', [CI, list_to_tuple(lists:seq(1, ?DEEP)), #{}]),
    {_, W} = await(fun(M) -> element(1, M) =:= <<"client.disconnected">> end),
    ?assert(byte_size(W) < 8192),
    ?assertMatch(<<"{1,2,3,", _/binary>>, W),
    ?assertEqual(<<",...}">>, binary:part(W, byte_size(W) - 5, 5)),
    %% A deep header value inline: headers are read by key, never walked.
    MH = setelement(6, msg(<<"t/h">>, <<"abc">>), #{junk => Deep}),
    ?assertEqual(MH, emqx_hooks:run_fold('message.publish', [], MH)),
    ?assertEqual({<<"message.publish">>, 3}, await(fun(X) -> element(1, X) =:= <<"message.publish">> end)),
    M = msg(<<"t/deep">>, deep_list(?DEEP)),
    ?assertEqual(M, emqx_hooks:run_fold('message.publish', [], M)),
    ?assertEqual({<<"message.publish">>, 0}, await(fun(X) -> element(1, X) =:= <<"message.publish">> end)),
    %% A bounded iolist payload is flattened when read.
    M2 = msg(<<"t/io">>, [<<"ab">>, [$c, [<<"d">>]]]),
    ?assertEqual(M2, emqx_hooks:run_fold('message.publish', [], M2)),
    ?assertEqual({<<"message.publish">>, 4}, await(fun(X) -> element(1, X) =:= <<"message.publish">> end)).

stat(Hook, Key) ->
    maps:get(Key, maps:get(Hook, emqx_rust_hook_nif:stats())).

%%--------------------------------------------------------------------------------------
%% 4. Bounds on the hook path

bounds_test_() ->
    rust_hook_test_util:with_plugin(
      "test_hooks", pool_and_queue(),
      [{timeout, 60, {"filter lists, User-Property lists and subscriptions are bounded",
                      fun bounded_lists/0}},
       {timeout, 60, {"the copy bound is exact: 20,000 terms are copied, 20,001 are not",
                      fun copy_bound_exact/0}}]).

%% The terms the copy bound counts (`bounds::fits'): every term once, every list cell
%% once more.
copy_terms(T) when is_tuple(T) -> 1 + lists:sum([copy_terms(E) || E <- tuple_to_list(T)]);
copy_terms(M) when is_map(M) ->
    1 + lists:sum([copy_terms(K) + copy_terms(V) || {K, V} <- maps:to_list(M)]);
copy_terms(L) when is_list(L) -> 1 + lists:sum([1 + copy_terms(E) || E <- L]);
copy_terms(_) -> 1.

%% Mostly immediates (atoms, small integers), which the bound counts from their tag,
%% around a binary and a tuple.
copy_bound_exact() ->
    rust_hook_test_util:flush_reports(),
    CI = ci(<<"bound">>),
    Pad = [case I rem 3 of 0 -> a; 1 -> I; 2 -> <<"b">> end || I <- lists:seq(1, 9997)],
    Fits = #{pad => Pad, t => {a}},
    Over = #{pad => Pad, t => {a, b}},
    ?assertEqual(20000, copy_terms(Fits)),
    ?assertEqual(20001, copy_terms(Over)),
    E0 = stat('session.created', errors),
    ok = emqx_hooks:run('session.created', [CI, Over]),
    ?assertEqual(E0 + 1, stat('session.created', errors)),
    ok = emqx_hooks:run('session.created', [CI, Fits]),
    [_] = rust_hook_test_util:await_reports(<<"session.created">>, 1),
    ?assertEqual(E0 + 1, stat('session.created', errors)).

filters(N) ->
    [{<<"f/", (integer_to_binary(I))/binary>>, #{qos => 0, rh => 0, rap => 0, nl => 0}}
     || I <- lists:seq(1, N)].

bounded_lists() ->
    rust_hook_test_util:flush_reports(),
    CI = ci(<<"b">>),
    %% 1024 filters are decoded and seen by the hook.
    ?assertEqual(filters(1024), emqx_hooks:run_fold('client.subscribe', [CI, #{}], filters(1024))),
    [S] = rust_hook_test_util:await_reports(<<"client.subscribe">>, 1),
    ?assertEqual(1024, length(rust_hook_test_util:get(<<"filters">>, S))),
    %% 100,000 filters: the call fails at once (counted), the list goes on unchanged.
    E0 = stat('client.subscribe', errors),
    Big = filters(100000),
    ?assertEqual(Big, emqx_hooks:run_fold('client.subscribe', [CI, #{}], Big)),
    ?assertEqual(E0 + 1, stat('client.subscribe', errors)),
    %% It did not run: the report of a later call is the only one.
    _ = emqx_hooks:run_fold('client.subscribe', [CI, #{}], filters(1)),
    [S1] = rust_hook_test_util:await_reports(<<"client.subscribe">>, 1),
    ?assertEqual(1, length(rust_hook_test_util:get(<<"filters">>, S1))),
    %% 3,000 User-Property pairs: the hook sees the first 1024.
    Pairs = [{<<"k">>, integer_to_binary(I)} || I <- lists:seq(1, 3000)],
    Props = #{'User-Property' => Pairs},
    _ = emqx_hooks:run_fold('client.connect', [conninfo(<<"b">>)], Props),
    [C] = rust_hook_test_util:await_reports(<<"client.connect">>, 1),
    #{<<"User-Property">> := {<<"Pairs">>, Seen}} = rust_hook_test_util:get(<<"props">>, C),
    ?assertEqual(1024, length(Seen)),
    ?assertEqual({<<"k">>, <<"1024">>}, lists:last(Seen)),
    %% 100,000 pairs are past the copy bound of a pool call: it fails at once, counted.
    E2 = stat('client.connect', errors),
    Huge = #{'User-Property' => [{<<"k">>, <<"v">>} || _ <- lists:seq(1, 100000)]},
    ?assertEqual(Huge, emqx_hooks:run_fold('client.connect', [conninfo(<<"b">>)], Huge)),
    ?assertEqual(E2 + 1, stat('client.connect', errors)),
    %% A session with 5,000 subscriptions: the hook sees 1024 of them. (The sessinfo
    %% holds ~20,000 terms, past the copy bound: the queued call fails, counted.)
    Subs = maps:from_list([{<<"s/", (integer_to_binary(I))/binary>>, #{qos => 0}}
                           || I <- lists:seq(1, 5000)]),
    E1 = stat('session.created', errors),
    ok = emqx_hooks:run('session.created', [CI, #{subscriptions => Subs}]),
    ?assertEqual(E1 + 1, stat('session.created', errors)),
    Subs2 = maps:from_list([{<<"s/", (integer_to_binary(I))/binary>>, #{qos => 0}}
                            || I <- lists:seq(1, 2000)]),
    ok = emqx_hooks:run('session.created', [CI, #{subscriptions => Subs2}]),
    [Sc] = rust_hook_test_util:await_reports(<<"session.created">>, 1),
    ?assertEqual(1024, length(rust_hook_test_util:get([<<"sessinfo">>, <<"subscriptions">>], Sc))).

%%--------------------------------------------------------------------------------------
%% 5. A log flood from a hook

-define(FLOOD, 1000000).

log_flood_test_() ->
    with_safety([], [{timeout, 300, {"1,000,000 log lines in a burst: memory and the logger's mailbox stay bounded, drops are counted",
                                     fun log_flood/0}},
                     {"a log line is cut at 4096 bytes, counted", fun long_line/0}]).

long_line() ->
    #{cut := C0} = emqx_rust_hook_nif:log_stats(),
    #{level := PrimaryLevel} = logger:get_primary_config(),
    ok = logger:set_primary_config(level, info),
    {_, Logs} = try
                    rust_hook_test_util:capture_logs(
                      fun() ->
                              ok = emqx_hooks:run('session.created', [ci(<<"long">>), #{created_at => 1000000}]),
                              await(fun(M) -> element(1, M) =:= <<"logged">> end),
                              wait_drained(erlang:monotonic_time(millisecond) + 10000)
                      end)
                after
                    logger:set_primary_config(level, PrimaryLevel)
                end,
    Long = [T || #{text := T} <- Logs, binary:match(T, <<"long ">>) =/= nomatch],
    ?assertEqual(2, length(Long)),
    [begin
         ?assert(byte_size(T) < 4096 + 100),
         ?assertNotEqual(nomatch, binary:match(T, <<"... [cut ">>))
     end || T <- Long],
    #{cut := C1} = emqx_rust_hook_nif:log_stats(),
    ?assertEqual(C0 + 2, C1).

%% @doc A slow log destination: 20 us per line, counted.
log(#{msg := {Fmt, Args}}, #{config := #{counter := C}}) ->
    case lists:flatten(io_lib:format(Fmt, Args)) of
        "safety_hooks: flood line " ++ _ -> counters:add(C, 1, 1);
        _ -> ok
    end,
    Until = erlang:monotonic_time(microsecond) + 20,
    spin(Until);
log(_Event, _Config) ->
    ok.

spin(Until) ->
    case erlang:monotonic_time(microsecond) < Until of
        true -> spin(Until);
        false -> ok
    end.

%% Samples the logger's mailbox and the VM's memory until told to stop.
sampler(Parent, MaxQ, MaxMem) ->
    receive
        stop -> Parent ! {sampled, MaxQ, MaxMem}
    after 5 ->
        Q = case process_info(whereis(emqx_rust_hook_logger), message_queue_len) of
                {message_queue_len, N} -> N;
                undefined -> 0
            end,
        sampler(Parent, max(MaxQ, Q), max(MaxMem, erlang:memory(total)))
    end.

log_flood() ->
    Counter = counters:new(1, []),
    {ok, #{level := DefaultLevel}} = logger:get_handler_config(default),
    #{level := PrimaryLevel} = logger:get_primary_config(),
    ok = logger:set_handler_config(default, level, error),
    ok = logger:set_primary_config(level, info),
    ok = logger:add_handler(rust_hook_slow_sink, ?MODULE,
                            #{level => info, config => #{counter => Counter}}),
    try
        #{dropped := D0} = emqx_rust_hook_nif:log_stats(),
        erlang:garbage_collect(),
        Mem0 = erlang:memory(total),
        Self = self(),
        Sampler = spawn(fun() -> sampler(Self, 0, Mem0) end),
        ok = emqx_hooks:run('session.created', [ci(<<"flood">>), #{created_at => ?FLOOD}]),
        ?assertEqual({<<"flooded">>, true},
                     await(fun(M) -> element(1, M) =:= <<"flooded">> end, erlang:monotonic_time(millisecond) + 120000)),
        %% Everything not dropped reaches the logger, then the window is empty.
        wait_drained(erlang:monotonic_time(millisecond) + 60000),
        Sampler ! stop,
        {MaxQ, MaxMem} = receive {sampled, Q, M} -> {Q, M} after 5000 -> error(no_sampler) end,
        #{dropped := D1} = emqx_rust_hook_nif:log_stats(),
        Dropped = D1 - D0,
        Written = counters:get(Counter, 1),
        ?debugFmt("log flood: ~p lines written, ~p dropped, logger mailbox max ~p messages, "
                  "VM memory max +~p KiB", [Written, Dropped, MaxQ, (MaxMem - Mem0) div 1024]),
        %% Every line is either written or counted as dropped.
        ?assertEqual(?FLOOD, Written + Dropped),
        ?assert(Dropped > 0),
        %% At most 1,000 lines (in batches of 1 to 100) wait in the logger's mailbox.
        %% (Without the window: 5,721 batches of up to 100 lines, +221 MB.)
        ?assert(MaxQ =< 1000),
        ?assert(MaxMem - Mem0 < 64 * 1024 * 1024),
        %% The drops are visible in the stats command.
        Stats = lists:flatten(emqx_ctl:run_command(["rust_hook", "stats"])),
        ?assertNotEqual(nomatch, string:find(Stats, "dropped=" ++ integer_to_list(D1)))
    after
        logger:remove_handler(rust_hook_slow_sink),
        logger:set_primary_config(level, PrimaryLevel),
        logger:set_handler_config(default, level, DefaultLevel)
    end.

wait_drained(Deadline) ->
    {message_queue_len, Q} = process_info(whereis(emqx_rust_hook_logger), message_queue_len),
    case {emqx_rust_hook_nif:log_stats(), Q} of
        {#{queued := 0, in_flight := 0}, 0} -> ok;
        _ ->
            case erlang:monotonic_time(millisecond) > Deadline of
                true -> error({log_not_drained, emqx_rust_hook_nif:log_stats(), Q});
                false -> timer:sleep(20), wait_drained(Deadline)
            end
    end.

%%--------------------------------------------------------------------------------------
%% 6. The example library logs a short, escaped preview of a payload

example_test_() ->
    rust_hook_test_util:with_plugin(
      "example_hook", [], [{"the example logs the topic, the size and a 64-byte escaped preview",
                            fun example_preview/0}]).

example_preview() ->
    #{level := PrimaryLevel} = logger:get_primary_config(),
    ok = logger:set_primary_config(level, info),
    Payload = <<"line\n", 0, 255, "\e[31m", (binary:copy(<<"y">>, 1000000))/binary>>,
    Msg = {message, <<9:128>>, 0, <<"c">>, #{}, #{}, <<"ex/t">>, Payload, 1},
    {_, Logs} = try
                    rust_hook_test_util:capture_logs(
                      fun() -> emqx_hooks:run_fold('message.publish', [], Msg) end)
                after
                    logger:set_primary_config(level, PrimaryLevel)
                end,
    [Line] = [T || #{text := T} <- Logs, binary:match(T, <<"publish: topic=ex/t">>) =/= nomatch],
    ?assert(byte_size(Line) < 400),
    Size = integer_to_binary(byte_size(Payload)),
    ?assertNotEqual(nomatch, binary:match(Line, <<"(", Size/binary, " bytes)">>)),
    ?assertNotEqual(nomatch, binary:match(Line, <<"\"line\\n\\x00\\xff\\x1b[31myyy">>)),
    ?assertNotEqual(nomatch, binary:match(Line, <<"y\"...">>)),
    %% Nothing unprintable reaches the log.
    ?assertEqual([], [C || <<C>> <= Line, C < 32 orelse C > 126]).
