%% Tests of the scenario driver of the EMQX 4.2.14 test double: the hook
%% sequences and terms it produces must equal the real captures.
-module(emqx_double_scenario_tests).

-include_lib("eunit/include/eunit.hrl").

-define(S, emqx_double_scenario).

setup() ->
    emqx_double:stop(),
    ok = emqx_double:start(),
    ok = emqx_double_recorder:start().

cleanup(_) ->
    emqx_double:stop().

scenario_test_() ->
    {foreach, fun setup/0, fun cleanup/1,
     [{"mosquitto sub/pub equals the capture", fun mosquitto_sub_pub/0},
      {"persistent session equals the capture", fun persistent_session/0},
      {"auth reject", fun auth_reject/0},
      {"auth result codes and anonymous off", fun auth_result_codes/0},
      {"auth map merged, superuser skips ACL", fun auth_merge_superuser/0},
      {"client.connect error code", fun connect_error/0},
      {"acl deny publish and subscribe", fun acl_deny/0},
      {"acl cache", fun acl_cache/0},
      {"client.subscribe rewrite", fun subscribe_rewrite/0},
      {"message.publish rewrite and cancel", fun publish_rewrite_cancel/0},
      {"message.delivered per subscriber", fun delivered_per_subscriber/0},
      {"bad accumulator crashes the client", fun bad_acc_crash/0},
      {"filter exception crashes the client", fun filter_crash/0},
      {"client.connect {error, RC}: RC must fit the CONNACK", fun connect_error_codes/0},
      {"client.connect properties checked as EMQX does", fun connect_props_checked/0},
      {"client.connack properties must serialize", fun connack_props_checked/0},
      {"message.publish result: every field type checked", fun publish_fields_checked/0},
      {"message.delivered result must make a PUBLISH", fun delivered_checked/0},
      {"non-boolean is_superuser crashes the ACL check", fun superuser_not_boolean/0},
      {"client.subscribe / unsubscribe results checked", fun subscribe_results_checked/0},
      {"mqtt v5, ipv6, generated clientid", fun v5_ipv6_generated/0},
      {"shared subscription", fun shared_subscription/0},
      {"offline queue replayed on resume", fun offline_queue/0},
      {"kick and expire", fun kick_expire/0},
      {"internal zone bypasses auth and acl", fun internal_zone/0},
      {"metrics bumped around hooks", fun metrics/0}]}.

%%--------------------------------------------------------------------
%% Captured scenarios
%%--------------------------------------------------------------------

