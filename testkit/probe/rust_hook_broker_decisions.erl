%% @doc Loaded into the broker under test by the broker suite (not part of the plugin):
%% generated calls of the hooks that decide, run through the broker's own
%% `emqx_hooks:run_fold' (so through the plugin and native/decide_hooks, whose decisions
%% are derived from the input, invalid ones included), and what comes back through the
%% broker's own code: the PUBLISH a subscriber would get is built with
%% `emqx_message:to_packet/2', written by `emqx_frame:serialize/2' (MQTT 5) and read back
%% by `emqx_frame:parse/2'; topic names and filters pass `emqx_topic:validate/1'; the
%% CONNACK with the returned properties is written by `emqx_frame'; a refused login's
%% `auth_result' maps to a CONNACK code with `emqx_reason_codes'.
-module(rust_hook_broker_decisions).

%% The shapes of EMQX 4.2's records (emqx.hrl, emqx_mqtt.hrl), written out: this module
%% also compiles where EMQX's headers are not (rebar3 compiles tests/ for the stand-in).
-record(message, {id, qos, from, flags, headers, topic, payload, timestamp}).
-record(mqtt_packet_header, {type, dup = false, qos = 0, retain = false}).
-record(mqtt_packet_connack, {ack_flags, reason_code, properties = #{}}).
-record(mqtt_packet_publish, {topic_name, packet_id, properties = #{}}).
-record(mqtt_packet, {header, variable, payload}).
-define(CONNACK, 2).
-define(CONNACK_PACKET(RC, SP, Props),
        #mqtt_packet{header = #mqtt_packet_header{type = ?CONNACK},
                     variable = #mqtt_packet_connack{ack_flags = SP, reason_code = RC,
                                                     properties = Props}}).

-export([run/2]).

%% @doc `N' seeded cases per hook. Returns `{Changed, Unchanged, Failures}': how many
%% results the hook changed, how many it left alone (abstained, or the SDK refused an
%% invalid decision and the fallback applied), and the first failures of the broker's
%% code (`[]' when every changed result was accepted).
run(Seed, N) ->
    _ = rand:seed(exsss, {Seed, Seed + 1, Seed + 2}),
    Results = lists:append([[one(Hook, I) || I <- lists:seq(1, N)]
                            || Hook <- [publish, delivered, subscribe, unsubscribe,
                                        connack, connect, authenticate]]),
    {length([x || changed <- Results]), length([x || unchanged <- Results]),
     lists:sublist([F || {failed, _} = F <- Results], 5)}.

bytes(Max) -> << <<(rand:uniform(256) - 1)>> || _ <- lists:seq(1, rand:uniform(Max + 1) - 1) >>.

%% A valid filter's tail: whole-level wildcards, `#' last.
filter() ->
    Levels = [element(rand:uniform(5), {<<"a">>, <<"+">>, <<"$c">>, <<"é"/utf8>>, <<>>})
              || _ <- lists:seq(1, rand:uniform(3))],
    Hash = case rand:uniform(2) of 1 -> [<<"#">>]; 2 -> [] end,
    iolist_to_binary([[[<<"/">>, L] || L <- Levels ++ Hash]]).

first_char() ->
    case rand:uniform(94) + 32 of
        C when C =:= $+; C =:= $#; C =:= $/ -> $x;
        C -> C
    end.

%% A valid topic name.
name(Max) -> text(Max, {$a, $b, $/, $c, $d, $$, $é, $0}).

text(Max, Chars) ->
    << <<(element(rand:uniform(tuple_size(Chars)), Chars))/utf8>>
       || _ <- lists:seq(1, rand:uniform(Max)) >>.

clientinfo(Id) ->
    #{zone => external, protocol => mqtt, peerhost => {127, 0, 0, 1}, sockport => 1883,
      clientid => Id, username => bytes(3), is_bridge => false, is_superuser => false,
      mountpoint => undefined, anonymous => false}.

conninfo(Id) ->
    #{clientid => Id, username => undefined, proto_name => <<"MQTT">>, proto_ver => 5,
      peername => {{127, 0, 0, 1}, 50000}, sockname => {{127, 0, 0, 1}, 1883},
      clean_start => true, keepalive => 60, conn_props => #{}, receive_maximum => 32,
      expiry_interval => 0, conn_mod => emqx_connection, socktype => tcp, peercert => nossl,
      connected_at => erlang:system_time(millisecond)}.

check(Orig, Result, Fun) ->
    case Result of
        Orig -> unchanged;
        _ ->
            try Fun(Result) of
                ok -> changed
            catch C:E:S -> {failed, {Orig, Result, C, E, lists:sublist(S, 3)}}
            end
    end.

one(publish, _I) ->
    Msg = emqx_message:make(<<"gen">>, rand:uniform(3) - 1, <<"t/", (name(6))/binary>>, bytes(12)),
    check(Msg, emqx_hooks:run_fold('message.publish', [], Msg), fun message_out/1);
one(delivered, _I) ->
    Msg = emqx_message:make(<<"gen">>, rand:uniform(3) - 1, <<"t/", (name(6))/binary>>, bytes(12)),
    check(Msg, emqx_hooks:run_fold('message.delivered', [clientinfo(<<"sub">>)], Msg),
          fun message_out/1);
one(Sub, _I) when Sub =:= subscribe; Sub =:= unsubscribe ->
    %% Valid filters, as EMQX checked them before the hook; the first character (which
    %% decide_hooks decides by) varies, and a rewrite uses the rest, wildcards included.
    Filters = [{<<(first_char()), (filter())/binary>>, #{qos => rand:uniform(3) - 1}}
               || _ <- lists:seq(1, rand:uniform(3))],
    Hook = list_to_atom("client." ++ atom_to_list(Sub)),
    check(Filters, emqx_hooks:run_fold(Hook, [clientinfo(<<"s">>), #{}], Filters),
          fun(L) -> lists:foreach(fun(F) -> filter_ok(Sub, F) end, L) end);
one(connack, _I) ->
    Id = <<1, (bytes(9))/binary>>,
    check(#{}, emqx_hooks:run_fold('client.connack', [conninfo(Id), success], #{}),
          fun(Props) ->
                  Bin = iolist_to_binary(emqx_frame:serialize(?CONNACK_PACKET(0, 0, Props), 5)),
                  {ok, #mqtt_packet{variable = #mqtt_packet_connack{properties = Back}}, <<>>, _} =
                      emqx_frame:parse(Bin, emqx_frame:initial_parse_state(#{version => 5})),
                  true = is_map(Back),
                  ok
          end);
one(connect, _I) ->
    Id = bytes(10),
    check(#{}, emqx_hooks:run_fold('client.connect', [conninfo(Id)], #{}),
          fun({error, RC}) -> true = is_integer(emqx_reason_codes:compat(connack, RC)), ok;
             (Props) when is_map(Props) ->
                  _ = iolist_to_binary(emqx_frame:serialize(?CONNACK_PACKET(0, 0, Props), 5)),
                  ok
          end);
one(authenticate, _I) ->
    Acc = #{auth_result => success, anonymous => true},
    check(Acc, emqx_hooks:run_fold('client.authenticate', [clientinfo(<<"a">>)], Acc),
          fun(#{auth_result := success}) -> ok;
             (#{auth_result := R}) ->
                  true = is_integer(emqx_reason_codes:connack_error(R)),
                  true = is_integer(emqx_reason_codes:compat(connack, emqx_reason_codes:connack_error(R))),
                  ok
          end).

%% The PUBLISH a subscriber would get, written and read back by the broker's frame module.
message_out(#message{} = Msg) ->
    true = emqx_topic:validate({name, Msg#message.topic}),
    %% As emqx_session sends it: a packet id for QoS 1 and 2 only.
    Packet = emqx_message:to_packet(case Msg#message.qos of 0 -> undefined; _ -> 1 end, Msg),
    Bin = iolist_to_binary(emqx_frame:serialize(Packet, 5)),
    {ok, #mqtt_packet{variable = #mqtt_packet_publish{topic_name = Topic}, payload = Payload}, <<>>, _} =
        emqx_frame:parse(Bin, emqx_frame:initial_parse_state(#{version => 5})),
    Topic = Msg#message.topic,
    Payload = iolist_to_binary(Msg#message.payload),
    ok.

filter_ok(Sub, {Topic, Opts}) ->
    {Filter, _} = emqx_topic:parse(Topic, Opts),
    true = emqx_topic:validate({filter, Filter}),
    case Sub of
        subscribe -> true = lists:member(maps:get(qos, Opts), [0, 1, 2]);
        unsubscribe -> true
    end,
    ok.
