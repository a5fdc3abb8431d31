%% Tests of the capture-log reader of the EMQX test double.
-module(emqx_double_captures_tests).

-include_lib("eunit/include/eunit.hrl").

all_calls_test() ->
    All = emqx_double_captures:all(),
    ?assertEqual(67, length(All)),
    ?assertMatch(#{hook := 'client.connect', pid := "<0.331.0>"}, hd(All)),
    ?assertMatch(#{hook := 'client.disconnected', pid := "<0.404.0>"}, lists:last(All)),
    ?assertEqual([[args, hook, pid]], lists:usort([lists:sort(maps:keys(C)) || C <- All])),
    %% every call has the arity of its hookpoint (acc included)
    Arity = maps:from_list(emqx_double_recorder:hookpoints()),
    [?assertEqual(maps:get(H, Arity), length(A)) || #{hook := H, args := A} <- All].

authenticate_pub1_test() ->
    [_Sub1, Pub1 | _] = emqx_double_captures:all('client.authenticate'),
    #{args := [ClientInfo, Acc]} = Pub1,
    ?assertEqual(<<"secret">>, maps:get(password, ClientInfo)),
    ?assertEqual(<<"alice">>, maps:get(username, ClientInfo)),
    ?assertEqual(#{auth_result => success, anonymous => true}, Acc),
    ?assertEqual(undefined, maps:get(password, hd(emqx_double_captures:first('client.authenticate')))).

message_record_test() ->
    [Msg] = emqx_double_captures:first('message.publish'),
    ?assertEqual(9, tuple_size(Msg)),
    ?assertMatch({message, <<_:16/binary>>, 1, <<"pub1">>, #{dup := false, retain := false},
                  #{username := <<"alice">>, properties := #{}}, <<"t/1">>, <<"hello">>, _},
                 Msg),
    [#{args := [SysMsg, #{node := 'emqx@127.0.0.1'}, no_subscribers]} | _] =
        [C || C = #{args := [{message, _, _, emqx_sys, _, _, _, _, _} | _]}
                  <- emqx_double_captures:all('message.dropped')],
    ?assertEqual(#{sys => true}, element(5, SysMsg)).

files_test() ->
    ?assertEqual(2, length(emqx_double_captures:files())),
    ?assertEqual(['session.takeovered', 'session.takeovered', 'session.takeovered'],
                 [H || #{hook := H} <- emqx_double_captures:all('session.takeovered')]),
    ?assertEqual(21, length(emqx_double_captures:file("mosquitto-sub-pub.log"))).

parse_text_test() ->
    Text = "=== client.check_acl (pid <0.1.0>, arity 4) ===\n"
           "[#{a => 1},\n publish,<<\"t\">>,allow]\n\n",
    ?assertEqual([#{hook => 'client.check_acl', pid => "<0.1.0>",
                    args => [#{a => 1}, publish, <<"t">>, allow]}],
                 emqx_double_captures:parse(Text)),
    ?assertError(_, emqx_double_captures:parse("=== a.b (pid <0.1.0>, arity 2) ===\n[x]\n")).
