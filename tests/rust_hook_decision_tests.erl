%% @doc Each decision a Rust hook makes changes what the broker does. Real client
%% lifecycles are played by the stand-in host's scenario driver, through the real
%% plugin, into the real test library (native/test_hooks) and the example.
-module(rust_hook_decision_tests).

-include_lib("eunit/include/eunit.hrl").

-define(S, emqx_double_scenario).

decision_test_() ->
    rust_hook_test_util:with_plugin(
      "test_hooks", [],
      [{"login allowed, denied, superuser, abstained", fun login/0},
       {"client.connect rejects before authentication", fun connect_reject/0},
       {"client.connack properties are set (MQTT 5)", fun connack_props/0},
       {"ACL allow and deny, publish and subscribe", fun acl/0},
       {"publish rewritten: topic and payload", fun publish_rewritten/0},
       {"publish cancelled", fun publish_cancelled/0},
       {"publish properties added", fun publish_props/0},
       {"a property EMQX cannot serialize is refused, the message goes on", fun publish_bad_prop/0},
       {"delivery changed for the subscriber only", fun delivered/0},
       {"subscription list rewritten and filtered", fun subscribe_filtered/0},
       {"unsubscribe list rewritten", fun unsubscribe_rewritten/0},
       {"a panic applies the failure policy (ignore)", fun panic_ignore/0},
       {"unknown keys and headers survive a decision", fun unknown_keys_survive/0}]).

client(Spec) ->
    {ok, C} = ?S:connect(Spec),
    C.

clientinfo(C) -> maps:get(clientinfo, ?S:info(C)).

