%%--------------------------------------------------------------------
%% Term builders of the EMQX 4.2.14 TEST DOUBLE, used only by tests:
%% conninfo, clientinfo, sessinfo, #message{} (9-tuple), GUIDs and the
%% reason-code names, with the shapes of section 2 of the hook contract
%% and of the captures.
%%--------------------------------------------------------------------
-module(emqx_double_terms).

-export([normalize_spec/1, conninfo/1, clientinfo/2, sessinfo/2,
         client_message/5, sys_message/2, message/7,
         guid/0, clientid/0, now_ms/0,
         reason_name/1, connack_error/1, connack_props/2]).

-define(ZONE_SESSION_EXPIRY, 7200).    %% zone session_expiry_interval = 2h
-define(ZONE_MAX_INFLIGHT, 32).

%% @doc Fill a client spec map with defaults (see emqx_double_scenario).
normalize_spec(Spec0) ->
    Spec = maps:map(fun(K, V) when K =:= clientid; K =:= username; K =:= password ->
                            bin(V);
                       (_K, V) -> V
                    end, Spec0),
    Zone = maps:get(zone, Spec, external),
    ProtoVer = maps:get(proto_ver, Spec, 4),
    Peerhost = maps:get(peerhost, Spec, {127, 0, 0, 1}),
    Defaults = #{clientid => <<>>, username => undefined, password => undefined,
                 peerhost => Peerhost,
                 peerport => 30000 + rand:uniform(30000),
                 sockport => 1883,
                 sockhost => loopback(Peerhost),
                 socktype => tcp,
                 proto_ver => ProtoVer,
                 clean_start => true,
                 keepalive => 60,
                 conn_props => #{},
                 zone => Zone,
                 is_bridge => false,
                 allow_anonymous => true,
                 acl_nomatch => allow,
                 enable_acl => Zone =/= internal,
                 bypass_auth_plugins => Zone =:= internal,
                 enable_acl_cache => true,
                 acl_cache_ttl => 60000,
                 acl_cache_max_size => 32,
                 upgrade_qos => false,
                 auto_ack => true},
    maps:merge(Defaults, Spec).

loopback(IP) when tuple_size(IP) =:= 8 -> {0, 0, 0, 0, 0, 0, 0, 1};
loopback(_) -> {127, 0, 0, 1}.

bin(undefined) -> undefined;
bin(L) when is_list(L) -> list_to_binary(L);
bin(B) -> B.

%% @doc conninfo() as enriched from CONNECT, before client.connect runs.
conninfo(Spec = #{proto_ver := Ver, clean_start := CleanStart}) ->
    ConnProps0 = case Ver of 5 -> maps:get(conn_props, Spec); _ -> #{} end,
    ConnProps = case {Ver, maps:find(expiry_interval, Spec)} of
                    {5, {ok, EI}} -> maps:merge(#{'Session-Expiry-Interval' => EI}, ConnProps0);
                    _ -> ConnProps0
                end,
    Expiry = case Ver of
                 5 -> maps:get('Session-Expiry-Interval', ConnProps, 0);
                 _ -> maps:get(expiry_interval, Spec,
                               case CleanStart of true -> 0; false -> ?ZONE_SESSION_EXPIRY end)
             end,
    #{socktype => maps:get(socktype, Spec),
      peername => {maps:get(peerhost, Spec), maps:get(peerport, Spec)},
      sockname => {maps:get(sockhost, Spec), maps:get(sockport, Spec)},
      peercert => nossl,
      conn_mod => emqx_connection,
      proto_name => case Ver of 3 -> <<"MQIsdp">>; _ -> <<"MQTT">> end,
      proto_ver => Ver,
      clean_start => CleanStart,
      keepalive => maps:get(keepalive, Spec),
      clientid => maps:get(clientid, Spec),
      username => maps:get(username, Spec),
      conn_props => ConnProps,
      receive_maximum => maps:get('Receive-Maximum', ConnProps, ?ZONE_MAX_INFLIGHT),
      expiry_interval => Expiry}.

%% @doc clientinfo() before authentication (no password, no auth keys).
clientinfo(Spec, ClientId) ->
    #{zone => maps:get(zone, Spec),
      protocol => mqtt,
      peerhost => maps:get(peerhost, Spec),
      sockport => maps:get(sockport, Spec),
      clientid => ClientId,
      username => maps:get(username, Spec),
      mountpoint => undefined,
      is_bridge => maps:get(is_bridge, Spec),
      is_superuser => false}.

%% @doc sessinfo() of a session with Subscriptions created at CreatedAt.
sessinfo(Subscriptions, CreatedAt) ->
    #{subscriptions => Subscriptions,
      upgrade_qos => false,
      retry_interval => 30,
      await_rel_timeout => 300,
      created_at => CreatedAt}.

