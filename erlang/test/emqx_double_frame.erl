%%--------------------------------------------------------------------
%% Packet serialization checks of the EMQX 4.2.14 TEST DOUBLE, used only
%% by tests.
%%
%% What a hook returns ends up in packets that EMQX's `emqx_frame' writes to
%% the client: CONNACK properties and reason code, and the PUBLISH packet
%% of a delivered message (topic, MQTT 5 properties, payload). A term the
%% frame module cannot write crashes the client's connection process in
%% EMQX, so the scenario driver writes the same packets with this module
%% and crashes the client the same way.
%%
%% The property names and value types are those `emqx_frame:
%% serialize_property/2' of 4.2.14 handles. This module is stricter than
%% EMQX where EMQX writes something other than what it was given instead
%% of failing (an integer out of the field's range is truncated there, a
%% non-pair element of 'User-Property' silently dropped, a Correlation-Data
%% longer than 65535 bytes gets a wrong length): here those are errors too.
%% Errors are raised as error({bad_property, Name, Value}),
%% error({bad_properties, Props}), error({bad_reason_code, Code}) and
%% error({bad_publish, Field, Value}).
%%--------------------------------------------------------------------
-module(emqx_double_frame).

-export([properties/1, connack/3, connack_code/2, publish/3, pub_props/1, utf8/1]).

%% @doc The MQTT 5 property block (variable-length size + properties) of
%% Props: a map of property name atoms, or undefined (no properties).
%% A property whose value is `undefined' is left out, as EMQX does.
properties(undefined) ->
    <<0>>;
properties(Props) when is_map(Props) ->
    Body = << <<(property(Name, Value))/binary>>
              || {Name, Value} <- lists:sort(maps:to_list(Props)) >>,
    <<(varint(byte_size(Body)))/binary, Body/binary>>;
properties(Props) ->
    error({bad_properties, Props}).

%% @doc The CONNACK variable header EMQX sends to a client of protocol
%% version Ver: flags, the wire reason code, and the properties (written for
%% every version here; EMQX writes them for MQTT 5 only). Code is the
%% wire code (see connack_code/2).
connack(Ver, Code, Props) when is_integer(Code), Code >= 0, Code =< 255 ->
    PropBin = properties(Props),
    case Ver of
        5 -> <<0, Code, PropBin/binary>>;
        _ -> <<0, Code>>
    end;
connack(_Ver, Code, _Props) ->
    error({bad_reason_code, Code}).

%% @doc The wire reason code of a refused CONNECT with MQTT 5 reason code
%% RC: RC itself for MQTT 5 (it must be a byte), the v3 CONNACK return code
%% that `emqx_reason_codes:compat(connack, RC)' gives for v3/v4. Codes that
%% function has no v3 equivalent for (it returns undefined) cannot be
%% written: error({bad_reason_code, RC}).
connack_code(5, RC) when is_integer(RC), RC >= 0, RC =< 255 -> RC;
connack_code(5, RC) -> error({bad_reason_code, RC});
connack_code(_Ver, RC) ->
    case v3_connack(RC) of
        undefined -> error({bad_reason_code, RC});
        Code -> Code
    end.

v3_connack(RC) when RC >= 16#80, RC =< 16#84, is_integer(RC) -> 1;   %% unacceptable protocol
v3_connack(16#85) -> 2;                                              %% identifier rejected
v3_connack(16#86) -> 4;                                              %% bad user name or password
v3_connack(RC) when RC =:= 16#87; RC =:= 16#8A; RC =:= 16#8C -> 5;  %% not authorized
v3_connack(RC) when RC =:= 16#88; RC =:= 16#89; RC =:= 16#8B; RC =:= 16#90;
                    RC =:= 16#97; RC =:= 16#9C; RC =:= 16#9D; RC =:= 16#9F -> 3;
v3_connack(_) -> undefined.

%% @doc The PUBLISH packet EMQX writes when it delivers Msg (a #message{}
%% already checked by emqx_double_check:message/1) to a client of version
%% Ver (`emqx_message:to_packet/2' then `emqx_frame:serialize/2'): the
%% topic as a UTF-8 string, the packet id for QoS 1/2, the publish
%% properties of the `properties' header for MQTT 5, the payload.
publish(Ver, PacketId, {message, _Id, QoS, _From, Flags, Headers, Topic, Payload, _Ts}) ->
    Props = pub_props(maps:get(properties, Headers, #{})),
    PropBin = case Ver of
                  5 -> properties(Props);
                  _ -> <<>>
              end,
    IdBin = case QoS of
                0 -> <<>>;
                _ -> <<PacketId:16>>
            end,
    PayloadBin = try iolist_to_binary(Payload)
                 catch error:badarg -> error({bad_publish, payload, Payload})
                 end,
    Dup = flag(dup, maps:get(dup, Flags, false)),
    Retain = flag(retain, maps:get(retain, Flags, false)),
    TopicBin = try utf8(Topic)
               catch error:_ -> error({bad_publish, topic, Topic})
               end,
    <<3:4, Dup:1, QoS:2, Retain:1, TopicBin/binary, IdBin/binary, PropBin/binary,
      PayloadBin/binary>>.

%% @doc The publish properties EMQX keeps when it turns a message into a
%% PUBLISH packet (`emqx_message:filter_pub_props/1'): a map is required.
pub_props(Props) when is_map(Props) ->
    maps:with(['Payload-Format-Indicator', 'Message-Expiry-Interval', 'Response-Topic',
               'Correlation-Data', 'User-Property', 'Subscription-Identifier',
               'Content-Type'], Props);
