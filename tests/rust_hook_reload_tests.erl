%% @doc `emqx_ctl rust_hook reload [Path]' on the stand-in host, with the real plugin and
%% two real libraries (native/reload_hooks and native/reload_hooks_b, which record each
%% notification in a file, naming the library that ran it): the switch leaves no moment
%% without a hook, calls in flight and queued notifications finish on the old library
%% (each exactly once), its terminate runs, and a library that cannot be loaded or that
%% was built with another SDK is refused while the old one goes on serving.
-module(rust_hook_reload_tests).

-include_lib("eunit/include/eunit.hrl").
-include_lib("emqx_rust_hook/include/emqx_rust_hook.hrl").

-define(ACC, #{auth_result => success, anonymous => true}).

reload_test_() ->
    {foreach,
     fun() -> ok = emqx_double:start() end,
     fun(_) -> rust_hook_test_util:stop() end,
     %% Generous time limits: they detect hangs, a busy machine must not fail them.
     [{timeout, 120, {Title, Test}}
      || {Title, Test} <-
             [{"reload switches every hook to the new library; the old one terminates",
               fun switches/0},
              {"queued notifications finish on the old library, each once",
               fun queued_finish/0},
              {"pool calls in flight during a reload are answered by the old library",
               fun in_flight_finish/0},
              {"no call finds a missing hook during 20 reloads under load", fun under_load/0},
              {"a missing, foreign or incompatible library is refused; the old one serves",
               fun refused/0},
              {"a library replaced in place is loaded anew by a reload without a path",
               fun replaced_in_place/0},
              {"reload reads the conf again; a conf that does not map is refused",
               fun conf_read_again/0}]]}.

version_test_() ->
    [?_assert(emqx_rust_hook_driver:compatible(<<"0.1.0">>, <<"0.1.0">>)),
     ?_assert(emqx_rust_hook_driver:compatible(<<"0.1.7">>, <<"0.1.0">>)),
     ?_assertNot(emqx_rust_hook_driver:compatible(<<"0.2.0">>, <<"0.1.0">>)),
     ?_assertNot(emqx_rust_hook_driver:compatible(<<"1.1.0">>, <<"0.1.0">>)),
     ?_assert(emqx_rust_hook_driver:compatible(<<"1.4.2">>, <<"1.0.0">>)),
     ?_assertNot(emqx_rust_hook_driver:compatible(<<"2.0.0">>, <<"1.0.0">>)),
     ?_assertNot(emqx_rust_hook_driver:compatible(<<"junk">>, <<"0.1.0">>)),
     ?_assertEqual(<<"0.1.0">>,
                   emqx_rust_hook_driver:sdk_version(
                     <<"xx", 0, "EMQX_RUST_HOOK_SDK_VERSION=0.1.0", 0, "yy">>)),
     ?_assertEqual(undefined, emqx_rust_hook_driver:sdk_version(<<"no marker">>))].

%%--------------------------------------------------------------------------------------

ctl(Args) -> lists:flatten(emqx_ctl:run_command(Args)).

lib(Name) -> rust_hook_test_util:lib(Name).

sink() ->
    File = filename:join(["/tmp", "emqx_rust_hook_tests", os:getpid(), "reload_sink.txt"]),
    ok = filelib:ensure_dir(File),
    _ = file:delete(File),
    File.

start(Sink, Extra) ->
    ok = rust_hook_test_util:start("reload_hooks", ["exhook.drivers.rust.init.sink = " ++ Sink
                                                    | Extra]).

lines(Sink) ->
    case file:read_file(Sink) of
        {ok, Bin} -> [L || L <- binary:split(Bin, <<"\n">>, [global]), L =/= <<>>];
        {error, enoent} -> []
    end.

count(Sink, Part) -> length([L || L <- lines(Sink), binary:match(L, Part) =/= nomatch]).

ci(ClientId, Password) ->
    #{clientid => ClientId, username => <<"u">>, password => Password,
      peerhost => {127, 0, 0, 1}, protocol => mqtt, zone => external, sockport => 1883,
      is_bridge => false, is_superuser => false, mountpoint => undefined}.

auth(Password) ->
    emqx_hooks:run_fold('client.authenticate', [ci(<<"c1">>, Password)], ?ACC).

acl(Topic) ->
    emqx_hooks:run_fold('client.check_acl', [ci(<<"c1">>, <<"good">>), publish, Topic], allow).

msg(Payload) -> {message, <<7:128>>, 1, <<"pub">>, #{}, #{}, <<"t/1">>, Payload, 1}.

deliver(Payload) ->
    emqx_hooks:run_fold('message.delivered', [ci(<<"sub">>, undefined)], msg(Payload)).

our_callbacks() ->
    lists:sum([length([C || {callback, {emqx_rust_hook_handler, _, _}, _, _} = C
                               <- emqx_hooks:lookup(H)])
               || H <- ['client.authenticate', 'client.check_acl', 'client.connected',
                        'message.delivered']]).

%% Waits until `Pred()' holds (a hang detector, not a timing assertion).
wait_until(Pred) -> wait_until(Pred, 500).
wait_until(Pred, 0) -> ?assert(Pred());
wait_until(Pred, N) ->
    case Pred() of
        true -> ok;
        false -> timer:sleep(20), wait_until(Pred, N - 1)
    end.

