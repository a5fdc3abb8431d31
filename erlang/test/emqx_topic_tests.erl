%% Tests of the emqx_topic test double (contract 2.4).
-module(emqx_topic_tests).

-include_lib("eunit/include/eunit.hrl").

match_table_test_() ->
    Table = [%% Name, Filter, Expected
             {<<"a/b/c">>, <<"a/b/c">>, true},
             {<<"a/b/c">>, <<"a/+/c">>, true},
             {<<"a/b/c">>, <<"a/#">>, true},
             {<<"a">>, <<"a/#">>, true},            %% # includes the parent level
             {<<"a/b">>, <<"a/+">>, true},
             {<<"a">>, <<"a/+">>, false},
             {<<"a/b/c">>, <<"a/+">>, false},
             {<<"a/b/c">>, <<"#">>, true},
             {<<"a/b/c">>, <<"+/+/+">>, true},
             {<<"a/b/c">>, <<"a/b">>, false},
             {<<"a/b">>, <<"a/b/c">>, false},
             {<<"a//c">>, <<"a/+/c">>, true},       %% empty levels are real
             {<<"a//c">>, <<"a/c">>, false},
             {<<"/a">>, <<"+/a">>, true},
             {<<"/a">>, <<"/a">>, true},
             {<<"a/">>, <<"a/+">>, true},
             {<<"a/">>, <<"a">>, false},
             {<<"$SYS/x">>, <<"#">>, false},         %% $ topics vs first-level wildcards
             {<<"$SYS/x">>, <<"+/x">>, false},
             {<<"$SYS/x">>, <<"$SYS/#">>, true},
             {<<"$SYS/x">>, <<"$SYS/+">>, true},
             {<<"a/$x">>, <<"a/+">>, true},
             {<<"sport/tennis">>, <<"sport/tennis/#">>, true}],
    [{iolist_to_binary([N, " ~ ", F]), ?_assertEqual(E, emqx_topic:match(N, F))}
     || {N, F, E} <- Table].

words_test() ->
    ?assertEqual([<<"a">>, '+', '', '#'], emqx_topic:words(<<"a/+//#">>)),
    ?assertEqual(['', <<"x">>], emqx_topic:words(<<"/x">>)).

validate_test() ->
    ?assert(emqx_topic:validate({filter, <<"a/+/#">>})),
    ?assert(emqx_topic:validate({name, <<"a/b">>})),
    ?assertError('topic_invalid_#', emqx_topic:validate({filter, <<"a/#/b">>})),
    ?assertError(topic_invalid_char, emqx_topic:validate({filter, <<"a/b+">>})),
    ?assertError(topic_name_error, emqx_topic:validate({name, <<"a/+">>})),
    ?assertError(empty_topic, emqx_topic:validate({name, <<>>})),
    ?assertError(topic_too_long,
                 emqx_topic:validate({name, binary:copy(<<"a">>, 4097)})).

parse_test() ->
    ?assertEqual({<<"b/#">>, #{share => <<"g1">>}}, emqx_topic:parse(<<"$share/g1/b/#">>)),
    ?assertEqual({<<"t">>, #{share => <<"$queue">>}}, emqx_topic:parse(<<"$queue/t">>)),
    ?assertEqual({<<"a">>, #{}}, emqx_topic:parse(<<"a">>)).
