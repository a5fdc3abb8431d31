%% @doc Every hook receives correctly decoded values: each call captured from a real
%% EMQX 4.2.14 broker is replayed through the stand-in host's hook runner into the real
%% plugin and the real test library (native/test_hooks), and what Rust decoded is
%% compared, field by field, with the captured term. Then terms the captures lack: an
%% IPv6 peer, MQTT 5 properties with User-Property pairs, a 1 MiB payload, an iolist
%% payload, 4.3+ shapes, and malformed terms.
-module(rust_hook_decode_tests).

-include_lib("eunit/include/eunit.hrl").

%% The reference reading of one report, for the property tests (rust_hook_prop_tests).
-export([check/3, expected_count/2]).

-import(rust_hook_test_util, [reports/1, await_reports/2, get/2]).

-define(FOLDS, ['client.connect', 'client.connack', 'client.authenticate',
                'client.check_acl', 'client.subscribe', 'client.unsubscribe',
                'message.publish', 'message.delivered']).

decode_test_() ->
    rust_hook_test_util:with_plugin(
      "test_hooks", [],
      [{timeout, 120, {"every captured call decodes", fun captured_calls/0}},
       {"all 19 hookpoints are covered by the captures", fun all_hooks_covered/0},
       {timeout, 120, {"every call captured on EMQX 4.4.19 decodes", fun captured_calls_44/0}},
       {"IPv6 peer and MQTT 5 properties", fun ipv6_and_mqtt5/0},
       {"1 MiB payload is passed whole", fun big_payload/0},
       {"iolist payload is flattened", fun iolist_payload/0},
       {"4.3+ shapes decode leniently", fun v43_shapes/0},
       {"a malformed term is an error, logged, with the fallback; a malformed field reads as absent",
        fun malformed/0}]).

run(Hook, Args) ->
    case lists:member(Hook, ?FOLDS) of
        true ->
            {Init, [Acc]} = lists:split(length(Args) - 1, Args),
            emqx_hooks:run_fold(Hook, Init, Acc);
        false ->
            emqx_hooks:run(Hook, Args)
    end.

captured_calls() ->
    Calls = emqx_double_captures:all(),
    ?assert(length(Calls) > 60),
    lists:foreach(fun check_call/1, Calls).

