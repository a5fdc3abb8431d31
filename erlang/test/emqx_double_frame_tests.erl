%% Tests of the packet serialization checks of the EMQX 4.2.14 test double.
-module(emqx_double_frame_tests).

-include_lib("eunit/include/eunit.hrl").

-define(F, emqx_double_frame).

properties_bytes_test() ->
    ?assertEqual(<<0>>, ?F:properties(undefined)),
    ?assertEqual(<<0>>, ?F:properties(#{})),
    %% id 0x11 + 4 bytes, id 0x21 + 2 bytes (sorted by name here)
    ?assertEqual(<<8, 16#21, 0, 10, 16#11, 0, 0, 0, 60>>,
                 ?F:properties(#{'Session-Expiry-Interval' => 60, 'Receive-Maximum' => 10})),
    %% each User-Property pair is a property of its own, in list order
    ?assertEqual(<<14, 16#26, 0, 1, "a", 0, 1, "1", 16#26, 0, 1, "a", 0, 1, "2">>,
                 ?F:properties(#{'User-Property' => [{<<"a">>, <<"1">>}, {"a", "2"}]})),
    ?assertEqual(<<7, 16#26, 0, 1, "k", 0, 1, "v">>,
                 ?F:properties(#{'User-Property' => {<<"k">>, <<"v">>}})),
    %% variable byte integer, binary data, UTF-8 text
    ?assertEqual(<<3, 16#0B, 16#80, 1>>, ?F:properties(#{'Subscription-Identifier' => 128})),
    ?assertEqual(<<5, 16#09, 0, 2, 0, 255>>, ?F:properties(#{'Correlation-Data' => <<0, 255>>})),
    ?assertEqual(<<5, 16#03, 0, 2, 195, 169>>, ?F:properties(#{'Content-Type' => <<"é"/utf8>>})),
    %% undefined values are left out, whatever the name (as emqx_frame)
    ?assertEqual(<<0>>, ?F:properties(#{'Reason-String' => undefined, whatever => undefined})).

properties_errors_test() ->
    Bad = fun(Name, Value) ->
                  ?assertError({bad_property, Name, Value}, ?F:properties(#{Name => Value}))
          end,
    Bad('Not-A-Property', 1),
    Bad('Receive-Maximum', <<"10">>),
    Bad('Receive-Maximum', 65536),          %% EMQX would truncate it
    Bad('Maximum-QoS', -1),
    Bad('Maximum-QoS', 1.0),
    Bad('Session-Expiry-Interval', 16#100000000),
    Bad('Subscription-Identifier', 268435456),
    Bad('Reason-String', <<255, 254>>),     %% not UTF-8
    Bad('Reason-String', reason),
    Bad('Reason-String', binary:copy(<<"x">>, 65536)),
    Bad('Correlation-Data', "list"),
    Bad('Authentication-Data', binary:copy(<<0>>, 65536)),
    Bad('User-Property', [{<<"k">>, <<"v">>}, not_a_pair]),   %% EMQX would drop it
    Bad('User-Property', [{<<"k">>, 1}]),
    Bad('User-Property', #{<<"k">> => <<"v">>}),
    ?assertError({bad_properties, [{'Receive-Maximum', 1}]},
                 ?F:properties([{'Receive-Maximum', 1}])).

connack_test() ->
    ?assertEqual(<<0, 0, 0>>, ?F:connack(5, 0, #{})),
    ?assertEqual(<<0, 16#87, 3, 16#1F, 0, 0>>, ?F:connack(5, 16#87, #{'Reason-String' => <<>>})),
    ?assertEqual(<<0, 5>>, ?F:connack(4, 5, #{})),
    ?assertError({bad_property, 'Maximum-QoS', x}, ?F:connack(3, 0, #{'Maximum-QoS' => x})),
    ?assertError({bad_reason_code, 256}, ?F:connack(5, 256, #{})),
    ?assertError({bad_reason_code, success}, ?F:connack(5, success, #{})).

connack_code_test() ->
    ?assertEqual(16#99, ?F:connack_code(5, 16#99)),
    ?assertError({bad_reason_code, -1}, ?F:connack_code(5, -1)),
    ?assertError({bad_reason_code, not_authorized}, ?F:connack_code(5, not_authorized)),
    %% emqx_reason_codes:compat(connack, RC) of 4.2.14
    [?assertEqual(V3, ?F:connack_code(4, RC))
     || {RC, V3} <- [{16#80, 1}, {16#84, 1}, {16#85, 2}, {16#86, 4}, {16#87, 5}, {16#8A, 5},
                     {16#8C, 5}, {16#88, 3}, {16#89, 3}, {16#8B, 3}, {16#90, 3}, {16#97, 3},
                     {16#9C, 3}, {16#9D, 3}, {16#9F, 3}]],
    [?assertError({bad_reason_code, RC}, ?F:connack_code(3, RC))
     || RC <- [0, 16#8D, 16#8E, 16#8F, 16#99, 16#A2, 300, not_authorized]].

publish_test() ->
    Msg = {message, <<1:128>>, 1, <<"c">>, #{dup => true, retain => false},
           #{properties => #{'Content-Type' => <<"t">>, 'Topic-Alias' => 3}},
           <<"a/b">>, [<<"pay">>, "load"], 1},
    %% MQTT 5: only the publish properties of emqx_message:filter_pub_props/1
    ?assertEqual(<<3:4, 1:1, 1:2, 0:1, 0, 3, "a/b", 0, 7, 4, 16#03, 0, 1, "t", "payload">>,
                 ?F:publish(5, 7, Msg)),
    ?assertEqual(<<3:4, 1:1, 1:2, 0:1, 0, 3, "a/b", 0, 7, "payload">>, ?F:publish(4, 7, Msg)),
    ?assertError({bad_publish, topic, <<255>>}, ?F:publish(4, 1, setelement(7, Msg, <<255>>))),
    ?assertError({bad_publish, payload, [a]}, ?F:publish(4, 1, setelement(8, Msg, [a]))),
    ?assertError({bad_publish, properties, x}, ?F:publish(4, 1, setelement(6, Msg, #{properties => x}))),
    ?assertError({bad_property, 'Content-Type', 1},
                 ?F:publish(5, 1, setelement(6, Msg, #{properties => #{'Content-Type' => 1}}))).
