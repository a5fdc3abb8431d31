%% @doc The library's log lines name the client of the hook call that wrote them: the
%% logger metadata `clientid' and `peername' (which EMQX's log formatter prints as
%% `clientid@peer') and `pid' (the calling process), in every execution mode. The calling
%% process's own logger metadata (what EMQX set for that client) wins while it is alive;
%% otherwise the values come from the hook's arguments.
-module(rust_hook_log_meta_tests).

-include_lib("eunit/include/eunit.hrl").

%% The example library logs in client.connect, client.connected and message.publish,
%% in their default mode (auto); the other runs put them on the workers (pool, queue)
%% and inline.
meta_test_() ->
    [rust_hook_test_util:with_plugin("example_hook", Extra, cases(Label))
     || {Label, Extra} <- [{"default modes", []},
                           {"pool and queue", ["exhook.drivers.rust.mode.client_connect = pool",
                                               "exhook.drivers.rust.mode.client_connected = queue",
                                               "exhook.drivers.rust.mode.message_publish = pool"]},
                           {"inline", ["exhook.drivers.rust.mode.client_connect = inline",
                                       "exhook.drivers.rust.mode.client_connected = inline",
                                       "exhook.drivers.rust.mode.message_publish = inline"]}]].

cases(Label) ->
    [{Label ++ ": the calling process's logger metadata names the client",
      fun process_metadata_wins/0},
     {Label ++ ": without it, the publisher's client id from the message",
      fun publisher_from_args/0},
     {Label ++ ": client id and IP:Port from the conninfo",
      fun conninfo_peer/0},
     {Label ++ ": a caller gone before the line is written: from the arguments",
      fun caller_gone/0}].

msg(From, Topic) ->
    {message, <<9:128>>, 0, From, #{}, #{}, Topic, <<"payload">>, 1}.

conninfo(ClientId, Peer) ->
    #{clientid => ClientId, username => <<"u">>, peername => Peer,
      sockname => {{127, 0, 0, 1}, 1883}, proto_name => <<"MQTT">>, proto_ver => 4,
      clean_start => true, keepalive => 60, conn_props => #{}, socktype => tcp,
      connected_at => 1600000000000, conn_mod => emqx_connection, receive_maximum => 32,
      expiry_interval => 0}.

%% The log events of `Fun' whose text contains `Part'.
lines(Part, Fun) ->
    #{level := Primary} = logger:get_primary_config(),
    ok = logger:set_primary_config(level, info),
    {_, Logs} = try rust_hook_test_util:capture_logs(Fun)
                after logger:set_primary_config(level, Primary)
                end,
    [E || E = #{text := T} <- Logs, binary:match(T, Part) =/= nomatch].

%% Runs `Fun' in a new process that has `Meta' as its logger metadata and stays alive
%% until the lines are collected; returns {Pid, Events}.
in_client_process(Meta, Part, Fun) ->
    Self = self(),
    Run = fun() ->
                  Pid = spawn(fun() ->
                                      logger:set_process_metadata(Meta),
                                      Fun(),
                                      Self ! {ran, self()},
                                      receive stop -> ok end
                              end),
                  receive {ran, Pid} -> Pid end
          end,
    Events = lines(Part, fun() -> put(client_pid, Run()) end),
    Pid = get(client_pid),
    Pid ! stop,
    {Pid, Events}.

process_metadata_wins() ->
    Meta = #{clientid => <<"meta-client">>, peername => "10.9.8.7:4242"},
    Topic = unique_topic(),
    {Pid, Events} = in_client_process(
                      Meta, Topic,
                      fun() -> emqx_hooks:run_fold('message.publish', [], msg(<<"from-arg">>, Topic)) end),
    [#{meta := M}] = Events,
    ?assertEqual(<<"meta-client">>, maps:get(clientid, M)),
    ?assertEqual("10.9.8.7:4242", maps:get(peername, M)),
    ?assertEqual(Pid, maps:get(pid, M)),
    ?assertEqual([emqx_rust_hook], maps:get(domain, M)).

publisher_from_args() ->
    Topic = unique_topic(),
    [#{meta := M}] = lines(Topic, fun() ->
                                          emqx_hooks:run_fold('message.publish', [], msg(<<"pub-7">>, Topic))
                                  end),
    ?assertEqual(<<"pub-7">>, maps:get(clientid, M)),
    ?assertNot(maps:is_key(peername, M)),
    ?assertEqual(self(), maps:get(pid, M)).

conninfo_peer() ->
    Id = unique_id(),
    [#{meta := M}] = lines(Id, fun() ->
                                       emqx_hooks:run_fold('client.connect',
                                                           [conninfo(Id, {{10, 1, 2, 3}, 4567})], #{})
                               end),
    ?assertEqual(Id, maps:get(clientid, M)),
    ?assertEqual("10.1.2.3:4567", maps:get(peername, M)).

caller_gone() ->
    Id = unique_id(),
    ClientInfo = #{clientid => Id, username => <<"u">>, peerhost => {10, 0, 0, 9},
                   zone => external, protocol => mqtt, sockport => 1883, mountpoint => undefined,
                   is_bridge => false, is_superuser => false},
    %% The plugin's logger waits until the caller is gone (its lines stay queued).
    Events = lines(Id, fun() ->
                               ok = sys:suspend(emqx_rust_hook_logger),
                               {Pid, Ref} = spawn_monitor(
                                              fun() ->
                                                      logger:set_process_metadata(#{clientid => <<"other">>}),
                                                      emqx_hooks:run('client.connected',
                                                                     [ClientInfo, conninfo(Id, {{10, 0, 0, 9}, 777})])
                                              end),
                               receive {'DOWN', Ref, process, Pid, _} -> ok end,
                               %% Queued (client.connected's default mode): wait until the
                               %% worker has run it, i.e. its line reached the logger.
                               wait_sent(Id),
                               ok = sys:resume(emqx_rust_hook_logger)
                       end),
    [#{meta := M}] = Events,
    ?assertEqual(Id, maps:get(clientid, M)),
    %% IP:Port from the conninfo; the IP alone from the clientinfo when the conninfo was
    %% not copied for the worker (the example's method does not read it).
    ?assert(lists:member(maps:get(peername, M), ["10.0.0.9:777", "10.0.0.9"])).

wait_sent(Id) -> wait_sent(Id, 500).

wait_sent(_Id, 0) -> error(line_not_sent);
wait_sent(Id, N) ->
    {messages, Ms} = process_info(whereis(emqx_rust_hook_logger), messages),
    Sent = [L || {rust_log, Ls, _Module} <- Ms, L <- Ls, binary:match(element(3, L), Id) =/= nomatch],
    case Sent of
        [] -> timer:sleep(10), wait_sent(Id, N - 1);
        _ -> ok
    end.

unique_id() ->
    <<"log-meta-", (integer_to_binary(erlang:unique_integer([positive])))/binary>>.

unique_topic() ->
    <<"meta/", (integer_to_binary(erlang:unique_integer([positive])))/binary>>.