%% @doc The #message{} of a client PUBLISH (dup already reset to false).
client_message(#{clientinfo := CI, conninfo := ConnInfo}, Topic, Payload, QoS, Opts) ->
    Headers = #{proto_ver => maps:get(proto_ver, ConnInfo),
                protocol => mqtt,
                username => maps:get(username, CI),
                peerhost => maps:get(peerhost, CI),
                properties => maps:get(properties, Opts, #{})},
    Flags = #{dup => false, retain => maps:get(retain, Opts, false)},
    message(maps:get(clientid, CI), QoS, Flags, Headers, Topic, Payload, now_ms()).

%% @doc A $SYS message as published by emqx_sys.
sys_message(Topic, Payload) ->
    message(emqx_sys, 0, #{sys => true}, #{}, Topic, Payload, now_ms()).

%% @doc {message, Id, QoS, From, Flags, Headers, Topic, Payload, Timestamp}.
message(From, QoS, Flags, Headers, Topic, Payload, Ts) ->
    {message, guid(), QoS, From, Flags, Headers, Topic, Payload, Ts}.

%% @doc 16-byte GUID: 64-bit µs timestamp, 48-bit node/pid part, 16-bit
%% per-process sequence (kept in the process dictionary, as EMQX does).
guid() ->
    Seq = case get(emqx_double_guid_seq) of
              undefined -> 0;
              N -> (N + 1) band 16#FFFF
          end,
    put(emqx_double_guid_seq, Seq),
    NPid = (erlang:phash2(node(), 1 bsl 32) bsl 16) bor erlang:phash2(self(), 1 bsl 16),
    <<(erlang:system_time(microsecond)):64, NPid:48, Seq:16>>.

%% @doc A generated client id: base62 text of a GUID (about 22 chars).
clientid() ->
    <<I:128>> = guid(),
    list_to_binary(base62(I, [])).

base62(I, Acc) when I < 62 -> [digit(I) | Acc];
base62(I, Acc) -> base62(I div 62, [digit(I rem 62) | Acc]).

digit(D) when D < 10 -> $0 + D;
digit(D) when D < 36 -> $a + D - 10;
digit(D) -> $A + D - 36.

%% @doc Milliseconds since the epoch.
now_ms() ->
    erlang:system_time(millisecond).

%% @doc MQTT 5 reason-code name (Appendix A); unknown_error otherwise.
reason_name(Code) ->
    Names = #{16#00 => success, 16#01 => granted_qos1, 16#02 => granted_qos2,
              16#04 => disconnect_with_will_message, 16#10 => no_matching_subscribers,
              16#11 => no_subscription_existed, 16#18 => continue_authentication,
              16#19 => re_authenticate, 16#80 => unspecified_error,
              16#81 => malformed_packet, 16#82 => protocol_error,
              16#83 => implementation_specific_error,
              16#84 => unsupported_protocol_version,
              16#85 => client_identifier_not_valid,
              16#86 => bad_username_or_password, 16#87 => not_authorized,
              16#88 => server_unavailable, 16#89 => server_busy, 16#8A => banned,
              16#8B => server_shutting_down, 16#8C => bad_authentication_method,
              16#8D => keepalive_timeout, 16#8E => session_taken_over,
              16#8F => topic_filter_invalid, 16#90 => topic_name_invalid,
              16#91 => packet_identifier_inuse, 16#92 => packet_identifier_not_found,
              16#93 => receive_maximum_exceeded, 16#94 => topic_alias_invalid,
              16#95 => packet_too_large, 16#96 => message_rate_too_high,
              16#97 => quota_exceeded, 16#98 => administrative_action,
              16#99 => payload_format_invalid, 16#9A => retain_not_supported,
              16#9B => qos_not_supported, 16#9C => use_another_server,
              16#9D => server_moved, 16#9E => shared_subscriptions_not_supported,
              16#9F => connection_rate_exceeded, 16#A0 => maximum_connect_time,
              16#A1 => subscription_identifiers_not_supported,
              16#A2 => wildcard_subscriptions_not_supported},
    maps:get(Code, Names, unknown_error).

%% @doc CONNACK reason code for a failed auth_result (section 2.7).
connack_error(AuthResult) ->
    case AuthResult of
        A when A =:= bad_username_or_password; A =:= bad_clientid_or_password;
               A =:= username_or_password_undefined; A =:= password_error -> 16#86;
        client_identifier_not_valid -> 16#85;
        server_unavailable -> 16#88;
        server_busy -> 16#89;
        banned -> 16#8A;
        bad_authentication_method -> 16#8C;
        protocol_error -> 16#82;
        _ -> 16#87
    end.

%% @doc Initial CONNACK properties of a successful connect: filled for
%% v5 clients (zone defaults), #{} for v3/v4.
connack_props(5, AssignedId) ->
    Props = #{'Retain-Available' => 1,
              'Maximum-Packet-Size' => 1048576,
              'Topic-Alias-Maximum' => 65535,
              'Wildcard-Subscription-Available' => 1,
              'Subscription-Identifier-Available' => 1,
              'Shared-Subscription-Available' => 1},
    case AssignedId of
        undefined -> Props;
        Id -> Props#{'Assigned-Client-Identifier' => Id}
    end;
connack_props(_Ver, _AssignedId) ->
    #{}.