allowed() -> #{auth_result => success, anonymous => false}.

%%--------------------------------------------------------------------------------------

switches() ->
    Sink = sink(),
    start(Sink, []),
    ?assertMatch(#{nif := emqx_rust_hook_nif, sdk := ?SDK_VERSION}, emqx_rust_hook_driver:info()),
    ?assertMatch(#{auth_result := success}, auth(<<"good">>)),
    ?assertEqual(4, our_callbacks()),
    OldHooks = emqx_rust_hook_handler:active(),
    Out = ctl(["rust_hook", "reload", lib("reload_hooks_b")]),
    ?assertNotEqual(nomatch, string:find(Out, "reloaded")),
    ?assertNotEqual(nomatch, string:find(Out, "libreload_hooks_b.so")),
    ?assertMatch(#{nif := emqx_rust_hook_nif_b}, emqx_rust_hook_driver:info()),
    %% The same callbacks stay registered; the old library ran its terminate.
    ?assertEqual(4, our_callbacks()),
    ?assertEqual([<<"reload_hooks terminated">>], [L || L <- lines(Sink),
                                                        binary:match(L, <<"terminated">>) =/= nomatch]),
    ?assertMatch(#{auth_result := success}, auth(<<"good">>)),
    ?assertMatch(#{auth_result := bad_username_or_password}, auth(<<"bad">>)),
    ?assertEqual(deny, acl(<<"forbidden/x">>)),
    %% A call that reaches the stopped library with no newer one to run on gets the
    %% failure policy (ignore: the chain goes on), once.
    NewHooks = emqx_rust_hook_handler:active(),
    ok = emqx_rust_hook_handler:activate(OldHooks),
    ?assertEqual(?ACC, auth(<<"bad">>)),
    ok = emqx_rust_hook_handler:activate(NewHooks),
    ok = emqx_hooks:run('client.connected', [ci(<<"after-reload">>, undefined), #{}]),
    ?assertEqual(1, count(Sink, <<"reload_hooks_b connected after-reload">>)),
    %% The stats and status are the new library's.
    ?assertNotEqual(nomatch, string:find(ctl(["rust_hook", "status"]), "libreload_hooks_b.so")),
    ?assertMatch(#{'client.connected' := #{calls := 1}},
                 emqx_rust_hook_nif_b:stats()),
    %% And back: the first module is used again.
    _ = ctl(["rust_hook", "reload", lib("reload_hooks")]),
    ?assertMatch(#{nif := emqx_rust_hook_nif}, emqx_rust_hook_driver:info()),
    ?assertEqual(1, count(Sink, <<"reload_hooks_b terminated">>)),
    ?assertMatch(#{auth_result := success}, auth(<<"good">>)),
    %% A library with fewer hooks: the callbacks it lacks are unregistered after the
    %% switch, and registered again when a library has them again.
    {ok, #{hooks := ['client.authenticate', 'client.check_acl']}} =
        emqx_rust_hook_driver:reload(lib("two_hooks")),
    ?assertEqual(2, our_callbacks()),
    ?assertEqual([], emqx_hooks:lookup('message.delivered')),
    {ok, _} = emqx_rust_hook_driver:reload(lib("reload_hooks")),
    ?assertEqual(4, our_callbacks()),
    ok = emqx_hooks:run('client.connected', [ci(<<"back">>, undefined), #{}]),
    ?assertEqual(1, count(Sink, <<"reload_hooks connected back">>)).

queued_finish() ->
    Sink = sink(),
    %% Each queued notification takes 2 ms on the library's workers: 300 of them are
    %% still queued when the reload starts.
    start(Sink, ["exhook.drivers.rust.init.notify_sleep_us = 2000",
                 "exhook.drivers.rust.pool_size = 1"]),
    N = 300,
    [deliver(integer_to_binary(I)) || I <- lists:seq(1, N)],
    ?assert(count(Sink, <<"delivered">>) < N),
    %% Deliveries go on during the reload; those after the switch are queued in the new
    %% library, which holds them until the old one has run its own.
    Self = self(),
    Stop = atomics:new(1, []),
    Feeder = spawn_link(fun() ->
                                Loop = fun Loop(I) ->
                                               case atomics:get(Stop, 1) of
                                                   1 -> Self ! {fed, I - 1};
                                                   0 -> deliver(integer_to_binary(I)),
                                                        timer:sleep(1),
                                                        Loop(I + 1)
                                               end
                                       end,
                                Loop(N + 1)
                        end),
    {ok, _} = emqx_rust_hook_driver:reload(lib("reload_hooks_b")),
    atomics:put(Stop, 1, 1),
    Last = receive {fed, L} -> L after 30000 -> error({feeder_hang, Feeder}) end,
    ?assert(Last > N),
    wait_until(fun() -> count(Sink, <<"delivered">>) >= Last end),
    %% Every delivery was notified once, in order, the old library's before the new one's.
    Delivered = [binary:split(L, <<" ">>, [global])
                 || L <- lines(Sink), binary:match(L, <<"delivered">>) =/= nomatch],
    ?assertEqual(lists:seq(1, Last), [binary_to_integer(P) || [_, _, _, P] <- Delivered]),
    Libs = [Lib || [Lib | _] <- Delivered],
    Old = length(lists:takewhile(fun(L) -> L =:= <<"reload_hooks">> end, Libs)),
    ?assert(Old >= N),
    ?assertEqual(lists:duplicate(Last - Old, <<"reload_hooks_b">>), lists:nthtail(Old, Libs)).

in_flight_finish() ->
    Sink = sink(),
    %% Each login holds a pool worker for 300 ms.
    start(Sink, ["exhook.drivers.rust.init.auth_sleep_us = 300000",
                 "exhook.drivers.rust.pool_size = 2"]),
    Self = self(),
    Pids = [spawn_link(fun() -> Self ! {login, I, auth(<<"good">>)} end)
            || I <- lists:seq(1, 6)],
    %% The logins are in flight (queued or running) on the old library.
    wait_until(fun() ->
                       maps:get(calls, maps:get('client.authenticate',
                                                emqx_rust_hook_nif:stats())) >= 2
               end),
    {ok, _} = emqx_rust_hook_driver:reload(lib("reload_hooks_b")),
    Results = [receive {login, I, R} -> R after 10000 -> timeout end
               || I <- lists:seq(1, length(Pids))],
    ?assertEqual(lists:duplicate(6, allowed()), Results).

%% Clients keep logging in (a good and a bad password) and checking ACLs while the
%% library is reloaded 20 times: every answer is the libraries' (a login that reached no
%% library would be allowed with the bad password).
under_load() ->
    Sink = sink(),
    start(Sink, []),
    Self = self(),
    Stop = atomics:new(1, []),
    Loop = fun Loop(Acc) ->
                   case atomics:get(Stop, 1) of
                       1 -> Acc;
                       0 ->
                           Good = auth(<<"good">>),
                           Bad = auth(<<"bad">>),
                           Acl = acl(<<"forbidden/1">>),
                           Loop([{Good, Bad, Acl} | Acc])
                   end
           end,
    %% Linked: a failed test stops them too.
    Workers = [spawn_link(fun() -> Self ! {done, Loop([])} end) || _ <- lists:seq(1, 4)],
    Libs = [lib("reload_hooks_b"), lib("reload_hooks")],
    [begin
         {ok, _} = emqx_rust_hook_driver:reload(lists:nth(1 + I rem 2, Libs)),
         ?assertEqual(4, our_callbacks())
     end || I <- lists:seq(0, 19)],
    atomics:put(Stop, 1, 1),
    All = lists:append([receive {done, R} -> R after 30000 -> error(worker_hang) end
                        || _ <- Workers]),
    ?assert(length(All) > 0),
    Wrong = [X || X = {G, B, A} <- All,
                  not (G =:= allowed()
                       andalso maps:get(auth_result, B) =:= bad_username_or_password
                       andalso A =:= deny)],
    ?assertEqual([], lists:sublist(Wrong, 3)),
    %% 20 libraries terminated, each once.
    ?assertEqual(20, count(Sink, <<"terminated">>)).

refused() ->
    Sink = sink(),
    start(Sink, []),
    Dir = filename:dirname(Sink),
    %% Missing.
    Out1 = ctl(["rust_hook", "reload", "/nonexistent/libnothing.so"]),
    ?assertNotEqual(nomatch, string:find(Out1, "reload failed")),
    ?assertNotEqual(nomatch, string:find(Out1, "/nonexistent/libnothing.so")),
    %% Not a hook library of this SDK (no version in the file).
    Foreign = filename:join(Dir, "libforeign.so"),
    ok = file:write_file(Foreign, <<"\177ELF not a hook library">>),
    Out2 = ctl(["rust_hook", "reload", Foreign]),
    ?assertNotEqual(nomatch, string:find(Out2, "not a hook library of this SDK")),
    %% Built with another SDK: the version in the file is changed to 9.1.0.
    {ok, Bin} = file:read_file(lib("reload_hooks_b")),
    Other = binary:replace(Bin, <<"EMQX_RUST_HOOK_SDK_VERSION=0.1.0">>,
                           <<"EMQX_RUST_HOOK_SDK_VERSION=9.1.0">>, [global]),
    ?assertNotEqual(Bin, Other),
    Incompatible = filename:join(Dir, "libother_sdk.so"),
    ok = file:write_file(Incompatible, Other),
    Out3 = ctl(["rust_hook", "reload", Incompatible]),
    ?assertNotEqual(nomatch, string:find(Out3, "SDK 9.1.0")),
    ?assertNotEqual(nomatch, string:find(Out3, "SDK 0.1.0")),
    %% The first library still serves, registered and running.
    ?assertMatch(#{nif := emqx_rust_hook_nif}, emqx_rust_hook_driver:info()),
    ?assertEqual(4, our_callbacks()),
    ?assertMatch(#{auth_result := bad_username_or_password}, auth(<<"bad">>)),
    ?assertEqual(0, count(Sink, <<"terminated">>)),
    %% Nothing running: a reload says so.
    rust_hook_test_util:stop(),
    ?assertEqual({error, not_running}, emqx_rust_hook_driver:reload(default)).

replaced_in_place() ->
    Sink = sink(),
    Path = filename:join(filename:dirname(Sink), "libinplace.so"),
    {ok, _} = file:copy(lib("reload_hooks"), Path),
    ok = rust_hook_test_util:start({path, Path}, ["exhook.drivers.rust.init.sink = " ++ Sink]),
    %% The operator copies the new build over the configured file, then reloads.
    {ok, _} = file:copy(lib("reload_hooks_b"), Path),
    Out = ctl(["rust_hook", "reload"]),
    ?assertNotEqual(nomatch, string:find(Out, "reloaded")),
    ok = emqx_hooks:run('client.connected', [ci(<<"in-place">>, undefined), #{}]),
    ?assertEqual(1, count(Sink, <<"reload_hooks_b connected in-place">>)).

conf_read_again() ->
    Sink = sink(),
    start(Sink, []),
    Conf = filename:join(filename:dirname(Sink), "emqx_rust_hook.conf"),
    Sink2 = Sink ++ ".2",
    _ = file:delete(Sink2),
    Write = fun(Extra) ->
                    ok = file:write_file(Conf, ["exhook.drivers = rust\n",
                                                "exhook.drivers.rust.path = ", lib("reload_hooks_b"), "\n",
                                                "exhook.drivers.rust.init.sink = ", Sink2, "\n",
                                                Extra])
            end,
    %% The operator edits the conf (another sink, another path), then reloads.
    Write(""),
    Out = ctl(["rust_hook", "reload"]),
    ?assertNotEqual(nomatch, string:find(Out, "libreload_hooks_b.so")),
    ok = emqx_hooks:run('client.connected', [ci(<<"conf-2">>, undefined), #{}]),
    ?assertEqual(1, count(Sink2, <<"reload_hooks_b connected conf-2">>)),
    ?assertEqual(0, count(Sink, <<"conf-2">>)),
    %% A conf that does not map: refused, the running library goes on.
    Write("exhook.drivers.rust.no_such_key = 1\n"),
    Out2 = ctl(["rust_hook", "reload"]),
    ?assertNotEqual(nomatch, string:find(Out2, "reload failed")),
    ?assertNotEqual(nomatch, string:find(Out2, "cannot be read")),
    ?assertMatch(#{nif := emqx_rust_hook_nif_b}, emqx_rust_hook_driver:info()),
    ok = emqx_hooks:run('client.connected', [ci(<<"conf-3">>, undefined), #{}]),
    ?assertEqual(1, count(Sink2, <<"reload_hooks_b connected conf-3">>)).
