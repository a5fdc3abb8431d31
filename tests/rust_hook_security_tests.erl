%% @doc The security review's claims, each held by a test (real plugin, real libraries,
%% stand-in host):
%% - no atom is created from client data, whatever a client sends through any hook;
%% - no secret (a password, an `init.<key>' setting marked secret) reaches a log line or
%%   the CLI, when a hook panics, a field is malformed, a decision is invalid or `init'
%%   fails;
%% - a hostile client id (control characters, 64 KiB, invalid UTF-8) cannot break a log
%%   line: one line, escaped, the id cut to 64 characters;
%% - settings that size allocations have bounds: `pool_size' at most 1,024,
%%   `notify_queue_size' at most 10,000,000, refused at load with a clear line;
%% - the benchmark-only `call_dirty_io/2' takes any term (an improper list used to panic
%%   in rustler's list decoder).
-module(rust_hook_security_tests).

-include_lib("eunit/include/eunit.hrl").

-define(PASSWORD, <<"pw-S3CRET-never-logged">>).
-define(INIT_SECRET, "db-S3CRET-never-shown").

ci(ClientId, Extra) ->
    maps:merge(#{clientid => ClientId, username => <<"u">>, password => ?PASSWORD,
                 peerhost => {127, 0, 0, 1}, protocol => mqtt, zone => external,
                 sockport => 1883, is_bridge => false, is_superuser => false,
                 mountpoint => undefined}, Extra).

logs_text(Logs) ->
    iolist_to_binary(lists:join("\n", [T || #{text := T} <- Logs])).

security_test_() ->
    {setup,
     fun() -> rust_hook_test_util:probe_start() end,
     fun(_) -> rust_hook_test_util:stop(), rust_hook_test_util:probe_stop() end,
     {inorder,
      [{timeout, 120, {"no atom is created from client data", fun no_atoms_from_client_data/0}},
       {"secrets never reach a log line or the CLI", fun secrets_never_shown/0},
       {"a hostile client id is one escaped, cut line", fun hostile_client_id/0},
       {"pool_size and notify_queue_size have bounds", fun size_bounds/0},
       {"call_dirty_io/2 takes any term", fun dirty_io_any_term/0}]}}.

no_atoms_from_client_data() ->
    ok = rust_hook_test_util:start("test_hooks", []),
    %% Warm up: the atoms the code paths themselves use exist after one round.
    _ = [play(I) || I <- lists:seq(1, 20)],
    rust_hook_test_util:flush_reports(),
    Before = erlang:system_info(atom_count),
    _ = [play(I) || I <- lists:seq(21, 1020)],
    _ = rust_hook_test_util:await_reports(<<"client.disconnected">>, 1000),
    ?assertEqual(Before, erlang:system_info(atom_count)),
    ok = rust_hook_test_util:stop().

%% One client's calls, every value chosen by the client unique to `I'.
play(I) ->
    U = fun(P) -> iolist_to_binary([P, integer_to_list(I), <<"\n\xff">>]) end,
    CI = ci(U("cid"), #{username => U("user"), password => U("pw")}),
    Conn = #{clientid => U("cid"), username => U("user"), proto_name => U("MQTT"),
             proto_ver => 5, peername => {{127, 0, 0, 1}, I rem 65536},
             clean_start => true, keepalive => 60, connected_at => I},
    %% Property names a client may send: EMQX gives them as atoms it knows; unknown ones
    %% cannot arrive as atoms, so binary keys stand for what a gateway might pass.
    Props = #{'User-Property' => [{U("k"), U("v")}], U("unknown") => U("x")},
    _ = emqx_hooks:run_fold('client.connect', [Conn], Props),
    _ = emqx_hooks:run_fold('client.authenticate', [CI], #{auth_result => success, anonymous => true}),
    _ = emqx_hooks:run_fold('client.check_acl', [CI, publish, U("t/")], allow),
    _ = emqx_hooks:run_fold('client.subscribe', [CI, #{}], [{U("t/"), #{qos => 1}}]),
    Msg = {message, <<I:128>>, 1, U("cid"), #{dup => false, retain => false},
           #{username => U("user"), properties => #{'User-Property' => [{U("k"), U("v")}]}},
           U("t/"), U("payload"), I},
    _ = emqx_hooks:run_fold('message.publish', [], Msg),
    ok = emqx_hooks:run('client.disconnected', [CI, {shutdown, U("reason")}, Conn]).

secrets_never_shown() ->
    Secret = list_to_binary(?INIT_SECRET),
    %% init fails: the error line names the library, not the settings.
    {_, FailLogs} = rust_hook_test_util:capture_logs(fun() ->
        {error, _} = rust_hook_test_util:start(
                       "test_hooks", ["exhook.drivers.rust.init.db_password = " ?INIT_SECRET,
                                      "exhook.drivers.rust.init.fail = true"])
    end),
    ?assertNotEqual(<<>>, logs_text(FailLogs)),
    ?assertEqual(nomatch, binary:match(logs_text(FailLogs), Secret)),
    {ok, Logs} = rust_hook_test_util:capture_logs(fun() ->
        ok = rust_hook_test_util:start("test_hooks",
                                       ["exhook.drivers.rust.init.db_password = " ?INIT_SECRET]),
        Acc = #{auth_result => success, anonymous => true},
        %% a panic (test_hooks panics for this client id), logged with the client id
        _ = emqx_hooks:run_fold('client.authenticate', [ci(<<"panic_auth">>, #{})], Acc),
        %% a malformed field, logged
        _ = emqx_hooks:run_fold('client.authenticate', [ci(<<"c2">>, #{username => 42})], Acc),
        %% a malformed argument, logged with the client id
        _ = emqx_hooks:run_fold('client.authenticate', [ci(<<"c3">>, #{})], not_a_map),
        %% an invalid decision (a Content-Type that is not UTF-8), logged
        Msg = {message, <<1:128>>, 0, <<"c4">>, #{}, #{}, <<"badprop/x">>, ?PASSWORD, 1},
        _ = emqx_hooks:run_fold('message.publish', [], Msg),
        ok
    end),
    Text = logs_text(Logs),
    ?assertNotEqual(nomatch, binary:match(Text, <<"panic">>)),
    ?assertNotEqual(nomatch, binary:match(Text, <<"panic_auth">>)),
    ?assertEqual(nomatch, binary:match(Text, ?PASSWORD)),
    ?assertEqual(nomatch, binary:match(Text, Secret)),
    Cli = iolist_to_binary([emqx_ctl:run_command(["rust_hook", "status"]),
                            emqx_ctl:run_command(["rust_hook", "stats"])]),
    ?assertNotEqual(nomatch, binary:match(Cli, <<"client.authenticate">>)),
    ?assertEqual(nomatch, binary:match(Cli, ?PASSWORD)),
    ?assertEqual(nomatch, binary:match(Cli, Secret)),
    ok = rust_hook_test_util:stop().

hostile_client_id() ->
    ok = rust_hook_test_util:start("test_hooks", []),
    Hostile = iolist_to_binary([<<"evil\nFAKE LOG LINE\r\e[31m\xff\xfe">>, binary:copy(<<"x">>, 65536)]),
    {_, Logs} = rust_hook_test_util:capture_logs(fun() ->
        %% test_hooks panics on `panic/...' topics: the failure line names the client
        _ = emqx_hooks:run_fold('client.check_acl', [ci(Hostile, #{}), publish, <<"panic/x">>], allow)
    end),
    [Line] = [T || #{text := T} <- Logs, binary:match(T, <<"client.check_acl">>) =/= nomatch],
    ?assertEqual(nomatch, binary:match(Line, [<<"\n">>, <<"\r">>, <<"\e">>])),
    ?assertNotEqual(nomatch, binary:match(Line, <<"evil\\nFAKE LOG LINE\\r\\u{1b}[31m">>)),
    ?assert(byte_size(Line) < 1024),
    ok = rust_hook_test_util:stop().

size_bounds() ->
    [begin
         {Result, Logs} = rust_hook_test_util:capture_logs(fun() ->
             rust_hook_test_util:start("two_hooks", [Line])
         end),
         ?assertMatch({error, _}, Result),
         ?assertNotEqual(nomatch, binary:match(logs_text(Logs), Want))
     end || {Line, Want} <- [{"exhook.drivers.rust.pool_size = 1025",
                              <<"pool_size must be an integer from 1 to 1024">>},
                             {"exhook.drivers.rust.notify_queue_size = 10000001",
                              <<"notify_queue_size must be an integer from 1 to 10000000">>}]],
    ok.

dirty_io_any_term() ->
    ok = rust_hook_test_util:start("test_hooks", []),
    CI = ci(<<"d1">>, #{}),
    [?assertMatch({error, decode, _}, emqx_rust_hook_nif:call_dirty_io('client.check_acl', Args))
     || Args <- [[CI, publish | <<"t">>], [a | b], not_a_list, [CI, publish, <<"t">>, allow, x, y]]],
    ?assertMatch({error, decode, _}, emqx_rust_hook_nif:call_dirty_io("not an atom", [])),
    ?assertEqual({stop, allow},
                 emqx_rust_hook_nif:call_dirty_io('client.check_acl', [CI, publish, <<"allowed/x">>, deny])),
    ok = rust_hook_test_util:stop().
