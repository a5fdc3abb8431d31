%%--------------------------------------------------------------------
%% Scenario driver of the EMQX 4.2.14 TEST DOUBLE, used only by tests.
%%
%% Plays MQTT client lifecycles through the hook API. Each client is its
%% own process (like an EMQX connection process) and runs its hooks there
%% through emqx_hooks, applying the results as EMQX 4.2.14 does (contract
%% sections 2, 3 and 3.21; the captures):
%%
%%   connect:    client.connect -> client.authenticate ->
%%               (reject: client.connack(Reason), stop) -> client.connected ->
%%               session.created | session.resumed (+ session.takeovered in
%%               the old process) | session.discarded (old) before
%%               session.created -> client.connack(success)
%%   subscribe:  client.subscribe -> per returned filter:
%%               client.check_acl(subscribe) -> session.subscribed
%%   publish:    client.check_acl(publish) -> message.publish ->
%%               (allow_publish =:= false: cancelled) -> per matching
%%               subscription message.delivered in the subscriber process
%%               (+ message.acked for QoS > 0) | message.dropped
%%   disconnect: client.disconnected -> session.terminated({shutdown, R})
%%               when the session expiry interval is 0
%%
%% Hook results are held to what EMQX's own code requires of them, and a
%% result EMQX would crash on crashes the client process here too (the
%% caller gets {error, {crashed, Reason}}): the CONNECT properties of
%% client.connect (emqx_double_check:connect_props/2, then check_conn_props
%% and enhanced auth as emqx_packet / emqx_channel), an {error, RC} whose
%% RC the CONNACK cannot carry, CONNACK properties the frame module cannot
%% write (emqx_double_frame, for every protocol version), a message from
%% message.publish / message.delivered with a field of the wrong type
%% (emqx_double_check:message/1) or a delivered message the PUBLISH packet
%% cannot carry, a client.subscribe / client.unsubscribe element that is not
%% {binary(), map()} (subscribe: with a qos the SUBACK can carry), and a
%% non-boolean is_superuser from client.authenticate.
%%
%% Deliveries are synchronous (the publisher waits for each subscriber to
%% run its hooks) so that recorded hook sequences are deterministic; a
%% client subscribed to its own publication gets it right after the
%% publish call returns.
%%
%% Client spec keys (all optional): clientid (binary; <<>> = generated),
%% username, password, peerhost (IPv4/IPv6 tuple), peerport, sockport,
%% proto_ver (3 | 4 | 5), clean_start, expiry_interval, keepalive,
%% conn_props (v5), zone (external; `internal' bypasses auth and ACL),
%% allow_anonymous (true), acl_nomatch (allow), enable_acl,
%% bypass_auth_plugins, enable_acl_cache (true), acl_cache_ttl (60000),
%% acl_cache_max_size (32), upgrade_qos (false), is_bridge (false),
%% auto_ack (true: a subscriber acks QoS 1/2 deliveries at once; false:
%% call ack/1).
%%
%% Not simulated: mountpoints, will messages, retained messages, topic
%% aliases, keepalive timers, QoS 2 PUBREL/PUBCOMP, bans, enhanced auth,
%% the zone capability checks (max_qos, max_subscriptions).
%%--------------------------------------------------------------------
-module(emqx_double_scenario).

-behaviour(gen_server).

-export([connect/1, subscribe/2, subscribe/3, unsubscribe/2, unsubscribe/3,
         publish/4, publish/5, publish/6, received/1, ack/1,
         disconnect/1, disconnect/2, disconnect/3, kick/1, expire/1,
         clean_acl_cache/1, info/1, lookup/1, kill/1,
         publish_sys/2, broker_publish/1]).

-export([init/1, handle_call/3, handle_cast/2, handle_info/2,
         terminate/2, code_change/3]).

-define(TIMEOUT, 60000).
-define(CHANNELS, emqx_double_channels).
-define(ROUTES, emqx_double_routes).
-define(SHARED, emqx_double_shared).

%%====================================================================
%% API
%%====================================================================

%% @doc Start a client process and CONNECT it.
%% {ok, Client} | {error, ConnackReasonName} | {error, {crashed, Reason}}.
connect(Spec) when is_map(Spec) ->
    {ok, Pid} = gen_server:start(?MODULE, Spec, []),
    case call(Pid, connect) of
        {ok, Pid} -> {ok, Pid};
        Error -> Error
    end.

%% @doc SUBSCRIBE with [Filter | {Filter, QoS} | {Filter, SubOptsMap}]
%% (filters may carry $share/G/ or $queue/). {ok, [SubackCode]}: the
%% granted QoS per filter returned by client.subscribe, or 16#87 (v5) /
%% 16#80 (v3/v4) when denied.
subscribe(Client, TopicFilters) ->
    subscribe(Client, TopicFilters, #{}).

%% @doc SUBSCRIBE with SUBSCRIBE properties (v5), e.g.
%% #{'Subscription-Identifier' => 7}.
subscribe(Client, TopicFilters, SubProps) ->
    call(Client, {subscribe, TopicFilters, SubProps}).

%% @doc UNSUBSCRIBE. {ok, [Code]}: 0 or 16#11 (no subscription existed).
unsubscribe(Client, Filters) ->
    unsubscribe(Client, Filters, #{}).

%% @doc UNSUBSCRIBE with UNSUBSCRIBE properties.
unsubscribe(Client, Filters, UnsubProps) ->
    call(Client, {unsubscribe, Filters, UnsubProps}).

%% @doc PUBLISH. {ok, #{delivered => N}} | {ok, cancelled} |
%% {ok, no_subscribers} | {error, not_authorized} | {error, Other}.
publish(Client, Topic, Payload, QoS) ->
    publish(Client, Topic, Payload, QoS, #{}).

%% @doc PUBLISH with PUBLISH properties (v5 map, e.g. 'User-Property').
publish(Client, Topic, Payload, QoS, Props) ->
    publish(Client, Topic, Payload, QoS, Props, #{}).

%% @doc PUBLISH with properties and flags (#{retain => boolean()}).
publish(Client, Topic, Payload, QoS, Props, Flags) ->
    call(Client, {publish, bin(Topic), bin(Payload), QoS,
                  #{properties => Props, retain => maps:get(retain, Flags, false)}}).

%% @doc Messages this client received, oldest first, as returned by
%% message.delivered.
received(Client) ->
    call(Client, received).

%% @doc Acknowledge every unacknowledged QoS 1/2 delivery (auto_ack =>
%% false clients); runs message.acked for each. {ok, N}.
ack(Client) ->
    call(Client, ack).

%% @doc The client sends DISCONNECT (reason normal, disconn_props #{}).
disconnect(Client) ->
    disconnect(Client, normal, #{}).

%% @doc The connection closes for Reason without a DISCONNECT packet,
%% e.g. tcp_closed, keepalive_timeout (no disconn_props).
disconnect(Client, Reason) ->
    disconnect(Client, Reason, undefined).

%% @doc The client sends DISCONNECT with Reason and properties.
disconnect(Client, Reason, DisconnProps) ->
    call(Client, {disconnect, Reason, DisconnProps}).

%% @doc Kick a client (by pid or clientid) as the management API does:
%% client.disconnected(kicked) if connected, session.terminated(kicked).
kick(ClientId) when is_binary(ClientId) ->
    case lookup(ClientId) of
        undefined -> {error, not_found};
        Pid -> kick(Pid)
    end;
kick(Client) ->
    call(Client, kick).

%% @doc Fire the session expiry of a disconnected client that kept its
%% session: session.terminated({shutdown, expired}).
expire(Client) ->
    call(Client, expire).

%% @doc Clear the client's ACL cache.
clean_acl_cache(Client) ->
    call(Client, clean_acl_cache).

%% @doc State of a client: #{clientid, conninfo, clientinfo, connected,
%% subscriptions, connect_props, connack_props, inflight, mqueue,
%% acl_cache, session_created_at}.
info(Client) ->
    call(Client, info).

%% @doc Pid of the channel holding ClientId's session, or undefined.
lookup(ClientId) ->
    case catch ets:lookup(?CHANNELS, bin(ClientId)) of
        [{_, Pid}] -> Pid;
        _ -> undefined
    end.

%% @doc Kill a client process at once (no hooks run).
kill(Client) ->
    exit(Client, kill),
    ok.

%% @doc Publish a $SYS message from a long-lived `emqx_sys' process
%% (registered as emqx_double_sys; from => emqx_sys, flags #{sys => true},
%% headers #{}); same results as publish/4.
publish_sys(Topic, Payload) ->
    Pid = sys_publisher(),
    Ref = monitor(process, Pid),
    Pid ! {publish, self(), Ref, bin(Topic), bin(Payload)},
    receive
        {Ref, Result} -> demonitor(Ref, [flush]), Result;
        {'DOWN', Ref, process, Pid, Reason} -> {error, {crashed, Reason}}
    after ?TIMEOUT -> {error, timeout}
    end.

sys_publisher() ->
    case whereis(emqx_double_sys) of
        undefined ->
            Pid = spawn(fun sys_loop/0),
            try register(emqx_double_sys, Pid) of
                true -> Pid
            catch error:badarg -> exit(Pid, kill), sys_publisher()
            end;
        Pid -> Pid
    end.

sys_loop() ->
    receive
        {publish, From, Ref, Topic, Payload} ->
            Msg = emqx_double_terms:sys_message(Topic, Payload),
            From ! {Ref, broker_publish(Msg)},
            sys_loop();
        stop -> ok
    end.

%% @doc emqx_broker:publish/1 in the calling process: message.publish,
%% then cancel / route / message.dropped. Raises if a hook returned a
%% non-message (as EMQX crashes the publisher).
broker_publish(Msg0) ->
    IsSys = is_sys(Msg0),
    IsSys orelse inc('messages.publish'),
    Msg = emqx_double_check:message(
            emqx_hooks:run_fold('message.publish', [], clean_dup(Msg0))),
    case maps:get(allow_publish, headers(Msg), true) of
        false ->
            logger:notice("Stop publishing: ~0p", [Msg]),
            {ok, cancelled};
        _ ->
            case route(Msg) of
                0 ->
                    ok = emqx_hooks:run('message.dropped', [Msg, #{node => node()}, no_subscribers]),
                    inc_dropped(topic(Msg)),
                    {ok, no_subscribers};
                N ->
                    {ok, #{delivered => N}}
            end
    end.

%%====================================================================
%% Routing
%%====================================================================

route(Msg) ->
    Topic = topic(Msg),
    Matches = lists:keysort(4, [{Pid, F, Opts, Seq}
                                || {{Pid, F}, {Opts, Seq}} <- ets:tab2list(?ROUTES),
                                   emqx_topic:match(Topic, F)]),
    {Shared, Normal} = lists:partition(fun({_, _, Opts, _}) -> maps:is_key(share, Opts) end,
                                       Matches),
    Targets = Normal ++ pick_shared(Shared),
    %% A subscriber process that is gone counts as no subscriber.
    length([ok || {Pid, F, Opts, _} <- Targets, dispatch(Pid, F, Opts, Msg) =:= ok]).

%% One member per {Group, Filter}, round robin.
pick_shared(Shared) ->
    Groups = lists:foldl(fun(T = {_, F, #{share := G}, _}, Acc) ->
                                 orddict:append({G, F}, T, Acc)
                         end, orddict:new(), Shared),
    [lists:nth(ets:update_counter(?SHARED, Key, 1, {Key, -1}) rem length(Members) + 1,
               Members)
     || {Key, Members} <- Groups].

dispatch(Pid, F, Opts, Msg) when Pid =:= self() ->
    self() ! {deliver, F, Opts, Msg},
    ok;
dispatch(Pid, F, Opts, Msg) ->
    try gen_server:call(Pid, {deliver, F, Opts, Msg}, ?TIMEOUT)
    catch exit:_ -> error
    end.

%%====================================================================
%% Client process
%%====================================================================

%% @private
init(Spec) ->
    {ok, #{spec => emqx_double_terms:normalize_spec(Spec),
           conninfo => undefined, clientinfo => undefined,
           connected => false, session => undefined,
           connect_props => undefined, connack_props => undefined,
           received => [], inflight => [], mqueue => [], pendings => [],
           acl_cache => [], takeover => false}}.

%% @private
handle_call(connect, _From, S = #{conninfo := undefined}) ->
    guarded(fun do_connect/1, S);
handle_call(connect, _From, S) ->
    {reply, {error, already_connected}, S};
handle_call({deliver, F, Opts, Msg}, _From, S) ->
    guarded(fun(S1) -> {reply, ok, handle_deliver(F, Opts, Msg, S1)} end, S);
handle_call({takeover, 'begin'}, _From, S = #{session := Session}) when Session =/= undefined ->
    #{inflight := Inflight, mqueue := MQueue} = S,
    {reply, {ok, Session#{inflight => Inflight, mqueue => MQueue}},
     S#{takeover => true}};
handle_call({takeover, 'end'}, From, S = #{pendings := Pendings}) ->
    gen_server:reply(From, {ok, Pendings}),
    _ = safe_run_session_hook('session.takeovered', S),
    {stop, normal, S#{session => undefined}};
handle_call(discard, From, S = #{session := Session}) when Session =/= undefined ->
    gen_server:reply(From, ok),
    _ = safe_run_session_hook('session.discarded', S),
    {stop, normal, S#{session => undefined}};
handle_call(received, _From, S = #{received := Received}) ->
    {reply, lists:reverse(Received), S};
handle_call(info, _From, S) ->
    {reply, info_map(S), S};
handle_call(clean_acl_cache, _From, S) ->
    {reply, ok, S#{acl_cache => []}};
handle_call(kick, _From, S) ->
    guarded(fun do_kick/1, S);
handle_call(expire, _From, S = #{connected := false, session := Session})
  when Session =/= undefined ->
    guarded(fun(S1) -> {stop, normal, ok, terminate_session({shutdown, expired}, S1)} end, S);
handle_call(expire, _From, S) ->
    {reply, {error, not_expirable}, S};
handle_call(_Req, _From, S = #{connected := false}) ->
    {reply, {error, not_connected}, S};
handle_call({subscribe, TFs, Props}, _From, S) ->
    guarded(fun(S1) -> do_subscribe(TFs, Props, S1) end, S);
handle_call({unsubscribe, Fs, Props}, _From, S) ->
    guarded(fun(S1) -> do_unsubscribe(Fs, Props, S1) end, S);
handle_call({publish, Topic, Payload, QoS, Opts}, _From, S) ->
    guarded(fun(S1) -> do_publish(Topic, Payload, QoS, Opts, S1) end, S);
handle_call(ack, _From, S = #{inflight := Inflight}) ->
    guarded(fun(S1) ->
                    lists:foreach(fun(M) -> ack_message(M, S1) end, Inflight),
                    {reply, {ok, length(Inflight)}, S1#{inflight => []}}
            end, S);
handle_call({disconnect, Reason, Props}, _From, S) ->
    guarded(fun(S1) -> do_disconnect(Reason, Props, S1) end, S);
handle_call(Req, _From, S) ->
    {reply, {error, {unknown_request, Req}}, S}.

%% @private
handle_cast(_Msg, S) ->
    {noreply, S}.

%% @private
handle_info({deliver, F, Opts, Msg}, S) ->
    case guarded(fun(S1) -> {reply, ok, handle_deliver(F, Opts, Msg, S1)} end, S) of
        {reply, ok, S2} -> {noreply, S2};
        {stop, Reason, _Reply, S2} -> {stop, Reason, S2}
    end;
handle_info(_Info, S) ->
    {noreply, S}.

%% @private
terminate(_Reason, #{clientinfo := CI}) ->
    catch ets:match_delete(?ROUTES, {{self(), '_'}, '_'}),
    case CI of
        #{clientid := ClientId} -> catch ets:delete_object(?CHANNELS, {ClientId, self()});
        _ -> ok
    end,
    ok.

%% @private
code_change(_OldVsn, S, _Extra) ->
    {ok, S}.

%% A hook exception (filter) or a bad accumulator crashes the connection
%% process: session.terminated runs with the crash reason if a session
%% was opened, and the caller gets {error, {crashed, Reason}}.
guarded(Fun, S) ->
    try Fun(S)
    catch
        _Class:Reason:Stack ->
            logger:error("emqx_double client ~p crashed: ~0p ~0p", [self(), Reason, Stack]),
            S1 = case maps:get(session, S) of
                     undefined -> S;
                     _ -> try terminate_session(Reason, S) catch _:_ -> S end
                 end,
            {stop, normal, {error, {crashed, Reason}}, S1}
    end.

%%--------------------------------------------------------------------
%% CONNECT
%%--------------------------------------------------------------------

do_connect(S = #{spec := Spec}) ->
    ConnInfo = emqx_double_terms:conninfo(Spec),
    S1 = S#{conninfo => ConnInfo},
    inc('client.connect'),
    case emqx_hooks:run_fold('client.connect', [ConnInfo], maps:get(conn_props, ConnInfo)) of
        {error, ReasonCode} ->
            reject(ReasonCode, S1);
        ConnectProps ->
            S2 = S1#{connect_props => ConnectProps},
            %% emqx_packet:check/2: client id, then the properties
            case maps:get(clientid, ConnInfo) of
                <<>> when not map_get(clean_start, ConnInfo) -> reject(16#85, S2);
                ClientId ->
                    case emqx_double_check:connect_props(maps:get(proto_ver, ConnInfo),
                                                         ConnectProps) of
                        {error, RC} -> reject(RC, S2);
                        ok when ClientId =:= <<>> ->
                            authenticate(emqx_double_terms:clientid(), true, S2);
                        ok -> authenticate(ClientId, false, S2)
                    end
            end
    end.

authenticate(ClientId, Assigned, S = #{spec := Spec}) ->
    ClientInfo = emqx_double_terms:clientinfo(Spec, ClientId),
    S1 = S#{clientinfo => ClientInfo},
    Default = case maps:get(allow_anonymous, Spec) of
                  true -> #{auth_result => success, anonymous => true};
                  _ -> #{auth_result => not_authorized, anonymous => false}
              end,
    Result = case maps:get(bypass_auth_plugins, Spec) of
                 true -> Default;
                 false ->
                     inc('client.authenticate'),
                     Password = maps:get(password, Spec),
                     emqx_hooks:run_fold('client.authenticate',
                                         [ClientInfo#{password => Password}], Default)
             end,
    case Result of
        #{auth_result := success} ->
            maps:get(anonymous, Result, false) =:= true andalso inc('client.auth.anonymous'),
            S2 = S1#{clientinfo => maps:merge(ClientInfo, Result)},
            case enhanced_auth(S2) of
                {ok, AuthProps} -> connected(Assigned, AuthProps, S2);
                {error, RC} -> reject(RC, S2)
            end;
        _ ->
            reject(emqx_double_terms:connack_error(maps:get(auth_result, Result, unknown_error)), S1)
    end.

%% emqx_channel:enhanced_auth/2 of 4.2.14 for CONNECT: MQTT 5 only, with the
%% properties client.connect returned. Method and data both present run
%% client.enhanced_authenticate (a {continue, ...} exchange is not
%% simulated); one without the other refuses the client (not_authorized).
enhanced_auth(#{conninfo := #{proto_ver := 5}, connect_props := Props}) ->
    Get = fun(K) -> case Props of #{K := V} -> V; _ -> undefined end end,
    case {Get('Authentication-Method'), Get('Authentication-Data')} of
        {undefined, undefined} -> {ok, #{}};
        {undefined, _} -> {error, 16#87};
        {_, undefined} -> {error, 16#87};
        {Method, Data} ->
            inc('client.enhanced_authenticate'),
            case emqx_hooks:run_fold('client.enhanced_authenticate', [Method, Data], #{}) of
                {ok, NData, _Cache} ->
                    {ok, #{'Authentication-Method' => Method, 'Authentication-Data' => NData}};
                {continue, _, _} ->
                    error({not_simulated, continue_authentication});
                _ ->
                    {error, 16#87}
            end
    end;
enhanced_auth(_S) ->
    {ok, #{}}.

%% A refused CONNECT: client.connack with the reason name, then the CONNACK
%% is written (emqx_double_frame); a code or properties the frame module
%% cannot write crash the client, as they crash EMQX's connection process.
reject(ReasonCode, S = #{conninfo := ConnInfo}) ->
    Reason = emqx_double_terms:reason_name(ReasonCode),
    inc('client.connack'),
    AckProps = emqx_hooks:run_fold('client.connack', [ConnInfo, Reason], #{}),
    Ver = maps:get(proto_ver, ConnInfo),
    _ = emqx_double_frame:connack(Ver, emqx_double_frame:connack_code(Ver, ReasonCode), AckProps),
    {stop, normal, {error, Reason}, S#{connack_props => AckProps}}.

connected(Assigned, AuthProps, S = #{conninfo := ConnInfo0, clientinfo := ClientInfo}) ->
    ConnInfo = ConnInfo0#{connected_at => emqx_double_terms:now_ms()},
    inc('client.connected'),
    ok = emqx_hooks:run('client.connected', [ClientInfo, ConnInfo]),
    {S1, Replay} = open_session(S#{conninfo => ConnInfo}),
    AckProps0 = maps:merge(AuthProps,
                           emqx_double_terms:connack_props(
                             maps:get(proto_ver, ConnInfo),
                             case Assigned of
                                 true -> maps:get(clientid, ClientInfo);
                                 false -> undefined
                             end)),
    inc('client.connack'),
    AckProps = emqx_hooks:run_fold('client.connack', [ConnInfo, success], AckProps0),
    %% A CONNACK that cannot be written crashes the connection process, whose
    %% session (open by now) terminates with the crash reason.
    try emqx_double_frame:connack(maps:get(proto_ver, ConnInfo), 0, AckProps)
    catch Class:Reason:Stack ->
            _ = (catch terminate_session(Reason, S1)),
            erlang:raise(Class, Reason, Stack)
    end,
    S2 = S1#{connected => true, connack_props => AckProps},
    S3 = lists:foldl(fun replay/2, S2, Replay),
    {reply, {ok, self()}, S3}.

%%--------------------------------------------------------------------
%% Sessions (emqx_cm): create, resume (takeover) or discard
%%--------------------------------------------------------------------

open_session(S = #{clientinfo := #{clientid := ClientId}, conninfo := ConnInfo}) ->
    CleanStart = maps:get(clean_start, ConnInfo),
    global:trans({{?MODULE, ClientId}, self()},
                 fun() -> open_session(CleanStart, other_channel(ClientId), S) end,
                 [node()]).

open_session(true, undefined, S) ->
    create_session(S);
open_session(true, Old, S) ->
    _ = call_old(Old, discard),
    create_session(S);
open_session(false, undefined, S) ->
    create_session(S);
open_session(false, Old, S) ->
    case catch gen_server:call(Old, {takeover, 'begin'}, ?TIMEOUT) of
        {ok, Session} -> resume_session(Old, Session, S);
        _ -> create_session(S)
    end.

create_session(S = #{clientinfo := CI}) ->
    Session = #{subs => #{}, created_at => emqx_double_terms:now_ms()},
    register_channel(S),
    S1 = S#{session => Session},
    inc('session.created'),
    ok = emqx_hooks:run('session.created', [CI, sessinfo(S1)]),
    {S1, []}.

resume_session(Old, Session0, S = #{clientinfo := CI}) ->
    #{inflight := Inflight, mqueue := MQueue} = Session0,
    Session = maps:without([inflight, mqueue], Session0),
    register_channel(S),
    move_routes(Old, self()),
    S1 = S#{session => Session},
    inc('session.resumed'),
    ok = emqx_hooks:run('session.resumed', [CI, sessinfo(S1)]),
    Pendings = case call_old(Old, {takeover, 'end'}) of
                   {ok, P} -> P;
                   _ -> []
               end,
    Redeliver = [{redeliver, set_flag(dup, true, M)} || M <- Inflight],
    {S1, Redeliver ++ [{deliver, T} || T <- MQueue ++ Pendings]}.

%% Call the old channel and wait until it has terminated (it runs
%% session.discarded / session.takeovered after replying).
call_old(Old, Req) ->
    Ref = monitor(process, Old),
    Reply = (catch gen_server:call(Old, Req, ?TIMEOUT)),
    case Reply of
        ok -> wait_down(Ref, Old);
        {ok, _} -> wait_down(Ref, Old);
        _ -> demonitor(Ref, [flush])
    end,
    Reply.

wait_down(Ref, Pid) ->
    receive {'DOWN', Ref, process, Pid, _} -> true
    after ?TIMEOUT -> demonitor(Ref, [flush])
    end.

other_channel(ClientId) ->
    case ets:lookup(?CHANNELS, ClientId) of
        [{_, Pid}] when Pid =/= self() ->
            case is_process_alive(Pid) of
                true -> Pid;
                false -> undefined
            end;
        _ -> undefined
    end.

register_channel(#{clientinfo := #{clientid := ClientId}}) ->
    true = ets:insert(?CHANNELS, {ClientId, self()}).

move_routes(From, To) ->
    Routes = ets:match_object(?ROUTES, {{From, '_'}, '_'}),
    lists:foreach(fun({{_, F}, V}) ->
                          true = ets:delete(?ROUTES, {From, F}),
                          true = ets:insert(?ROUTES, {{To, F}, V})
                  end, Routes).

sessinfo(#{session := #{subs := Subs, created_at := CreatedAt}}) ->
    emqx_double_terms:sessinfo(Subs, CreatedAt).

safe_run_session_hook(HookPoint, S = #{clientinfo := CI}) ->
    inc(HookPoint),
    try emqx_hooks:run(HookPoint, [CI, sessinfo(S)])
    catch C:R -> logger:error("~s hook crashed: ~0p", [HookPoint, {C, R}])
    end.

terminate_session(Reason, S = #{clientinfo := CI}) ->
    inc('session.terminated'),
    ok = emqx_hooks:run('session.terminated', [CI, Reason, sessinfo(S)]),
    S#{session => undefined}.

%%--------------------------------------------------------------------
%% SUBSCRIBE / UNSUBSCRIBE
%%--------------------------------------------------------------------

do_subscribe(TFs0, SubProps, S = #{clientinfo := CI}) ->
    TFs = [parse_subscription(TF, SubProps) || TF <- TFs0],
    case lists:all(fun({F, _}) -> valid(filter, F) end, TFs) of
        false -> {reply, {error, topic_filter_invalid}, S};
        true ->
            inc('client.subscribe'),
            TFs1 = emqx_hooks:run_fold('client.subscribe', [CI, SubProps], TFs),
            {Codes, S1} = lists:mapfoldl(fun(TF, Acc) -> subscribe_one(TF, SubProps, Acc) end,
                                         S, TFs1),
            {reply, {ok, Codes}, S1}
    end.

parse_subscription({Filter, QoS}, SubProps) when is_integer(QoS) ->
    parse_subscription({Filter, #{qos => QoS}}, SubProps);
parse_subscription({Filter, Opts}, SubProps) when is_map(Opts) ->
    {F, ShareOpts} = emqx_topic:parse(bin(Filter)),
    Base = maps:merge(#{qos => 0, rh => 0, rap => 0, nl => 0}, maps:merge(Opts, ShareOpts)),
    case maps:find('Subscription-Identifier', SubProps) of
        {ok, SubId} -> {F, Base#{subid => SubId}};
        error -> {F, Base}
    end;
parse_subscription(Filter, SubProps) ->
    parse_subscription({Filter, #{}}, SubProps).

%% emqx_channel:process_subscribe/4 of 4.2.14 takes {TopicFilter, SubOpts}
%% elements, do_subscribe/3 matches #{qos := QoS} and emqx_broker needs a
%% binary topic; the granted QoS is a SUBACK reason code, which must be a
%% byte (v3/v4: 0..2 or 16#80.., emqx_reason_codes:compat(suback, _)).
subscribe_one({Filter, SubOpts = #{qos := QoS}}, SubProps, S = #{conninfo := ConnInfo})
  when is_binary(Filter) ->
    case check_acl(subscribe, Filter, S) of
        {deny, S1} ->
            {case maps:get(proto_ver, ConnInfo) of 5 -> 16#87; _ -> 16#80 end, S1};
        {allow, S1} ->
            suback_code(maps:get(proto_ver, ConnInfo), QoS),
            NSubOpts = enrich_subopts(maps:merge(#{rh => 0, rap => 0, nl => 0, qos => 0},
                                                 SubOpts#{sub_props => SubProps}), S1),
            {maps:get(qos, NSubOpts), session_subscribe(Filter, NSubOpts, S1)}
    end;
subscribe_one(Other, _SubProps, _S) ->
    error({bad_subscription, Other}).

suback_code(5, Code) when is_integer(Code), Code >= 0, Code =< 255 -> ok;
suback_code(Ver, Code) when Ver =/= 5, is_integer(Code), Code >= 0, Code =< 2 -> ok;
suback_code(Ver, Code) when Ver =/= 5, is_integer(Code), Code >= 16#80, Code =< 255 -> ok;
suback_code(_Ver, Code) -> error({bad_reason_code, Code}).

%% v3/v4: rap is forced to the is_bridge flag, nl to ignore_loop_deliver
%% (false in the default zone).
enrich_subopts(SubOpts, #{conninfo := #{proto_ver := 5}}) ->
    SubOpts;
enrich_subopts(SubOpts, #{clientinfo := CI}) ->
    Rap = case maps:get(is_bridge, CI, false) of true -> 1; false -> 0 end,
    SubOpts#{rap => Rap, nl => 0}.

session_subscribe(Filter, SubOpts, S = #{clientinfo := CI, session := Session}) ->
    #{subs := Subs} = Session,
    IsNew = not maps:is_key(Filter, Subs),
    Seq = case ets:lookup(?ROUTES, {self(), Filter}) of
              [{_, {_, OldSeq}}] -> OldSeq;
              [] -> erlang:unique_integer([monotonic])
          end,
    true = ets:insert(?ROUTES, {{self(), Filter}, {SubOpts, Seq}}),
    ok = emqx_hooks:run('session.subscribed', [CI, Filter, SubOpts#{is_new => IsNew}]),
    S#{session => Session#{subs => Subs#{Filter => SubOpts}}}.

do_unsubscribe(Filters, UnsubProps, S = #{clientinfo := CI}) ->
    TFs = [emqx_topic:parse(bin(F)) || F <- Filters],
    inc('client.unsubscribe'),
    TFs1 = emqx_hooks:run_fold('client.unsubscribe', [CI, UnsubProps], TFs),
    {Codes, S1} = lists:mapfoldl(
                    fun({F, Opts}, Acc = #{session := Session = #{subs := Subs}})
                          when is_binary(F), is_map(Opts) ->
                            case maps:find(F, Subs) of
                                {ok, Stored} ->
                                    true = ets:delete(?ROUTES, {self(), F}),
                                    UnsubOpts = maps:merge(Stored, Opts#{unsub_props => UnsubProps}),
                                    ok = emqx_hooks:run('session.unsubscribed', [CI, F, UnsubOpts]),
                                    {0, Acc#{session => Session#{subs => maps:remove(F, Subs)}}};
                                error ->
                                    {16#11, Acc}
                            end;
                       (Other, _Acc) ->
                            %% emqx_channel:process_unsubscribe/4 takes {Filter, map()}
                            error({bad_subscription, Other})
                    end, S, TFs1),
    {reply, {ok, Codes}, S1}.

%%--------------------------------------------------------------------
%% PUBLISH (inbound) and ACL
%%--------------------------------------------------------------------

do_publish(Topic, Payload, QoS, Opts, S) ->
    case valid(name, Topic) of
        false -> {reply, {error, topic_name_invalid}, S};
        true ->
            case check_acl(publish, Topic, S) of
                {deny, S1} -> {reply, {error, not_authorized}, S1};
                {allow, S1} ->
                    Msg = emqx_double_terms:client_message(S1, Topic, Payload, QoS, Opts),
                    {reply, broker_publish(Msg), S1}
            end
    end.

check_acl(PubSub, Topic, S = #{clientinfo := CI, spec := Spec}) ->
    %% emqx_channel:is_acl_enabled/1: `not IsSuperuser' (badarg unless a boolean)
    #{is_superuser := IsSuperuser} = CI,
    case (not IsSuperuser) andalso maps:get(enable_acl, Spec) of
        false -> {allow, S};
        true ->
            Now = erlang:monotonic_time(millisecond),
            Key = {PubSub, Topic},
            Cache = [E || E = {_, _, At} <- maps:get(acl_cache, S),
                          Now - At < maps:get(acl_cache_ttl, Spec)],
            case {maps:get(enable_acl_cache, Spec), lists:keyfind(Key, 1, Cache)} of
                {true, {Key, Result, _}} -> {Result, S#{acl_cache => Cache}};
                {CacheOn, _} ->
                    inc('client.check_acl'),
                    Final = emqx_hooks:run_fold('client.check_acl', [CI, PubSub, Topic],
                                                maps:get(acl_nomatch, Spec)),
                    Result = case Final of allow -> allow; _ -> deny end,
                    Cache1 = case CacheOn of
                                 true -> trim(Cache ++ [{Key, Result, Now}],
                                              maps:get(acl_cache_max_size, Spec));
                                 false -> []
                             end,
                    {Result, S#{acl_cache => Cache1}}
            end
    end.

trim(List, Max) when length(List) > Max -> trim(tl(List), Max);
trim(List, _Max) -> List.

%%--------------------------------------------------------------------
%% Deliveries to this client (subscriber side)
%%--------------------------------------------------------------------

handle_deliver(F, Opts, Msg, S = #{takeover := true, pendings := P}) ->
    S#{pendings => P ++ [{F, Opts, Msg}]};
handle_deliver(F, Opts, Msg, S = #{connected := false, session := Session, mqueue := Q})
  when Session =/= undefined ->
    S#{mqueue => Q ++ [{F, Opts, Msg}]};
handle_deliver(_F, Opts, Msg, S = #{connected := true, clientinfo := CI}) ->
    case maps:get(nl, Opts, 0) =:= 1 andalso from(Msg) =:= maps:get(clientid, CI) of
        true -> S;   %% no-local: dropped (only counted by EMQX)
        false -> deliver_to_client(enrich_message(Opts, Msg, S), S)
    end;
handle_deliver(_F, _Opts, _Msg, S) ->
    S.

replay({redeliver, Msg}, S) -> deliver_to_client(Msg, S);
replay({deliver, {F, Opts, Msg}}, S) -> handle_deliver(F, Opts, Msg, S).

%% emqx_session:enrich_subopts/3 of 4.2.14.
enrich_message(Opts, Msg0, #{spec := Spec}) ->
    SubQoS = maps:get(qos, Opts, 0),
    PubQoS = element(3, Msg0),
    QoS = case maps:get(upgrade_qos, Spec) of
              true -> max(SubQoS, PubQoS);
              false -> min(SubQoS, PubQoS)
          end,
    Msg1 = setelement(3, Msg0, QoS),
    Msg2 = case maps:get(nl, Opts, 0) of 1 -> set_flag(nl, true, Msg1); _ -> Msg1 end,
    Msg3 = case {maps:get(rap, Opts, 0), maps:get(retained, headers(Msg2), false)} of
               {0, false} -> set_flag(retain, false, Msg2);
               _ -> Msg2
           end,
    case maps:find(subid, Opts) of
        {ok, SubId} ->
            Props = maps:get(properties, headers(Msg3), #{}),
            set_header(properties, Props#{'Subscription-Identifier' => SubId}, Msg3);
        error -> Msg3
    end.

deliver_to_client(Msg, S = #{clientinfo := CI, spec := Spec}) ->
    inc('messages.delivered'),
    Out = emqx_double_check:message(emqx_hooks:run_fold('message.delivered', [CI], Msg)),
    %% written to the subscriber as a PUBLISH packet
    _ = emqx_double_frame:publish(maps:get(proto_ver, maps:get(conninfo, S)), 1, Out),
    S1 = S#{received => [Out | maps:get(received, S)]},
    case element(3, Msg) > 0 of
        false -> S1;
        true ->
            case maps:get(auto_ack, Spec) of
                true -> ack_message(Msg, S1), S1;
                false -> S1#{inflight => maps:get(inflight, S1) ++ [Msg]}
            end
    end.

ack_message(Msg, #{clientinfo := CI}) ->
    inc('messages.acked'),
    ok = emqx_hooks:run('message.acked', [CI, set_header(puback_props, #{}, Msg)]).

%%--------------------------------------------------------------------
%% DISCONNECT / kick
%%--------------------------------------------------------------------

do_disconnect(Reason, DisconnProps, S = #{clientinfo := CI, conninfo := ConnInfo0}) ->
    ConnInfo1 = ConnInfo0#{disconnected_at => emqx_double_terms:now_ms()},
    ConnInfo = case DisconnProps of
                   undefined -> ConnInfo1;
                   _ -> ConnInfo1#{disconn_props => DisconnProps}
               end,
    inc('client.disconnected'),
    ok = emqx_hooks:run('client.disconnected', [CI, Reason, ConnInfo]),
    S1 = S#{connected => false, conninfo => ConnInfo, acl_cache => []},
    case maps:get(expiry_interval, ConnInfo) of
        0 -> {stop, normal, ok, terminate_session({shutdown, Reason}, S1)};
        _ -> {reply, ok, S1}
    end.

do_kick(S = #{session := undefined}) ->
    {stop, normal, ok, S};
do_kick(S = #{connected := true, clientinfo := CI, conninfo := ConnInfo0}) ->
    ConnInfo = ConnInfo0#{disconnected_at => emqx_double_terms:now_ms()},
    inc('client.disconnected'),
    ok = emqx_hooks:run('client.disconnected', [CI, kicked, ConnInfo]),
    do_kick(S#{connected => false, conninfo => ConnInfo});
do_kick(S) ->
    {stop, normal, ok, terminate_session(kicked, S)}.

%%--------------------------------------------------------------------
%% Helpers
%%--------------------------------------------------------------------

info_map(S = #{spec := Spec, session := Session}) ->
    #{clientid => case maps:get(clientinfo, S) of
                      #{clientid := Id} -> Id;
                      _ -> maps:get(clientid, Spec)
                  end,
      conninfo => maps:get(conninfo, S),
      clientinfo => maps:get(clientinfo, S),
      connected => maps:get(connected, S),
      subscriptions => case Session of undefined -> #{}; #{subs := Subs} -> Subs end,
      session_created_at => case Session of undefined -> undefined;
                                #{created_at := T} -> T end,
      connect_props => maps:get(connect_props, S),
      connack_props => maps:get(connack_props, S),
      inflight => maps:get(inflight, S),
      mqueue => [M || {_, _, M} <- maps:get(mqueue, S)],
      acl_cache => [{K, R} || {K, R, _} <- maps:get(acl_cache, S)]}.

call(Client, Req) ->
    try gen_server:call(Client, Req, ?TIMEOUT)
    catch
        exit:{noproc, _} -> {error, not_alive};
        exit:{normal, _} -> {error, not_alive};
        exit:{{shutdown, _}, _} -> {error, not_alive}
    end.

valid(Type, Topic) ->
    try emqx_topic:validate(Type, Topic)
    catch error:_ -> false
    end.

inc(Name) ->
    catch emqx_metrics:inc(Name),
    ok.

inc_dropped(<<"$SYS/", _/binary>>) -> ok;
inc_dropped(_Topic) ->
    inc('messages.dropped'),
    inc('messages.dropped.no_subscribers').

bin(undefined) -> undefined;
bin(L) when is_list(L) -> iolist_to_binary(L);
bin(B) -> B.

is_sys(Msg) -> maps:get(sys, element(5, Msg), false) =:= true.

from(Msg) -> element(4, Msg).
topic(Msg) -> element(7, Msg).
headers(Msg) -> element(6, Msg).

set_flag(Flag, Val, Msg) -> setelement(5, Msg, maps:put(Flag, Val, element(5, Msg))).
set_header(Key, Val, Msg) -> setelement(6, Msg, maps:put(Key, Val, element(6, Msg))).

clean_dup(Msg) ->
    case element(5, Msg) of
        #{dup := true} = Flags -> setelement(5, Msg, Flags#{dup => false});
        _ -> Msg
    end.