mosquitto_sub_pub() ->
    {ok, Sub} = ?S:connect(#{clientid => <<"sub1">>, auto_ack => false}),
    ?assertEqual({ok, [1]}, ?S:subscribe(Sub, [{<<"t/#">>, 1}])),
    {ok, Pub} = ?S:connect(#{clientid => <<"pub1">>, username => <<"alice">>,
                             password => <<"secret">>}),
    ?assertEqual({ok, #{delivered => 1}}, ?S:publish(Pub, <<"t/1">>, <<"hello">>, 1)),
    ok = ?S:disconnect(Pub),
    ?assertEqual({ok, 1}, ?S:ack(Sub)),
    ?assertMatch([{message, _, 1, <<"pub1">>, _, _, <<"t/1">>, <<"hello">>, _}],
                 ?S:received(Sub)),
    ok = ?S:disconnect(Sub),
    assert_same_as_capture("mosquitto-sub-pub.log").

persistent_session() ->
    Spec = #{clientid => <<"persist1">>, clean_start => false},
    {ok, P1} = ?S:connect(Spec),
    ?assertEqual({ok, [1]}, ?S:subscribe(P1, [{<<"s/#">>, 1}])),
    ?assertEqual({ok, [0]}, ?S:subscribe(P1, [{<<"u/1">>, 0}])),
    ?assertEqual({ok, [0]}, ?S:unsubscribe(P1, [<<"u/1">>])),
    ?assertEqual({ok, no_subscribers}, ?S:publish(P1, <<"nosub/1">>, <<"dropme">>, 0)),
    ok = ?S:disconnect(P1),
    ?assert(is_process_alive(P1)),                 %% session kept (expiry 7200)
    {ok, P2} = ?S:connect(Spec),                   %% resumes, P1 takeovered
    ?assertNot(is_process_alive(P1)),
    {ok, P3} = ?S:connect(Spec),                   %% takes over connected P2
    ?assertEqual({error, not_alive}, ?S:info(P2)),
    {ok, P4} = ?S:connect(Spec#{clean_start => true}),   %% P3 discarded
    ?assertNot(is_process_alive(P3)),
    ?assertEqual({ok, no_subscribers},
                 ?S:publish_sys(<<"$SYS/brokers/emqx@127.0.0.1/uptime">>, <<"30 seconds">>)),
    ?assertEqual({ok, no_subscribers},
                 ?S:publish_sys(<<"$SYS/brokers/emqx@127.0.0.1/datetime">>,
                                <<"2026-11-25 21:44:16">>)),
    {ok, P5} = ?S:connect(Spec),                   %% resumes P4's session
    ?assertNot(is_process_alive(P4)),
    ok = ?S:disconnect(P5),
    ?assertEqual(P5, ?S:lookup(<<"persist1">>)),
    assert_same_as_capture("persistent-session-scenario.log").

assert_same_as_capture(File) ->
    Captured = normalize_calls([{H, P, A} || #{hook := H, pid := P, args := A}
                                                 <- emqx_double_captures:file(File)]),
    Recorded = normalize_calls([{H, P, A} || #{hook := H, pid := P, args := A}
                                                 <- emqx_double_recorder:calls()]),
    ?assertEqual([H || {H, _, _} <- Captured], [H || {H, _, _} <- Recorded]),
    lists:foreach(fun({C, R}) -> ?assertEqual(C, R) end, lists:zip(Captured, Recorded)).

%% Pids become p1, p2... by first appearance; values that differ per run
%% (timestamps, message ids, ports, node) become placeholders.
normalize_calls(Calls) ->
    {Out, _} = lists:mapfoldl(
                 fun({H, Pid, Args}, Aliases) ->
                         {Alias, Aliases1} =
                             case lists:keyfind(Pid, 1, Aliases) of
                                 {Pid, A} -> {A, Aliases};
                                 false -> N = length(Aliases) + 1, {N, [{Pid, N} | Aliases]}
                             end,
                         {{H, Alias, norm(Args)}, Aliases1}
                 end, [], Calls),
    Out.

norm({message, _Id, QoS, From, Flags, Headers, Topic, Payload, _Ts}) ->
    {message, id, QoS, From, norm(Flags), norm(Headers), Topic, Payload, ts};
norm(M) when is_map(M) ->
    maps:map(fun(K, _) when K =:= connected_at; K =:= disconnected_at;
                            K =:= created_at -> ts;
                (peername, {IP, _Port}) -> {IP, port};
                (node, _) -> node;
                (_, V) -> norm(V)
             end, M);
norm(L) when is_list(L) -> [norm(X) || X <- L];
norm(T) when is_tuple(T) -> list_to_tuple(norm(tuple_to_list(T)));
norm(X) -> X.

%%--------------------------------------------------------------------
%% Authentication
%%--------------------------------------------------------------------

auth_reject() ->
    ok = emqx:hook('client.authenticate',
                   fun(#{password := P}, Acc) when P =/= <<"good">> ->
                           {stop, Acc#{auth_result => not_authorized, anonymous => false}};
                      (_, _) -> ok
                   end),
    ?assertEqual({error, not_authorized},
                 ?S:connect(#{clientid => <<"c1">>, password => <<"bad">>})),
    ?assertEqual(['client.connect', 'client.authenticate', 'client.connack'],
                 emqx_double_recorder:hooks()),
    [_, _, #{args := [ConnInfo, Rc, AckProps]}] = emqx_double_recorder:calls(),
    ?assertEqual(not_authorized, Rc),
    ?assertEqual(#{}, AckProps),
    ?assertNot(maps:is_key(connected_at, ConnInfo)),
    ?assertEqual(undefined, ?S:lookup(<<"c1">>)),
    ?assertMatch({ok, _}, ?S:connect(#{clientid => <<"c1">>, password => <<"good">>})).

auth_result_codes() ->
    ?assertEqual({error, not_authorized},
                 ?S:connect(#{clientid => <<"a">>, allow_anonymous => false})),
    ok = emqx:hook('client.authenticate',
                   fun(#{clientid := C}, Acc) ->
                           {stop, Acc#{auth_result => binary_to_atom(C, utf8)}}
                   end),
    ?assertEqual({error, bad_username_or_password},
                 ?S:connect(#{clientid => <<"password_error">>})),
    ?assertEqual({error, banned}, ?S:connect(#{clientid => <<"banned">>})),
    ?assertEqual({error, server_busy}, ?S:connect(#{clientid => <<"server_busy">>})),
    ?assertEqual({error, not_authorized}, ?S:connect(#{clientid => <<"whatever">>})),
    ?assertMatch({ok, _}, ?S:connect(#{clientid => <<"success">>})).

auth_merge_superuser() ->
    ok = emqx:hook('client.authenticate',
                   fun(_, Acc) ->
                           {stop, Acc#{auth_result => success, anonymous => false,
                                       is_superuser => true, custom => 42}}
                   end),
    {ok, C} = ?S:connect(#{clientid => <<"su">>, username => <<"root">>}),
    #{clientinfo := CI} = ?S:info(C),
    ?assertMatch(#{is_superuser := true, custom := 42, anonymous := false,
                   auth_result := success}, CI),
    ?assertNot(maps:is_key(password, CI)),
    ?assertEqual({ok, no_subscribers}, ?S:publish(C, <<"a/b">>, <<"x">>, 1)),
    ?assertNot(lists:member('client.check_acl', emqx_double_recorder:hooks())),
    #{args := [CI2, _]} = lists:last([X || X = #{hook := 'client.connected'}
                                               <- emqx_double_recorder:calls()]),
    ?assertEqual(CI, CI2).

connect_error() ->
    ok = emqx:hook('client.connect', fun(_ConnInfo, _Props) -> {stop, {error, 16#87}} end),
    ?assertEqual({error, not_authorized}, ?S:connect(#{clientid => <<"c">>})),
    ?assertEqual(['client.connect', 'client.connack'], emqx_double_recorder:hooks()).

%%--------------------------------------------------------------------
%% ACL
%%--------------------------------------------------------------------

acl_deny() ->
    ok = emqx:hook('client.check_acl',
                   fun(_CI, _PubSub, <<"secret/", _/binary>>, _Acc) -> {stop, deny};
                      (_, _, _, _) -> ok
                   end),
    {ok, C4} = ?S:connect(#{clientid => <<"v4">>}),
    {ok, C5} = ?S:connect(#{clientid => <<"v5">>, proto_ver => 5}),
    ?assertEqual({ok, [16#80, 1]}, ?S:subscribe(C4, [{<<"secret/#">>, 1}, {<<"open/#">>, 1}])),
    ?assertEqual({ok, [16#87]}, ?S:subscribe(C5, [{<<"secret/x">>, 2}])),
    emqx_double_recorder:clear(),
    ?assertEqual({error, not_authorized}, ?S:publish(C4, <<"secret/1">>, <<"x">>, 1)),
    ?assertEqual(['client.check_acl'], emqx_double_recorder:hooks()),
    ?assertEqual({ok, #{delivered => 1}}, ?S:publish(C5, <<"open/1">>, <<"x">>, 1)),
    #{subscriptions := Subs} = ?S:info(C4),
    ?assertEqual([<<"open/#">>], maps:keys(Subs)),
    %% acl_nomatch = deny with an abstaining hook
    {ok, D} = ?S:connect(#{clientid => <<"d">>, acl_nomatch => deny}),
    ?assertEqual({error, not_authorized}, ?S:publish(D, <<"open/2">>, <<"x">>, 0)).

acl_cache() ->
    {ok, C} = ?S:connect(#{clientid => <<"c">>}),
    {ok, no_subscribers} = ?S:publish(C, <<"t/1">>, <<"a">>, 0),
    {ok, no_subscribers} = ?S:publish(C, <<"t/1">>, <<"b">>, 0),
    {ok, no_subscribers} = ?S:publish(C, <<"t/2">>, <<"c">>, 0),
    ?assertEqual(2, count('client.check_acl')),
    ok = ?S:clean_acl_cache(C),
    {ok, no_subscribers} = ?S:publish(C, <<"t/1">>, <<"d">>, 0),
    ?assertEqual(3, count('client.check_acl')),
    {ok, N} = ?S:connect(#{clientid => <<"n">>, enable_acl_cache => false}),
    {ok, no_subscribers} = ?S:publish(N, <<"t/1">>, <<"a">>, 0),
    {ok, no_subscribers} = ?S:publish(N, <<"t/1">>, <<"b">>, 0),
    ?assertEqual(5, count('client.check_acl')).

%%--------------------------------------------------------------------
%% Fold results applied
%%--------------------------------------------------------------------

subscribe_rewrite() ->
    ok = emqx:hook('client.subscribe',
                   fun(_CI, _Props, TFs) ->
                           {ok, [{<<"rewritten/", F/binary>>, Opts} || {F, Opts} <- TFs]}
                   end),
    {ok, C} = ?S:connect(#{clientid => <<"c">>}),
    ?assertEqual({ok, [1]}, ?S:subscribe(C, [{<<"a/#">>, 1}])),
    [#{args := [_, subscribe, AclTopic, allow]}] = calls('client.check_acl'),
    ?assertEqual(<<"rewritten/a/#">>, AclTopic),
    [#{args := [_, SubTopic, SubOpts]}] = calls('session.subscribed'),
    ?assertEqual(<<"rewritten/a/#">>, SubTopic),
    ?assertEqual(#{qos => 1, rh => 0, rap => 0, nl => 0, sub_props => #{}, is_new => true},
                 SubOpts),
    {ok, P} = ?S:connect(#{clientid => <<"p">>}),
    ?assertEqual({ok, no_subscribers}, ?S:publish(P, <<"a/1">>, <<"x">>, 0)),
    ?assertEqual({ok, #{delivered => 1}}, ?S:publish(P, <<"rewritten/a/1">>, <<"x">>, 0)).

publish_rewrite_cancel() ->
    ok = emqx:hook('message.publish',
                   fun({message, _, _, _, _, _, <<"block/", _/binary>>, _, _} = M) ->
                           {stop, setelement(6, M, (element(6, M))#{allow_publish => false})};
                      ({message, _, _, _, _, _, <<"in/", Rest/binary>>, _, _} = M) ->
                           {ok, setelement(8, setelement(7, M, <<"out/", Rest/binary>>),
                                           <<"changed">>)};
                      (_) -> ok
                   end),
    {ok, Sub} = ?S:connect(#{clientid => <<"s">>}),
    {ok, _} = ?S:subscribe(Sub, [<<"out/#">>, <<"block/#">>]),
    {ok, Pub} = ?S:connect(#{clientid => <<"p">>}),
    emqx_double_recorder:clear(),
    ?assertEqual({ok, cancelled}, ?S:publish(Pub, <<"block/1">>, <<"x">>, 1)),
    ?assertEqual(['client.check_acl', 'message.publish'], emqx_double_recorder:hooks()),
    ?assertEqual({ok, #{delivered => 1}}, ?S:publish(Pub, <<"in/1">>, <<"orig">>, 0)),
    ?assertMatch([{message, _, 0, <<"p">>, _, _, <<"out/1">>, <<"changed">>, _}],
                 ?S:received(Sub)).

delivered_per_subscriber() ->
    ok = emqx:hook('message.delivered',
                   fun(#{clientid := <<"s1">>}, M) -> {ok, setelement(8, M, <<"for s1">>)};
                      (_, _) -> ok
                   end),
    {ok, S1} = ?S:connect(#{clientid => <<"s1">>}),
    {ok, S2} = ?S:connect(#{clientid => <<"s2">>}),
    {ok, [0]} = ?S:subscribe(S1, [{<<"t">>, 0}]),
    {ok, [2]} = ?S:subscribe(S2, [{<<"t">>, 2}]),
    {ok, P} = ?S:connect(#{clientid => <<"p">>}),
    ?assertEqual({ok, #{delivered => 2}}, ?S:publish(P, <<"t">>, <<"orig">>, 1)),
    [{message, _, Q1, _, _, _, _, Pl1, _}] = ?S:received(S1),
    [{message, _, Q2, _, _, _, _, Pl2, _}] = ?S:received(S2),
    ?assertEqual({0, <<"for s1">>}, {Q1, Pl1}),      %% QoS downgraded to the sub's
    ?assertEqual({1, <<"orig">>}, {Q2, Pl2}),
    %% acked only for the QoS 1 delivery, with the inflight (pre-hook) copy
    [#{args := [#{clientid := <<"s2">>}, Acked]}] = calls('message.acked'),
    ?assertEqual(#{puback_props => #{}},
                 maps:with([puback_props], element(6, Acked))),
    ?assertEqual(2, length(calls('message.delivered'))).

bad_acc_crash() ->
    ok = emqx:hook('message.publish', fun(_) -> {ok, not_a_message} end),
    {ok, C} = ?S:connect(#{clientid => <<"c">>}),
    ?assertMatch({error, {crashed, _}}, ?S:publish(C, <<"t">>, <<"x">>, 0)),
    ?assertNot(is_process_alive(C)),
    [#{args := [_, Reason, _]}] = calls('session.terminated'),
    ?assertMatch({case_clause, not_a_message}, Reason),
    ?assertEqual(undefined, ?S:lookup(<<"c">>)),
    ok = emqx:hook('client.authenticate', fun(_, _) -> {ok, not_a_map} end),
    ?assertMatch({error, {crashed, {badmap, not_a_map}}}, ?S:connect(#{clientid => <<"d">>})).

filter_crash() ->
    ok = emqx:hook('client.subscribe', fun(_, _, Acc) -> {ok, Acc} end,
                   fun(_, _, _) -> error(filter_failed) end),
    {ok, C} = ?S:connect(#{clientid => <<"c">>}),
    ?assertEqual({error, {crashed, filter_failed}}, ?S:subscribe(C, [<<"t">>])),
    ?assertEqual([filter_failed], [R || #{args := [_, R, _]} <- calls('session.terminated')]).

%%--------------------------------------------------------------------
%% Hook results held to what EMQX's code requires
%%--------------------------------------------------------------------

connect_error_codes() ->
    Code = fun(RC) -> fun(_ConnInfo, _Props) -> {stop, {error, RC}} end end,
    ok = emqx:hook('client.connect', Code(not_authorized)),
    %% emqx_reason_codes:name/1 gives unknown_error; the CONNACK cannot carry
    %% an atom, so the connection process crashes after client.connack.
    ?assertEqual({error, {crashed, {bad_reason_code, not_authorized}}},
                 ?S:connect(#{clientid => <<"a">>, proto_ver => 5})),
    ?assertMatch([#{args := [_, unknown_error, #{}]}], calls('client.connack')),
    ?assertEqual({error, {crashed, {bad_reason_code, not_authorized}}},
                 ?S:connect(#{clientid => <<"a">>})),
    emqx:unhook('client.connect', Code(not_authorized)),
    _ = sys:get_state(emqx_hooks),
    %% a v5-only code: fine for MQTT 5, no v3 CONNACK code for it
    ok = emqx:hook('client.connect', Code(16#99)),
    ?assertEqual({error, payload_format_invalid},
                 ?S:connect(#{clientid => <<"b">>, proto_ver => 5})),
    ?assertEqual({error, {crashed, {bad_reason_code, 16#99}}},
                 ?S:connect(#{clientid => <<"b">>, proto_ver => 4})),
    emqx:unhook('client.connect', Code(16#99)),
    _ = sys:get_state(emqx_hooks),
    ok = emqx:hook('client.connect', Code(300)),
    ?assertEqual({error, {crashed, {bad_reason_code, 300}}},
                 ?S:connect(#{clientid => <<"c">>, proto_ver => 5})).

connect_props_checked() ->
    Props = fun(P) -> fun(_ConnInfo, _Props) -> {ok, P} end end,
    Try = fun(P, Ver) ->
                  ok = emqx:hook('client.connect', Props(P)),
                  R = ?S:connect(#{clientid => <<"c">>, proto_ver => Ver}),
                  emqx:unhook('client.connect', Props(P)),
                  _ = sys:get_state(emqx_hooks),
                  R
          end,
    %% emqx_packet:check_conn_props/2
    ?assertEqual({error, protocol_error}, Try(#{'Receive-Maximum' => 0}, 5)),
    ?assertEqual({error, protocol_error}, Try(#{'Request-Response-Information' => 2}, 5)),
    ?assertEqual({error, protocol_error}, Try(#{'Request-Problem-Information' => undefined}, 4)),
    %% MQTT 5 reads them as a map
    ?assertEqual({error, {crashed, {badmap, [{'Receive-Maximum', 10}]}}},
                 Try([{'Receive-Maximum', 10}], 5)),
    %% not a property, values the frame cannot carry
    ?assertEqual({error, {crashed, {bad_property, 'Bogus', 1}}}, Try(#{'Bogus' => 1}, 5)),
    ?assertEqual({error, {crashed, {bad_property, 'Authentication-Method', <<0, 255>>}}},
                 Try(#{'Authentication-Method' => <<0, 255>>}, 5)),
    ?assertEqual({error, {crashed, {bad_property, 'Receive-Maximum', <<"10">>}}},
                 Try(#{'Receive-Maximum' => <<"10">>}, 5)),
    ?assertEqual({error, {crashed, {bad_property, 'Session-Expiry-Interval', -1}}},
                 Try(#{'Session-Expiry-Interval' => -1}, 4)),
    %% enhanced auth: a method without data, and no enhanced_authenticate hook
    ?assertEqual({error, not_authorized}, Try(#{'Authentication-Method' => <<"m">>}, 5)),
    ?assertEqual({error, not_authorized},
                 Try(#{'Authentication-Method' => <<"m">>, 'Authentication-Data' => <<"d">>}, 5)),
    %% valid changes go through; undefined values are no property
    ?assertMatch({ok, _}, Try(#{'Receive-Maximum' => 5, 'Topic-Alias-Maximum' => undefined,
                                'User-Property' => [{<<"k">>, <<"v">>}]}, 5)),
    ?assertMatch({ok, _}, Try(undefined, 5)).

connack_props_checked() ->
    Ack = fun(Extra) -> fun(_ConnInfo, _Rc, Acc) -> {ok, maps:merge(Acc, Extra)} end end,
    Try = fun(Extra, Ver) ->
                  emqx_double_recorder:clear(),
                  ok = emqx:hook('client.connack', Ack(Extra)),
                  R = ?S:connect(#{clientid => <<"c">>, proto_ver => Ver}),
                  emqx:unhook('client.connack', Ack(Extra)),
                  _ = sys:get_state(emqx_hooks),
                  R
          end,
    ?assertEqual({error, {crashed, {bad_property, 'Server-Keep-Alive', <<"60">>}}},
                 Try(#{'Server-Keep-Alive' => <<"60">>}, 5)),
    %% the session had been opened: it terminates with the crash reason
    ?assertMatch([#{args := [_, {bad_property, 'Server-Keep-Alive', _}, _]}],
                 calls('session.terminated')),
    ?assertEqual({error, {crashed, {bad_property, 'Reason-String', <<255>>}}},
                 Try(#{'Reason-String' => <<255>>}, 5)),
    ?assertEqual({error, {crashed, {bad_property, 'User-Property', [{<<"k">>, <<"v">>}, x]}}},
                 Try(#{'User-Property' => [{<<"k">>, <<"v">>}, x]}, 5)),
    ?assertEqual({error, {crashed, {bad_property, 'Server-Keep-Alive', 70000}}},
                 Try(#{'Server-Keep-Alive' => 70000}, 4)),
    ?assertMatch({ok, _}, Try(#{'Reason-String' => <<"hi">>, 'Server-Keep-Alive' => 30,
                                'User-Property' => {<<"k">>, <<"v">>}}, 5)),
    %% a refused CONNECT writes its CONNACK too
    ok = emqx:hook('client.connack', Ack(#{'Maximum-QoS' => 3.0})),
    ok = emqx:hook('client.authenticate',
                   fun(_, Acc) -> {stop, Acc#{auth_result => not_authorized}} end),
    ?assertEqual({error, {crashed, {bad_property, 'Maximum-QoS', 3.0}}},
                 ?S:connect(#{clientid => <<"d">>, proto_ver => 5})).

publish_fields_checked() ->
    Set = fun(Pos, V) -> fun(M) -> {ok, setelement(Pos, M, V)} end end,
    Try = fun(Pos, V) ->
                  ok = emqx:hook('message.publish', Set(Pos, V)),
                  {ok, C} = ?S:connect(#{clientid => <<"c">>}),
                  R = ?S:publish(C, <<"t">>, <<"x">>, 0),
                  emqx:unhook('message.publish', Set(Pos, V)),
                  _ = sys:get_state(emqx_hooks),
                  R
          end,
    Bad = fun(Field, Pos, V) ->
                  ?assertEqual({error, {crashed, {bad_message, Field, V}}}, Try(Pos, V))
          end,
    Bad(id, 2, "id"),
    Bad(qos, 3, 3),
    Bad(from, 4, "c"),
    Bad(flags, 5, #{retain => 1}),
    Bad(flags, 5, [{retain, false}]),
    Bad(headers, 6, #{<<"k">> => v}),
    ?assertEqual({error, {crashed, {bad_message, allow_publish, no}}},
                 Try(6, #{allow_publish => no})),
    ?assertEqual({error, {crashed, {bad_message, properties, #{'Content-Type' => 42}}}},
                 Try(6, #{properties => #{'Content-Type' => 42}})),
    ?assertEqual({error, {crashed, {bad_message, properties, [{'Content-Type', <<"t">>}]}}},
                 Try(6, #{properties => [{'Content-Type', <<"t">>}]})),
    Bad(topic, 7, "t"),
    Bad(payload, 8, [<<"a">>, b]),
    Bad(timestamp, 9, 1.5),
    %% iodata payloads, atom senders, unknown flags and headers are fine
    ?assertEqual({ok, no_subscribers}, Try(8, [<<"a">>, "b" | <<"c">>])),
    ?assertEqual({ok, no_subscribers}, Try(4, undefined)),
    ?assertEqual({ok, no_subscribers}, Try(5, #{dup => false, retain => false, sys => true})),
    ?assertEqual({ok, no_subscribers}, Try(6, #{custom => self(), properties => #{}})).

delivered_checked() ->
    Set = fun(Pos, V) -> fun(_CI, M) -> {ok, setelement(Pos, M, V)} end end,
    Try = fun(Pos, V, Ver) ->
                  ok = emqx:hook('message.delivered', Set(Pos, V)),
                  {ok, S} = ?S:connect(#{clientid => <<"s">>, proto_ver => Ver}),
                  {ok, [0]} = ?S:subscribe(S, [<<"t">>]),
                  {ok, P} = ?S:connect(#{clientid => <<"p">>}),
                  _ = ?S:publish(P, <<"t">>, <<"x">>, 0),
                  emqx:unhook('message.delivered', Set(Pos, V)),
                  _ = sys:get_state(emqx_hooks),
                  ok = ?S:disconnect(P),
                  Alive = is_process_alive(S),
                  Alive andalso ?S:disconnect(S),
                  [R || #{args := [#{clientid := <<"s">>}, R, _]} <- calls('session.terminated')]
          end,
    %% a topic that is not UTF-8 cannot be written in a PUBLISH packet
    ?assertMatch([{bad_publish, topic, <<255>>} | _], lists:reverse(Try(7, <<255>>, 4))),
    %% MQTT 5: the publish properties are written too (only those)
    Props = fun(P) -> #{properties => P} end,
    ?assertMatch([{bad_publish, topic, _}, {bad_message, properties, _}],
                 Try(6, Props(#{'Message-Expiry-Interval' => -5}), 5)),
    ?assertMatch([_, _, {shutdown, normal}],
                 Try(6, Props(#{'Message-Expiry-Interval' => 5, 'Not-A-Pub-Prop' => x}), 5)).

subscribe_results_checked() ->
    Sub = fun(TFs) -> fun(_CI, _Props, _Acc) -> {ok, TFs} end end,
    Try = fun(TFs, Ver) ->
                  ok = emqx:hook('client.subscribe', Sub(TFs)),
                  {ok, C} = ?S:connect(#{clientid => <<"c">>, proto_ver => Ver}),
                  R = ?S:subscribe(C, [<<"t">>]),
                  emqx:unhook('client.subscribe', Sub(TFs)),
                  _ = sys:get_state(emqx_hooks),
                  R
          end,
    ?assertEqual({error, {crashed, {bad_subscription, <<"t">>}}}, Try([<<"t">>], 4)),
    ?assertEqual({error, {crashed, {bad_subscription, {"t", #{qos => 0}}}}},
                 Try([{"t", #{qos => 0}}], 4)),
    ?assertEqual({error, {crashed, {bad_subscription, {<<"t">>, #{}}}}}, Try([{<<"t">>, #{}}], 4)),
    ?assertEqual({error, {crashed, {bad_reason_code, 3}}}, Try([{<<"t">>, #{qos => 3}}], 4)),
    ?assertEqual({error, {crashed, {bad_reason_code, q}}}, Try([{<<"t">>, #{qos => q}}], 5)),
    ?assertEqual({ok, [1, 0]}, Try([{<<"a">>, #{qos => 1}}, {<<"b">>, #{qos => 0}}], 4)),
    Unsub = fun(_CI, _Props, _Acc) -> {ok, [<<"t">>]} end,
    ok = emqx:hook('client.unsubscribe', Unsub),
    {ok, C} = ?S:connect(#{clientid => <<"u">>}),
    ?assertEqual({error, {crashed, {bad_subscription, <<"t">>}}}, ?S:unsubscribe(C, [<<"t">>])).

superuser_not_boolean() ->
    ok = emqx:hook('client.authenticate',
                   fun(_, Acc) -> {stop, Acc#{is_superuser => 1}} end),
    {ok, C} = ?S:connect(#{clientid => <<"c">>}),
    ?assertEqual({error, {crashed, badarg}}, ?S:publish(C, <<"t">>, <<"x">>, 0)).

%%--------------------------------------------------------------------
%% Term shapes
%%--------------------------------------------------------------------

v5_ipv6_generated() ->
    IP6 = {16#2001, 16#db8, 0, 0, 0, 0, 0, 1},
    {ok, C} = ?S:connect(#{clientid => <<>>, proto_ver => 5, peerhost => IP6,
                           username => <<"u">>,
                           conn_props => #{'Session-Expiry-Interval' => 60,
                                           'Receive-Maximum' => 10}}),
    [#{args := [ConnInfo, Props]}] = calls('client.connect'),
    ?assertMatch(#{clientid := <<>>, proto_ver := 5, peername := {IP6, _},
                   sockname := {{0, 0, 0, 0, 0, 0, 0, 1}, 1883},
                   expiry_interval := 60, receive_maximum := 10}, ConnInfo),
    ?assertEqual(#{'Session-Expiry-Interval' => 60, 'Receive-Maximum' => 10}, Props),
    #{clientinfo := #{clientid := Id, peerhost := IP6}, connack_props := Ack} = ?S:info(C),
    ?assert(byte_size(Id) >= 20),
    ?assertEqual(Id, maps:get('Assigned-Client-Identifier', Ack)),
    {ok, [2]} = ?S:subscribe(C, [{<<"v5/#">>, 2}], #{'Subscription-Identifier' => 7}),
    [#{args := [_, SubProps, [{<<"v5/#">>, SubOpts}]]}] = calls('client.subscribe'),
    ?assertEqual(#{'Subscription-Identifier' => 7}, SubProps),
    ?assertEqual(#{qos => 2, rh => 0, rap => 0, nl => 0, subid => 7}, SubOpts),
    UP = #{'User-Property' => [{<<"k">>, <<"v">>}]},
    {ok, #{delivered := 1}} = ?S:publish(C, <<"v5/1">>, <<"p">>, 1, UP, #{retain => true}),
    [#{args := [Msg]}] = calls('message.publish'),
    ?assertMatch({message, <<_:16/binary>>, 1, Id, #{dup := false, retain := true},
                  #{proto_ver := 5, protocol := mqtt, username := <<"u">>,
                    peerhost := IP6, properties := UP}, <<"v5/1">>, <<"p">>, _}, Msg),
    [Got] = ?S:received(C),
    ?assertEqual(UP#{'Subscription-Identifier' => 7},
                 maps:get(properties, element(6, Got))),
    ?assertEqual(false, maps:get(retain, element(5, Got))).   %% rap = 0

shared_subscription() ->
    {ok, A} = ?S:connect(#{clientid => <<"a">>}),
    {ok, B} = ?S:connect(#{clientid => <<"b">>}),
    {ok, [0]} = ?S:subscribe(A, [<<"$share/g/s/#">>]),
    {ok, [0]} = ?S:subscribe(B, [<<"$share/g/s/#">>]),
    [#{args := [_, _, [{F, Opts}]]} | _] = calls('client.subscribe'),
    ?assertEqual({<<"s/#">>, <<"g">>}, {F, maps:get(share, Opts)}),
    {ok, P} = ?S:connect(#{clientid => <<"p">>}),
    [?assertEqual({ok, #{delivered => 1}}, ?S:publish(P, <<"s/1">>, integer_to_binary(I), 0))
     || I <- lists:seq(1, 4)],
    ?assertEqual({2, 2}, {length(?S:received(A)), length(?S:received(B))}).

offline_queue() ->
    Spec = #{clientid => <<"q">>, clean_start => false, auto_ack => false},
    {ok, Q1} = ?S:connect(Spec),
    {ok, [1]} = ?S:subscribe(Q1, [{<<"q/#">>, 1}]),
    {ok, P} = ?S:connect(#{clientid => <<"p">>}),
    {ok, #{delivered := 1}} = ?S:publish(P, <<"q/1">>, <<"inflight">>, 1),
    ok = ?S:disconnect(Q1),
    {ok, #{delivered := 1}} = ?S:publish(P, <<"q/2">>, <<"queued">>, 1),
    ?assertEqual(1, length(calls('message.delivered'))),
    emqx_double_recorder:clear(),
    {ok, Q2} = ?S:connect(Spec),
    ?assertEqual(['client.connect', 'client.authenticate', 'client.connected',
                  'session.resumed', 'session.takeovered', 'client.connack',
                  'message.delivered', 'message.delivered'],
                 emqx_double_recorder:hooks()),
    [{message, _, 1, _, #{dup := true}, _, <<"q/1">>, _, _},
     {message, _, 1, _, #{dup := false}, _, <<"q/2">>, _, _}] = ?S:received(Q2),
    ?assertEqual({ok, 2}, ?S:ack(Q2)).

kick_expire() ->
    {ok, C} = ?S:connect(#{clientid => <<"k">>}),
    ok = ?S:kick(<<"k">>),
    ?assertNot(is_process_alive(C)),
    ?assertMatch([#{args := [_, kicked, #{disconnected_at := _}]}], calls('client.disconnected')),
    ?assertMatch([#{args := [_, kicked, _]}], calls('session.terminated')),
    {ok, E} = ?S:connect(#{clientid => <<"e">>, clean_start => false}),
    ok = ?S:disconnect(E, tcp_closed),
    [#{args := [_, tcp_closed, CI]} | _] = lists:reverse(calls('client.disconnected')),
    ?assertNot(maps:is_key(disconn_props, CI)),
    ?assertEqual({error, not_connected}, ?S:publish(E, <<"t">>, <<>>, 0)),
    ok = ?S:expire(E),
    ?assertMatch([_, #{args := [_, {shutdown, expired}, _]}], calls('session.terminated')),
    ?assertEqual({error, not_found}, ?S:kick(<<"nobody">>)).

internal_zone() ->
    ok = emqx:hook('client.authenticate',
                   fun(_, Acc) -> {stop, Acc#{auth_result => not_authorized}} end),
    ok = emqx:hook('client.check_acl', fun(_, _, _, _) -> {stop, deny} end),
    {ok, C} = ?S:connect(#{clientid => <<"i">>, zone => internal}),
    ?assertEqual({ok, [0]}, ?S:subscribe(C, [<<"x">>])),
    ?assertEqual({ok, #{delivered => 1}}, ?S:publish(C, <<"x">>, <<"y">>, 0)),
    ?assertEqual([], calls('client.authenticate') ++ calls('client.check_acl')),
    %% self-delivery is queued in the client's mailbox before the publish
    %% reply, so it is handled before the next call
    ?assertMatch([{message, _, 0, <<"i">>, _, _, <<"x">>, <<"y">>, _}], ?S:received(C)).

metrics() ->
    {ok, C} = ?S:connect(#{clientid => <<"m">>}),
    {ok, no_subscribers} = ?S:publish(C, <<"t">>, <<"x">>, 0),
    {ok, no_subscribers} = ?S:publish_sys(<<"$SYS/x">>, <<"y">>),
    ok = ?S:disconnect(C),
    ?assertEqual(1, emqx_metrics:val('client.connect')),
    ?assertEqual(1, emqx_metrics:val('client.connack')),
    ?assertEqual(1, emqx_metrics:val('client.auth.anonymous')),
    ?assertEqual(1, emqx_metrics:val('messages.publish')),          %% not $SYS
    ?assertEqual(1, emqx_metrics:val('messages.dropped.no_subscribers')),
    ?assertEqual(1, emqx_metrics:val('session.terminated')).

%%--------------------------------------------------------------------

calls(HookPoint) ->
    [C || C = #{hook := H} <- emqx_double_recorder:calls(), H =:= HookPoint].

count(HookPoint) ->
    length(calls(HookPoint)).