login() ->
    C1 = client(#{clientid => <<"ok1">>, username => <<"u">>, password => <<"secret">>}),
    ?assertMatch(#{auth_result := success, anonymous := false}, clientinfo(C1)),
    ?assertEqual({error, bad_username_or_password},
                 ?S:connect(#{clientid => <<"bad1">>, username => <<"u">>, password => <<"wrong">>})),
    C2 = client(#{clientid => <<"su1">>, username => <<"super">>, password => <<"any">>}),
    ?assertMatch(#{is_superuser := true}, clientinfo(C2)),
    %% Abstain: the zone's allow_anonymous decides.
    C3 = client(#{clientid => <<"anon1">>}),
    ?assertMatch(#{anonymous := true, auth_result := success}, clientinfo(C3)),
    ?assertEqual({error, not_authorized},
                 ?S:connect(#{clientid => <<"anon2">>, allow_anonymous => false})),
    [?S:disconnect(C) || C <- [C1, C2, C3]].

connect_reject() ->
    rust_hook_test_util:flush_reports(),
    ?assertEqual({error, not_authorized}, ?S:connect(#{clientid => <<"reject_me">>})),
    %% Refused at client.connect: authenticate never ran.
    ?assertEqual([], rust_hook_test_util:reports(<<"client.authenticate">>)).

connack_props() ->
    C = client(#{clientid => <<"v5">>, proto_ver => 5}),
    Props = maps:get(connack_props, ?S:info(C)),
    ?assertEqual([{<<"hook">>, <<"rust">>}], maps:get('User-Property', Props)),
    ?S:disconnect(C).

acl() ->
    C = client(#{clientid => <<"acl1">>, username => <<"u">>, acl_nomatch => deny}),
    ?assertEqual({error, not_authorized}, ?S:publish(C, <<"denied/x">>, <<"m">>, 1)),
    ?assertMatch({ok, _}, ?S:publish(C, <<"allowed/x">>, <<"m">>, 1)),
    %% Abstain: acl_nomatch = deny decides.
    ?assertEqual({error, not_authorized}, ?S:publish(C, <<"other/x">>, <<"m">>, 1)),
    ?assertEqual({ok, [16#80, 1]}, ?S:subscribe(C, [{<<"denied/s">>, 1}, {<<"allowed/s">>, 1}])),
    ?S:disconnect(C).

publish_rewritten() ->
    Sub = client(#{clientid => <<"sub-rw">>}),
    {ok, [1]} = ?S:subscribe(Sub, [{<<"rewritten/#">>, 1}]),
    Pub = client(#{clientid => <<"pub-rw">>}),
    ?assertEqual({ok, #{delivered => 1}}, ?S:publish(Pub, <<"rewrite/a">>, <<"hello">>, 1)),
    [Msg] = ?S:received(Sub),
    ?assertEqual(<<"rewritten/a">>, element(7, Msg)),
    ?assertEqual(<<"HELLO">>, element(8, Msg)),
    %% The rest of the record is the original's.
    ?assertEqual(<<"pub-rw">>, element(4, Msg)),
    [?S:disconnect(C) || C <- [Sub, Pub]].

publish_cancelled() ->
    Sub = client(#{clientid => <<"sub-c">>}),
    {ok, [1]} = ?S:subscribe(Sub, [{<<"cancel/#">>, 1}]),
    Pub = client(#{clientid => <<"pub-c">>}),
    ?assertEqual({ok, cancelled}, ?S:publish(Pub, <<"cancel/x">>, <<"m">>, 1)),
    ?assertEqual([], ?S:received(Sub)),
    [?S:disconnect(C) || C <- [Sub, Pub]].

publish_props() ->
    Sub = client(#{clientid => <<"sub-p">>, proto_ver => 5}),
    {ok, [0]} = ?S:subscribe(Sub, [{<<"props/#">>, 0}]),
    Pub = client(#{clientid => <<"pub-p">>, proto_ver => 5}),
    {ok, #{delivered := 1}} = ?S:publish(Pub, <<"props/x">>, <<"m">>, 0,
                                         #{'Content-Type' => <<"text/plain">>}),
    [Msg] = ?S:received(Sub),
    Props = maps:get(properties, element(6, Msg)),
    ?assertEqual([{<<"via">>, <<"rust">>}], maps:get('User-Property', Props)),
    ?assertEqual(<<"text/plain">>, maps:get('Content-Type', Props)),
    [?S:disconnect(C) || C <- [Sub, Pub]].

publish_bad_prop() ->
    Sub = client(#{clientid => <<"sub-bp">>, proto_ver => 5}),
    {ok, [0]} = ?S:subscribe(Sub, [{<<"badprop/#">>, 0}]),
    Pub = client(#{clientid => <<"pub-bp">>, proto_ver => 5}),
    E0 = maps:get(errors, maps:get('message.publish', emqx_rust_hook_nif:stats())),
    %% The stand-in writes the PUBLISH as EMQX would: a non-UTF-8 Content-Type would
    %% crash the publisher (message.publish result) and the subscriber (delivery).
    ?assertEqual({ok, #{delivered => 1}},
                 ?S:publish(Pub, <<"badprop/x">>, <<"m">>, 0, #{'Content-Type' => <<"a/b">>})),
    [Msg] = ?S:received(Sub),
    ?assertEqual(#{'Content-Type' => <<"a/b">>}, maps:get(properties, element(6, Msg))),
    ?assertEqual(E0 + 1, maps:get(errors, maps:get('message.publish', emqx_rust_hook_nif:stats()))),
    [?S:disconnect(C) || C <- [Sub, Pub]].

delivered() ->
    S1 = client(#{clientid => <<"sub-d1">>}),
    S2 = client(#{clientid => <<"sub-d2">>}),
    {ok, [0]} = ?S:subscribe(S1, [{<<"up/#">>, 0}]),
    {ok, [0]} = ?S:subscribe(S2, [{<<"up/#">>, 0}]),
    Pub = client(#{clientid => <<"pub-d">>}),
    {ok, #{delivered := 2}} = ?S:publish(Pub, <<"up/x">>, <<"abc">>, 0),
    ?assertMatch([_], ?S:received(S1)),
    [M1] = ?S:received(S1),
    [M2] = ?S:received(S2),
    ?assertEqual(<<"ABC">>, element(8, M1)),
    ?assertEqual(<<"ABC">>, element(8, M2)),
    [?S:disconnect(C) || C <- [S1, S2, Pub]].

subscribe_filtered() ->
    C = client(#{clientid => <<"sub-f">>}),
    Result = ?S:subscribe(C, [{<<"rewrite/me">>, 1}, {<<"qos0/me">>, 2}, {<<"drop/me">>, 1},
                              {<<"keep/me">>, 1}]),
    %% EMQX 4.2 builds SUBACK from the returned list: three codes for three filters.
    ?assertEqual({ok, [1, 0, 1]}, Result),
    Subs = maps:get(subscriptions, ?S:info(C)),
    ?assertEqual([<<"keep/me">>, <<"qos0/me">>, <<"rewritten/me">>], lists:sort(maps:keys(Subs))),
    ?assertMatch(#{qos := 0}, maps:get(<<"qos0/me">>, Subs)),
    ?S:disconnect(C).

unsubscribe_rewritten() ->
    C = client(#{clientid => <<"unsub-r">>}),
    {ok, _} = ?S:subscribe(C, [{<<"rewrite/me">>, 1}, {<<"keep/me">>, 1}]),
    ?assertEqual({ok, [0]}, ?S:unsubscribe(C, [<<"rewrite/me">>])),
    ?assertEqual([<<"keep/me">>], maps:keys(maps:get(subscriptions, ?S:info(C)))),
    ?S:disconnect(C).

panic_ignore() ->
    Stats0 = maps:get('client.authenticate', emqx_rust_hook_nif:stats()),
    %% failed_action = ignore: the panic is contained, the chain decides (anonymous).
    C = client(#{clientid => <<"panic_auth">>}),
    ?assertMatch(#{anonymous := true}, clientinfo(C)),
    Stats1 = maps:get('client.authenticate', emqx_rust_hook_nif:stats()),
    ?assertEqual(maps:get(panics, Stats0) + 1, maps:get(panics, Stats1)),
    ?S:disconnect(C).

unknown_keys_survive() ->
    Acc = #{auth_result => success, anonymous => true, from_other_plugin => kept},
    ?assertEqual(Acc#{anonymous => false},
                 emqx_hooks:run_fold('client.authenticate',
                                     [#{clientid => <<"k1">>, password => <<"secret">>}], Acc)),
    %% A rewritten message keeps the record's other fields and every header, pids and
    %% references included (shared_dispatch_ack).
    Ack = {self(), make_ref()},
    Headers = #{shared_dispatch_ack => Ack, username => <<"u">>, custom => [1, 2],
                properties => #{'User-Property' => [{<<"a">>, <<"1">>}]}},
    Msg = {message, <<7:128>>, 1, <<"c">>, #{retain => true, custom_flag => true}, Headers,
           <<"rewrite/x">>, <<"p">>, 42},
    {message, Id, QoS, From, Flags, NewHeaders, Topic, Payload, Ts} =
        emqx_hooks:run_fold('message.publish', [], Msg),
    ?assertEqual({<<7:128>>, 1, <<"c">>, 42}, {Id, QoS, From, Ts}),
    ?assertEqual({<<"rewritten/x">>, <<"P">>}, {Topic, Payload}),
    ?assertEqual(#{retain => true, custom_flag => true}, Flags),
    ?assertEqual(Headers, NewHeaders).

%%--------------------------------------------------------------------------------------
%% The example library: what the Python SDK's example did.

example_test_() ->
    rust_hook_test_util:with_plugin(
      "example_hook", [],
      [{"example: non-empty client id allowed, empty denied", fun example_auth/0},
       {"example: ACL denies clients without a username", fun example_acl/0}]).

example_auth() ->
    Acc = #{auth_result => success, anonymous => true},
    ?assertMatch(#{auth_result := success, anonymous := false},
                 emqx_hooks:run_fold('client.authenticate', [#{clientid => <<"c1">>}], Acc)),
    ?assertMatch(#{auth_result := not_authorized},
                 emqx_hooks:run_fold('client.authenticate', [#{clientid => <<>>}], Acc)),
    C = client(#{clientid => <<"ex1">>, username => <<"u">>}),
    ?assertMatch(#{auth_result := success, anonymous := false}, clientinfo(C)),
    ?S:disconnect(C).

example_acl() ->
    C1 = client(#{clientid => <<"ex-nouser">>}),
    ?assertEqual({error, not_authorized}, ?S:publish(C1, <<"t/1">>, <<"m">>, 1)),
    ?assertEqual({ok, [16#80]}, ?S:subscribe(C1, [{<<"t/#">>, 1}])),
    C2 = client(#{clientid => <<"ex-user">>, username => <<"alice">>}),
    ?assertMatch({ok, _}, ?S:publish(C2, <<"t/1">>, <<"m">>, 1)),
    [?S:disconnect(C) || C <- [C1, C2]].
