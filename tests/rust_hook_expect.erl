%% @doc What the SDK must decode from an EMQX term, written from the contract: each
%% function checks a decoded value (as the test library reports it) against the Erlang
%% term it came from, field by field, and fails with the field's name.
-module(rust_hook_expect).

-include_lib("eunit/include/eunit.hrl").

-export([clientinfo/2, conninfo/2, sessinfo/2, subopts/2, filters/2, message/2,
         properties/2, reason/2, ip/1, peer/1]).

-define(EQ(Field, Want, Got), ?assertEqual({Field, Want}, {Field, Got})).

opt(undefined) -> undefined;
opt(V) -> V.

%% @doc IP tuple to the text Rust prints (IPv4-mapped IPv6 as IPv4).
ip({0, 0, 0, 0, 0, 16#FFFF, A, B}) -> ip({A bsr 8, A band 255, B bsr 8, B band 255});
ip(undefined) -> undefined;
ip({_, _, _, _} = T) -> list_to_binary(inet:ntoa(T));
ip({_, _, _, _, _, _, _, _} = T) -> ip6(tuple_to_list(T)).

%% RFC 5952 text (lower-case hex, the longest run of two or more zero groups, the first
%% of equal ones, as `::'), what Rust prints. (inet:ntoa/1 is no reference here: it
%% prints fe80:1:: as the scoped "fe80::%01" and ::a.b as "::0.a.0.b".)
ip6(Segs) ->
    Hex = fun(L) -> lists:join(":", [string:lowercase(integer_to_list(S, 16)) || S <- L]) end,
    case zero_run(Segs, 0, {0, 0}) of
        {_, Len} when Len < 2 -> iolist_to_binary(Hex(Segs));
        {Start, Len} ->
            iolist_to_binary([Hex(lists:sublist(Segs, Start)), "::",
                              Hex(lists:nthtail(Start + Len, Segs))])
    end.

%% {Start, Len} of the longest run of zeros (0-based start; the first of equal runs).
zero_run([], _I, Best) -> Best;
zero_run([0 | _] = L, I, {_, BestLen} = Best) ->
    {Zeros, Rest} = lists:splitwith(fun(S) -> S =:= 0 end, L),
    Len = length(Zeros),
    zero_run(Rest, I + Len, case Len > BestLen of true -> {I, Len}; false -> Best end);
zero_run([_ | Rest], I, Best) -> zero_run(Rest, I + 1, Best).

%% @doc `{IP, Port}' to `"ip:port"' (`"[v6]:port"').
peer({{_, _, _, _} = IP, Port}) -> iolist_to_binary([ip(IP), ":", integer_to_list(Port)]);
peer({IP, Port}) ->
    case ip(IP) of
        <<A, _/binary>> = S when A =/= $[ ->
            case binary:match(S, <<":">>) of
                nomatch -> iolist_to_binary([S, ":", integer_to_list(Port)]);
                _ -> iolist_to_binary(["[", S, "]:", integer_to_list(Port)])
            end
    end;
peer(undefined) -> undefined.

atom_bin(undefined) -> undefined;
atom_bin(A) when is_atom(A) -> atom_to_binary(A, utf8).

%% @doc clientinfo().
clientinfo(T, D) ->
    ?EQ(clientid, maps:get(clientid, T), maps:get(<<"clientid">>, D)),
    ?EQ(username, opt(maps:get(username, T, undefined)), maps:get(<<"username">>, D)),
    ?EQ(zone, atom_bin(maps:get(zone, T, undefined)), maps:get(<<"zone">>, D)),
    ?EQ(protocol, atom_bin(maps:get(protocol, T)), maps:get(<<"protocol">>, D)),
    ?EQ(peerhost, ip(maps:get(peerhost, T)), maps:get(<<"peerhost">>, D)),
    ?EQ(sockport, maps:get(sockport, T), maps:get(<<"sockport">>, D)),
    ?EQ(mountpoint, maps:get(mountpoint, T, undefined), maps:get(<<"mountpoint">>, D)),
    ?EQ(is_bridge, maps:get(is_bridge, T, false), maps:get(<<"is_bridge">>, D)),
    ?EQ(is_superuser, maps:get(is_superuser, T, false), maps:get(<<"is_superuser">>, D)),
    ?EQ(anonymous, maps:get(anonymous, T, undefined), maps:get(<<"anonymous">>, D)),
    ?EQ(auth_result, atom_bin(maps:get(auth_result, T, undefined)), maps:get(<<"auth_result">>, D)),
    %% The password never leaves Rust through Serialize.
    case maps:get(password, T, undefined) of
        undefined -> ?EQ(password, undefined, maps:get(<<"password">>, D));
        _ -> ?EQ(password, <<"<redacted>">>, maps:get(<<"password">>, D))
    end.

%% @doc conninfo().
conninfo(T, D) ->
    ?EQ(socktype, socktype(maps:get(socktype, T)), maps:get(<<"socktype">>, D)),
    ?EQ(peername, peer(maps:get(peername, T)), maps:get(<<"peername">>, D)),
    ?EQ(sockname, peer(maps:get(sockname, T)), maps:get(<<"sockname">>, D)),
    ?EQ(conn_mod, atom_bin(maps:get(conn_mod, T)), maps:get(<<"conn_mod">>, D)),
    ?EQ(proto_name, maps:get(proto_name, T), maps:get(<<"proto_name">>, D)),
    ?EQ(proto_ver, maps:get(proto_ver, T), maps:get(<<"proto_ver">>, D)),
    ?EQ(clean_start, maps:get(clean_start, T), maps:get(<<"clean_start">>, D)),
    ?EQ(keepalive, maps:get(keepalive, T), maps:get(<<"keepalive">>, D)),
    ?EQ(clientid, maps:get(clientid, T), maps:get(<<"clientid">>, D)),
    ?EQ(username, maps:get(username, T), maps:get(<<"username">>, D)),
    ?EQ(receive_maximum, maps:get(receive_maximum, T), maps:get(<<"receive_maximum">>, D)),
    ?EQ(expiry_interval, maps:get(expiry_interval, T), maps:get(<<"expiry_interval">>, D)),
    ?EQ(connected_at, maps:get(connected_at, T, undefined), maps:get(<<"connected_at">>, D)),
    ?EQ(disconnected_at, maps:get(disconnected_at, T, undefined), maps:get(<<"disconnected_at">>, D)),
    properties(maps:get(conn_props, T), maps:get(<<"conn_props">>, D)),
    case maps:get(disconn_props, T, undefined) of
        undefined -> ?EQ(disconn_props, undefined, maps:get(<<"disconn_props">>, D));
        P -> properties(P, maps:get(<<"disconn_props">>, D))
    end,
    ?EQ(peercert, peercert(maps:get(peercert, T)), maps:get(<<"peercert">>, D)).

socktype(tcp) -> <<"Tcp">>;
socktype(ssl) -> <<"Ssl">>;
socktype(ws) -> <<"Ws">>;
socktype(proxy) -> <<"Proxy">>.

peercert(nossl) -> <<"NoSsl">>;
peercert(undefined) -> <<"Undefined">>;
peercert(Der) when is_binary(Der) -> {<<"Der">>, Der}.

%% @doc A properties map: every key, with its value, in any order.
properties(T, D) ->
    Want = lists:sort([{atom_to_binary(K, utf8), prop(V)} || {K, V} <- maps:to_list(T)]),
    Got = lists:sort(maps:to_list(D)),
    ?EQ(properties, Want, Got).

prop(I) when is_integer(I) -> {<<"Int">>, I};
prop(B) when is_binary(B) -> {<<"Bin">>, B};
prop(L) when is_list(L) -> {<<"Pairs">>, [{K, V} || {K, V} <- L]}.

%% @doc sessinfo().
sessinfo(T, D) ->
    ?EQ(upgrade_qos, maps:get(upgrade_qos, T), maps:get(<<"upgrade_qos">>, D)),
    ?EQ(retry_interval, maps:get(retry_interval, T), maps:get(<<"retry_interval">>, D)),
    ?EQ(await_rel_timeout, maps:get(await_rel_timeout, T), maps:get(<<"await_rel_timeout">>, D)),
    ?EQ(created_at, maps:get(created_at, T), maps:get(<<"created_at">>, D)),
    Subs = maps:get(subscriptions, T),
    Got = maps:get(<<"subscriptions">>, D),
    ?EQ(subscription_count, maps:size(Subs), length(Got)),
    [begin
         Topic = maps:get(<<"topic">>, S),
         subopts(maps:get(Topic, Subs), maps:get(<<"opts">>, S))
     end || S <- Got],
    ok.

qos(undefined) -> undefined;
qos(0) -> <<"AtMostOnce">>;
qos(1) -> <<"AtLeastOnce">>;
qos(2) -> <<"ExactlyOnce">>.

%% @doc subopts().
subopts(T, D) ->
    ?EQ(qos, qos(maps:get(qos, T, undefined)), maps:get(<<"qos">>, D)),
    [?EQ(K, maps:get(K, T, undefined), maps:get(atom_to_binary(K, utf8), D))
     || K <- [rh, rap, nl, share, subid, is_new]],
    [case maps:get(K, T, undefined) of
         undefined -> ?EQ(K, undefined, maps:get(atom_to_binary(K, utf8), D));
         P -> properties(P, maps:get(atom_to_binary(K, utf8), D))
     end || K <- [sub_props, unsub_props]],
    ok.

%% @doc A topic-filter list.
filters(T, D) ->
    ?EQ(filter_count, length(T), length(D)),
    lists:foreach(fun({{Topic, Opts}, F}) ->
                          ?EQ(filter_topic, Topic, maps:get(<<"topic">>, F)),
                          subopts(Opts, maps:get(<<"opts">>, F))
                  end, lists:zip(T, D)).

%% @doc The #message{} record (and the id's hex in the report).
message({message, Id, QoS, From, Flags, Headers, Topic, Payload, Ts}, Report) ->
    D = maps:get(<<"message">>, Report),
    ?EQ(id_hex, list_to_binary([io_lib:format("~2.16.0B", [B]) || <<B>> <= Id]),
        maps:get(<<"message_id">>, Report)),
    ?EQ(qos, qos(QoS), maps:get(<<"qos">>, D)),
    ?EQ(from, from(From), maps:get(<<"from">>, D)),
    ?EQ(topic, Topic, maps:get(<<"topic">>, D)),
    ?EQ(payload, iolist_to_binary(Payload), maps:get(<<"payload">>, D)),
    ?EQ(timestamp, Ts, maps:get(<<"timestamp">>, D)),
    DF = maps:get(<<"flags">>, D),
    [?EQ({flag, F}, maps:get(F, Flags, false), maps:get(atom_to_binary(F, utf8), DF))
     || F <- [dup, retain, sys, nl]],
    DH = maps:get(<<"headers">>, D),
    ?EQ(username, maps:get(username, Headers, undefined), maps:get(<<"username">>, DH)),
    ?EQ(peerhost, ip(maps:get(peerhost, Headers, undefined)), maps:get(<<"peerhost">>, DH)),
    ?EQ(proto_ver, maps:get(proto_ver, Headers, undefined), maps:get(<<"proto_ver">>, DH)),
    ?EQ(protocol, atom_bin(maps:get(protocol, Headers, undefined)), maps:get(<<"protocol">>, DH)),
    properties(maps:get(properties, Headers, #{}), maps:get(<<"properties">>, DH)),
    case maps:get(puback_props, Headers, undefined) of
        undefined -> ?EQ(puback_props, undefined, maps:get(<<"puback_props">>, DH));
        P -> properties(P, maps:get(<<"puback_props">>, DH))
    end.

from(undefined) -> <<"Undefined">>;
from(B) when is_binary(B) -> {<<"Client">>, B};
from(A) when is_atom(A) -> {<<"System">>, atom_to_binary(A, utf8)}.

%% @doc A reason, as the SDK's Display prints it (Erlang's ~w for atoms, ints, tuples).
reason(T, D) ->
    ?EQ(reason, iolist_to_binary(io_lib:format("~w", [T])), D).
