%% @doc The test values of `emqx_rust_hook::testing' read exactly like the captured
%% EMQX 4.2.14 terms they are modelled on: each captured call below is replayed through
%% the stand-in host into the real plugin and native/testing_values, which reports what
%% every accessor of the live arguments returned next to what the same accessors of the
%% test value built for that call return; the two must agree field by field.
-module(rust_hook_testing_values_tests).

-include_lib("eunit/include/eunit.hrl").

-import(rust_hook_test_util, [await_reports/2, get/2]).

-define(FOLDS, ['client.connect', 'client.connack', 'client.authenticate',
                'client.check_acl', 'client.subscribe', 'client.unsubscribe',
                'message.publish', 'message.delivered']).

%% The captured call each hook's test value is modelled on: the hook and the client
%% (for message.publish and message.dropped, the publisher).
-define(MODELLED,
        [{'client.connect', <<"pub1">>}, {'client.authenticate', <<"pub1">>},
         {'client.connected', <<"pub1">>}, {'client.connack', <<"pub1">>},
         {'client.check_acl', <<"pub1">>}, {'client.subscribe', <<"sub1">>},
         {'client.unsubscribe', <<"persist1">>}, {'session.created', <<"pub1">>},
         {'session.subscribed', <<"sub1">>}, {'session.unsubscribed', <<"persist1">>},
         {'session.terminated', <<"sub1">>}, {'message.publish', <<"pub1">>},
         {'message.delivered', <<"sub1">>}, {'message.acked', <<"sub1">>},
         {'message.dropped', <<"persist1">>}, {'client.disconnected', <<"pub1">>}]).

testing_values_test_() ->
    rust_hook_test_util:with_plugin(
      "testing_values", [],
      [{atom_to_list(Hook) ++ " of " ++ binary_to_list(Id), fun() -> same(Hook, Id) end}
       || {Hook, Id} <- ?MODELLED]
      ++ [{"a field that differs is found, and only that one", fun one_field_differs/0}]).

same(Hook, Id) ->
    {Live, Built} = compare(Hook, captured(Hook, Id)),
    %% Both sides carry every argument of the hook (nothing compared vacuously).
    ?assertEqual(lists:sort(maps:keys(Live)), lists:sort(maps:keys(Built))),
    ?assert(map_size(Live) >= 1),
    ?assertEqual({Hook, []}, {Hook, diff([], Live, Built)}).

%% pub1's check_acl with another username: the comparison names exactly that field.
one_field_differs() ->
    [CI | Rest] = captured('client.check_acl', <<"pub1">>),
    {Live, Built} = compare('client.check_acl', [CI#{username => <<"bob">>} | Rest]),
    ?assertEqual([{[<<"clientinfo">>, <<"username">>], <<"bob">>, <<"alice">>}],
                 diff([], Live, Built)).

compare(Hook, Args) ->
    rust_hook_test_util:flush_reports(),
    _ = run(Hook, Args),
    [R] = await_reports(atom_to_binary(Hook, utf8), 1),
    {get(<<"live">>, R), get(<<"built">>, R)}.

%% [{Path, LiveValue, BuiltValue}] where the two differ (maps compared key by key).
diff(Path, A, B) when is_map(A), is_map(B) ->
    Keys = lists:usort(maps:keys(A) ++ maps:keys(B)),
    lists:append([diff(Path ++ [K], maps:get(K, A, absent), maps:get(K, B, absent))
                  || K <- Keys]);
diff(Path, A, B) when is_list(A), is_list(B), length(A) =:= length(B) ->
    lists:append([diff(Path ++ [I], X, Y)
                  || {I, X, Y} <- lists:zip3(lists:seq(1, length(A)), A, B)]);
diff(_, Same, Same) -> [];
diff(Path, A, B) -> [{Path, A, B}].

%% The args of the first captured call of Hook made by client Id.
captured(Hook, Id) ->
    case [Args || #{hook := H, args := Args} <- emqx_double_captures:all(),
                  H =:= Hook, client(Hook, Args) =:= Id] of
        [Args | _] -> Args;
        [] -> error({not_captured, Hook, Id})
    end.

client('message.publish', [Msg]) -> element(4, Msg);
client('message.dropped', [Msg | _]) -> element(4, Msg);
client(_, [#{clientid := Id} | _]) -> Id;
client(_, _) -> undefined.

run(Hook, Args) ->
    case lists:member(Hook, ?FOLDS) of
        true ->
            {Init, [Acc]} = lists:split(length(Args) - 1, Args),
            emqx_hooks:run_fold(Hook, Init, Acc);
        false ->
            emqx_hooks:run(Hook, Args)
    end.