%% The captures of a real EMQX 4.4.19 broker (tests/fixtures/emqx-4.4.19-captures, made
%% by tests/broker/examples/capture.rs): the same 19 hookpoints, with 4.4's order and
%% shapes (session.terminated's reason unwrapped, MQTT 5 properties, QoS 2, a will).
captured_calls_44() ->
    Calls = emqx_double_captures:release_calls("4.4.19"),
    ?assertEqual(3, length(emqx_double_captures:release_files("4.4.19"))),
    ?assertEqual(19, length(lists:usort([H || #{hook := H} <- Calls]))),
    ?assert(length(Calls) > 60),
    lists:foreach(fun check_call/1, Calls).

all_hooks_covered() ->
    Hooks = lists:usort([maps:get(hook, C) || C <- emqx_double_captures:all()]),
    ?assertEqual(19, length(Hooks)).

check_call(#{hook := Hook, args := Args}) ->
    rust_hook_test_util:flush_reports(),
    _ = run(Hook, Args),
    Expected = expected_count(Hook, Args),
    case Expected of
        0 ->
            %% Nothing may come: the same call on a topic the hook does want follows,
            %% and its report is the only one (a report of the first call would come
            %% first: same client, same worker, same order).
            Sentinel = sentinel(Hook, Args),
            _ = run(Hook, Sentinel),
            ?assertEqual(1, expected_count(Hook, Sentinel)),
            Reports = await_reports(atom_to_binary(Hook, utf8), 1),
            ?assertMatch({_, [_]}, {Hook, Reports}),
            ?assertEqual(<<"t/sentinel">>, get([<<"message">>, <<"topic">>], hd(Reports)));
        1 ->
            Reports = await_reports(atom_to_binary(Hook, utf8), 1),
            ?assertMatch({_, [_]}, {Hook, Reports}),
            [R] = Reports,
            check(Hook, Args, R)
    end.

%% The same call with the message's topic replaced by one every message hook wants.
sentinel(Hook, Args) ->
    Pos = case Hook of
              'message.publish' -> 1;
              'message.dropped' -> 1;
              'message.delivered' -> 2;
              'message.acked' -> 2
          end,
    Msg = lists:nth(Pos, Args),
    Sentinel = setelement(7, setelement(5, Msg, maps:remove(sys, element(5, Msg))),
                          <<"t/sentinel">>),
    lists:sublist(Args, Pos - 1) ++ [Sentinel] ++ lists:nthtail(Pos, Args).

%% $SYS messages are skipped (the test library does not ask for them); message hooks
%% see only their topic filters.
expected_count(Hook, Args) ->
    Msg = case Hook of
              'message.publish' -> hd(Args);
              'message.dropped' -> hd(Args);
              'message.delivered' -> lists:nth(2, Args);
              'message.acked' -> lists:nth(2, Args);
              _ -> none
          end,
    case Msg of
        none -> 1;
        _ ->
            Topic = element(7, Msg),
            Filters = #{'message.publish' => [<<"#">>],
                        'message.delivered' => [<<"t/#">>, <<"up/#">>, <<"rewritten/#">>],
                        'message.acked' => [<<"t/#">>],
                        'message.dropped' => [<<"nosub/#">>, <<"t/#">>]},
            Match = lists:any(fun(F) -> emqx_topic:match(Topic, F) end, maps:get(Hook, Filters)),
            case Match of true -> 1; false -> 0 end
    end.

check('client.connect', [Conn, Props], R) ->
    rust_hook_expect:conninfo(Conn, get(<<"conninfo">>, R)),
    rust_hook_expect:properties(Props, get(<<"props">>, R));
check('client.connack', [Conn, Rc, Props], R) ->
    rust_hook_expect:conninfo(Conn, get(<<"conninfo">>, R)),
    ?assertEqual(atom_to_binary(Rc, utf8), get(<<"rc">>, R)),
    rust_hook_expect:properties(Props, get(<<"props">>, R));
check('client.connected', [CI, Conn], R) ->
    rust_hook_expect:clientinfo(CI, get(<<"clientinfo">>, R)),
    rust_hook_expect:conninfo(Conn, get(<<"conninfo">>, R));
check('client.disconnected', [CI, Reason, Conn], R) ->
    rust_hook_expect:clientinfo(CI, get(<<"clientinfo">>, R)),
    rust_hook_expect:reason(Reason, get(<<"reason">>, R)),
    rust_hook_expect:conninfo(Conn, get(<<"conninfo">>, R));
check('client.authenticate', [CI, Acc], R) ->
    rust_hook_expect:clientinfo(CI, get(<<"clientinfo">>, R)),
    ?assertEqual(maps:get(password, CI), maps:get(<<"password">>, R, undefined)),
    Auth = get(<<"auth">>, R),
    ?assertEqual(atom_to_binary(maps:get(auth_result, Acc), utf8), get(<<"auth_result">>, Auth)),
    ?assertEqual(maps:get(anonymous, Acc), get(<<"anonymous">>, Auth));
check('client.check_acl', [CI, PubSub, Topic, Acc], R) ->
    rust_hook_expect:clientinfo(CI, get(<<"clientinfo">>, R)),
    ?assertEqual(camel(PubSub), get(<<"pubsub">>, R)),
    ?assertEqual(Topic, get(<<"topic">>, R)),
    ?assertEqual(camel(Acc), get(<<"acl">>, R));
check(Sub, [CI, Props, Filters], R) when Sub =:= 'client.subscribe'; Sub =:= 'client.unsubscribe' ->
    rust_hook_expect:clientinfo(CI, get(<<"clientinfo">>, R)),
    rust_hook_expect:properties(Props, get(<<"props">>, R)),
    rust_hook_expect:filters(Filters, get(<<"filters">>, R));
check(Sess, [CI, Topic, Opts], R) when Sess =:= 'session.subscribed'; Sess =:= 'session.unsubscribed' ->
    rust_hook_expect:clientinfo(CI, get(<<"clientinfo">>, R)),
    ?assertEqual(Topic, get(<<"topic">>, R)),
    rust_hook_expect:subopts(Opts, get(<<"opts">>, R));
check('session.terminated', [CI, Reason, SessInfo], R) ->
    rust_hook_expect:clientinfo(CI, get(<<"clientinfo">>, R)),
    rust_hook_expect:reason(Reason, get(<<"reason">>, R)),
    rust_hook_expect:sessinfo(SessInfo, get(<<"sessinfo">>, R));
check(_Session, [CI, SessInfo], R) when is_map(SessInfo), not is_map_key(clientid, SessInfo) ->
    rust_hook_expect:clientinfo(CI, get(<<"clientinfo">>, R)),
    rust_hook_expect:sessinfo(SessInfo, get(<<"sessinfo">>, R));
check('message.publish', [Msg], R) ->
    rust_hook_expect:message(Msg, R);
check(Hook, [CI, Msg], R) when Hook =:= 'message.delivered'; Hook =:= 'message.acked' ->
    rust_hook_expect:clientinfo(CI, get(<<"clientinfo">>, R)),
    rust_hook_expect:message(Msg, R);
check('message.dropped', [Msg, #{node := Node}, Reason], R) ->
    rust_hook_expect:message(Msg, R),
    ?assertEqual(atom_to_binary(Node, utf8), get(<<"node">>, R)),
    rust_hook_expect:reason(Reason, get(<<"reason">>, R)).

camel(publish) -> <<"Publish">>;
camel(subscribe) -> <<"Subscribe">>;
camel(allow) -> <<"Allow">>;
camel(deny) -> <<"Deny">>.

%%--------------------------------------------------------------------------------------
%% Terms the captures do not have

v5_clientinfo() ->
    #{zone => external, protocol => mqtt, peerhost => {16#2001, 16#db8, 0, 0, 0, 0, 0, 16#42},
      sockport => 8883, clientid => <<"v5-client">>, username => <<"u1">>,
      password => <<"secret">>, mountpoint => <<"tenant/a/">>, is_bridge => false,
      is_superuser => false}.

v5_conninfo() ->
    #{socktype => ssl, peername => {{16#2001, 16#db8, 0, 0, 0, 0, 0, 16#42}, 51234},
      sockname => {{0, 0, 0, 0, 0, 16#FFFF, 16#0A00, 16#0001}, 8883},
      peercert => <<48, 130, 1, 2>>, conn_mod => emqx_connection, proto_name => <<"MQTT">>,
      proto_ver => 5, clean_start => false, keepalive => 30, clientid => <<"v5-client">>,
      username => <<"u1">>,
      conn_props => #{'Session-Expiry-Interval' => 3600, 'Receive-Maximum' => 10,
                      'User-Property' => [{<<"k">>, <<"v1">>}, {<<"k">>, <<"v2">>},
                                          {<<"bin">>, <<255, 0, 1>>}]},
      receive_maximum => 10, expiry_interval => 3600}.

ipv6_and_mqtt5() ->
    rust_hook_test_util:flush_reports(),
    CI = v5_clientinfo(),
    Conn = v5_conninfo(),
    _ = run('client.connect', [Conn, maps:get(conn_props, Conn)]),
    [C] = reports(<<"client.connect">>),
    rust_hook_expect:conninfo(Conn, get(<<"conninfo">>, C)),
    ?assertEqual(<<"[2001:db8::42]:51234">>, get([<<"conninfo">>, <<"peername">>], C)),
    %% IPv4-mapped IPv6 is normalised to IPv4.
    ?assertEqual(<<"10.0.0.1:8883">>, get([<<"conninfo">>, <<"sockname">>], C)),
    ?assertEqual([{<<"k">>, <<"v1">>}, {<<"k">>, <<"v2">>}, {<<"bin">>, <<255, 0, 1>>}],
                 element(2, maps:get(<<"User-Property">>, get(<<"props">>, C)))),
    _ = run('client.authenticate', [CI, #{auth_result => success, anonymous => true}]),
    [A] = reports(<<"client.authenticate">>),
    rust_hook_expect:clientinfo(CI, get(<<"clientinfo">>, A)),
    ?assertEqual(<<"2001:db8::42">>, get([<<"clientinfo">>, <<"peerhost">>], A)),
    ?assertEqual(<<"secret">>, get(<<"password">>, A)),
    Msg = {message, <<1:128>>, 2, <<"v5-client">>, #{dup => false, retain => true},
           #{proto_ver => 5, protocol => mqtt, username => <<"u1">>,
             peerhost => {16#2001, 16#db8, 0, 0, 0, 0, 0, 16#42},
             properties => #{'User-Property' => [{<<"a">>, <<"b">>}],
                             'Content-Type' => <<"text/plain">>,
                             'Message-Expiry-Interval' => 60,
                             'Correlation-Data' => <<0, 1, 2>>}},
           <<"t/v5">>, <<"payload">>, 1795643044428},
    _ = run('message.publish', [Msg]),
    [P] = reports(<<"message.publish">>),
    rust_hook_expect:message(Msg, P),
    ?assertEqual(true, get([<<"message">>, <<"flags">>, <<"retain">>], P)),
    ?assertEqual(<<"ExactlyOnce">>, get([<<"message">>, <<"qos">>], P)).

big_payload() ->
    rust_hook_test_util:flush_reports(),
    Payload = crypto:strong_rand_bytes(1024 * 1024),
    Msg = {message, <<2:128>>, 1, <<"c">>, #{}, #{}, <<"t/big">>, Payload, 1},
    ?assertEqual(Msg, run('message.publish', [Msg])),
    [P] = reports(<<"message.publish">>),
    ?assertEqual(Payload, get([<<"message">>, <<"payload">>], P)).

iolist_payload() ->
    rust_hook_test_util:flush_reports(),
    Msg = {message, <<3:128>>, 0, emqx_sys, #{sys => true}, #{}, <<"t/io">>,
           [<<"a">>, ["bc", <<"d">>]], 1},
    _ = run('message.publish', [Msg]),
    [P] = reports(<<"message.publish">>),
    ?assertEqual(<<"abcd">>, get([<<"message">>, <<"payload">>], P)),
    ?assertEqual({<<"System">>, <<"emqx_sys">>}, get([<<"message">>, <<"from">>], P)),
    ?assertEqual(true, get([<<"message">>, <<"flags">>, <<"sys">>], P)).

v43_shapes() ->
    rust_hook_test_util:flush_reports(),
    %% 4.3+ gateways: binary proto_ver, non-IP peername, zone undefined, few keys.
    Conn = #{proto_ver => <<"1.2">>, peername => {local, 0}, clientid => <<"gw">>,
             username => undefined, proto_name => <<"MQTT-SN">>, conn_props => #{}},
    ok = run('client.connected', [#{clientid => <<"gw">>, zone => undefined,
                                    protocol => 'mqtt-sn', peerhost => undefined}, Conn]),
    [R] = await_reports(<<"client.connected">>, 1),
    ?assertEqual(undefined, get([<<"conninfo">>, <<"proto_ver">>], R)),
    ?assertEqual(undefined, get([<<"conninfo">>, <<"peername">>], R)),
    ?assertEqual(undefined, get([<<"clientinfo">>, <<"zone">>], R)),
    ?assertEqual(<<"mqtt-sn">>, get([<<"clientinfo">>, <<"protocol">>], R)),
    %% session.terminated with a 4.3 unwrapped reason, and a WebSocket close code.
    ok = run('client.disconnected', [#{clientid => <<"ws">>}, 1005, Conn]),
    [D] = await_reports(<<"client.disconnected">>, 1),
    ?assertEqual(<<"1005">>, get(<<"reason">>, D)).

malformed() ->
    rust_hook_test_util:flush_reports(),
    Acc = #{auth_result => success, anonymous => true},
    {Result, Logs} = rust_hook_test_util:capture_logs(
                       fun() -> run('client.authenticate', [not_a_map, Acc]) end),
    %% failed_action = ignore: the chain goes on with the accumulator unchanged.
    ?assertEqual(Acc, Result),
    ?assert(lists:any(fun(#{level := error, text := T}) ->
                              binary:match(T, <<"clientinfo: expected a map">>) =/= nomatch;
                         (_) -> false
                      end, Logs)),
    %% A message record with a topic that is not UTF-8.
    Bad = {message, <<4:128>>, 0, <<"c">>, #{}, #{}, <<255, 254>>, <<>>, 1},
    ?assertEqual(Bad, run('message.publish', [Bad])),
    ?assertEqual([], reports(<<"message.publish">>)),
    %% A field of the wrong type reads as absent; the call goes on.
    CI = #{clientid => <<"lenient">>, username => 42, password => <<"secret">>,
           peerhost => not_an_ip, sockport => -1, zone => <<"not an atom">>},
    ?assertMatch(#{auth_result := success, anonymous := false},
                 run('client.authenticate', [CI, Acc])),
    [R] = reports(<<"client.authenticate">>),
    ?assertEqual(undefined, get([<<"clientinfo">>, <<"username">>], R)),
    ?assertEqual(undefined, get([<<"clientinfo">>, <<"peerhost">>], R)),
    ?assertEqual(undefined, get([<<"clientinfo">>, <<"sockport">>], R)),
    ?assertEqual(undefined, get([<<"clientinfo">>, <<"zone">>], R)),
    ?assertEqual(<<"lenient">>, get([<<"clientinfo">>, <<"clientid">>], R)).
