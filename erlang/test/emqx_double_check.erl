%%--------------------------------------------------------------------
%% Checks of hook results by the EMQX 4.2.14 TEST DOUBLE, used only by
%% tests: what the broker's own code requires of the accumulators hooks
%% return, so that a library returning something EMQX would crash on (or
%% silently mangle) crashes the stand-in's client too.
%%--------------------------------------------------------------------
-module(emqx_double_check).

-export([message/1, connect_props/2]).

%% @doc A #message{} as the broker's code uses it after message.publish and
%% message.delivered. Returns the message, or raises:
%% - error({case_clause, Term}) when Term is not a #message{} record (as
%%   the `case' in emqx_broker:publish/1 does);
%% - error({bad_message, Field, Value}) when a field has another type than
%%   the record's type spec (emqx.hrl, emqx_types.erl): id binary, qos
%%   0..2, from atom or binary, flags a map of atom => boolean, headers a
%%   map with atom keys (its `properties', when present, a map of publish
%%   properties that the frame module can write; its `allow_publish', when
%%   present, a boolean), topic binary, payload iodata, timestamp integer.
message(Msg = {message, Id, QoS, From, Flags, Headers, Topic, Payload, Ts}) ->
    field(id, Id, is_binary(Id)),
    field(qos, QoS, lists:member(QoS, [0, 1, 2])),
    field(from, From, is_atom(From) orelse is_binary(From)),
    field(flags, Flags, is_map(Flags) andalso
              lists:all(fun({K, V}) -> is_atom(K) andalso is_boolean(V) end,
                        maps:to_list(Flags))),
    field(headers, Headers, is_map(Headers) andalso
              lists:all(fun is_atom/1, maps:keys(Headers))),
    field(allow_publish, maps:get(allow_publish, Headers, true),
          is_boolean(maps:get(allow_publish, Headers, true))),
    Props = maps:get(properties, Headers, #{}),
    field(properties, Props, is_map(Props) andalso writable_pub_props(Props)),
    field(topic, Topic, is_binary(Topic)),
    field(payload, Payload, is_iodata(Payload)),
    field(timestamp, Ts, is_integer(Ts)),
    Msg;
message(Other) ->
    error({case_clause, Other}).

field(_Name, _Value, true) -> ok;
field(Name, Value, false) -> error({bad_message, Name, Value}).

writable_pub_props(Props) ->
    try emqx_double_frame:properties(emqx_double_frame:pub_props(Props)) of
        _ -> true
    catch error:_ -> false
    end.

is_iodata(B) when is_binary(B) -> true;
is_iodata(L) when is_list(L) ->
    try iolist_size(L) of _ -> true
    catch error:badarg -> false
    end;
is_iodata(_) -> false.

%% @doc The CONNECT properties client.connect returned, checked as
%% emqx_channel / emqx_packet 4.2.14 use them for a client of version Ver:
%% - `undefined' or a map (EMQX reads them with emqx_mqtt_props:get/3 for
%%   MQTT 5: any other term is error({badmap, Props}));
%% - properties the frame module can write (stricter than EMQX, which
%%   never writes CONNECT properties again: a value no client could have
%%   sent is an error here, error({bad_property, Name, Value}) /
%%   error({bad_properties, P}));
%% - `emqx_packet:check_conn_props/2': 'Receive-Maximum' 0, or
%%   'Request-Response-Information' / 'Request-Problem-Information' other
%%   than 0 or 1, refuse the connection: {error, 16#82} (protocol_error).
%% Returns ok or {error, ReasonCode}.
connect_props(Ver, Props) ->
    case Props of
        undefined -> ok;
        _ when is_map(Props) -> ok;
        _ when Ver =:= 5 -> error({badmap, Props});
        _ -> error({bad_properties, Props})
    end,
    _ = emqx_double_frame:properties(Props),
    case maybe_map(Props) of
        #{'Receive-Maximum' := 0} -> {error, 16#82};
        #{'Request-Response-Information' := RRI} when RRI =/= 0, RRI =/= 1 -> {error, 16#82};
        #{'Request-Problem-Information' := RPI} when RPI =/= 0, RPI =/= 1 -> {error, 16#82};
        _ -> ok
    end.

maybe_map(undefined) -> #{};
maybe_map(M) -> M.