pub_props(Props) ->
    error({bad_publish, properties, Props}).

flag(_Name, false) -> 0;
flag(_Name, true) -> 1;
flag(Name, Value) -> error({bad_publish, Name, Value}).

%% @doc An MQTT UTF-8 string: 2-byte length and the bytes. The value is
%% unicode chardata (a binary must be well-formed UTF-8), at most 65535
%% bytes encoded; anything else raises badarg.
utf8(Value) ->
    case unicode:characters_to_binary(Value) of
        Bin when is_binary(Bin), byte_size(Bin) =< 16#FFFF -> <<(byte_size(Bin)):16, Bin/binary>>;
        _ -> error(badarg)
    end.

%%--------------------------------------------------------------------
%% Properties
%%--------------------------------------------------------------------

property(_Name, undefined) ->
    <<>>;
property('User-Property', Value) ->
    %% one pair, or a list of pairs: each pair is a property of its own
    Pairs = case Value of
                {_, _} -> [Value];
                L when is_list(L) -> L;
                _ -> error({bad_property, 'User-Property', Value})
            end,
    << <<16#26, (user_property(P, Value))/binary>> || P <- Pairs >>;
property(Name, Value) ->
    case spec(Name) of
        unknown -> error({bad_property, Name, Value});
        {Id, Type} ->
            try encode(Type, Value) of
                Bin -> <<Id, Bin/binary>>
            catch error:_ -> error({bad_property, Name, Value})
            end
    end.

user_property({K, V}, All) ->
    try <<(utf8(K))/binary, (utf8(V))/binary>>
    catch error:_ -> error({bad_property, 'User-Property', All})
    end;
user_property(_NotAPair, All) ->
    error({bad_property, 'User-Property', All}).

encode(byte, V) when is_integer(V), V >= 0, V =< 16#FF -> <<V>>;
encode(two_byte, V) when is_integer(V), V >= 0, V =< 16#FFFF -> <<V:16>>;
encode(four_byte, V) when is_integer(V), V >= 0, V =< 16#FFFFFFFF -> <<V:32>>;
encode(varint, V) when is_integer(V), V >= 0, V =< 268435455 -> varint(V);
encode(utf8, V) -> utf8(V);
encode(binary, V) when is_binary(V), byte_size(V) =< 16#FFFF -> <<(byte_size(V)):16, V/binary>>.

%% MQTT variable byte integer: 7 bits per byte, low group first, high bit
%% set on every byte but the last.
varint(N) when N < 128 -> <<N>>;
varint(N) -> <<1:1, (N band 127):7, (varint(N bsr 7))/binary>>.

%% Property identifiers and value types (MQTT 5.0 section 2.2.2.2), the
%% names EMQX 4.2.14 uses as map keys.
spec('Payload-Format-Indicator') -> {16#01, byte};
spec('Message-Expiry-Interval') -> {16#02, four_byte};
spec('Content-Type') -> {16#03, utf8};
spec('Response-Topic') -> {16#08, utf8};
spec('Correlation-Data') -> {16#09, binary};
spec('Subscription-Identifier') -> {16#0B, varint};
spec('Session-Expiry-Interval') -> {16#11, four_byte};
spec('Assigned-Client-Identifier') -> {16#12, utf8};
spec('Server-Keep-Alive') -> {16#13, two_byte};
spec('Authentication-Method') -> {16#15, utf8};
spec('Authentication-Data') -> {16#16, binary};
spec('Request-Problem-Information') -> {16#17, byte};
spec('Will-Delay-Interval') -> {16#18, four_byte};
spec('Request-Response-Information') -> {16#19, byte};
spec('Response-Information') -> {16#1A, utf8};
spec('Server-Reference') -> {16#1C, utf8};
spec('Reason-String') -> {16#1F, utf8};
spec('Receive-Maximum') -> {16#21, two_byte};
spec('Topic-Alias-Maximum') -> {16#22, two_byte};
spec('Topic-Alias') -> {16#23, two_byte};
spec('Maximum-QoS') -> {16#24, byte};
spec('Retain-Available') -> {16#25, byte};
spec('Maximum-Packet-Size') -> {16#27, four_byte};
spec('Wildcard-Subscription-Available') -> {16#28, byte};
spec('Subscription-Identifier-Available') -> {16#29, byte};
spec('Shared-Subscription-Available') -> {16#2A, byte};
spec(_) -> unknown.
