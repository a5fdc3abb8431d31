%% @doc `make demo': the example hook library (native/example_hook) making real decisions
%% inside a BEAM, through the real emqx_rust_hook plugin, on the stand-in EMQX host.
%% Every hook call is printed as it enters the chain (->), the Rust library's answer to
%% it (<=, traced on the plugin's callbacks), and the library's own log lines ([rust]).
%% One printer process prints everything, in the order it happened.
-module(emqx_rust_hook_demo).

-export([main/0, log/2]).
-export([show_in/2, show_in/3, show_in/4, show_in/5, show_in/6]).

-define(S, emqx_double_scenario).
-define(FOLDS, ['client.connect', 'client.connack', 'client.authenticate',
                'client.check_acl', 'client.subscribe', 'client.unsubscribe',
                'message.publish', 'message.delivered']).
-define(NOTIFY, ['client.connected', 'client.disconnected', 'session.created',
                 'session.subscribed', 'session.unsubscribed', 'session.resumed',
                 'session.discarded', 'session.takeovered', 'session.terminated',
                 'message.acked', 'message.dropped']).

main() ->
    ok = emqx_double:start(),
    start_printer(),
    quiet_logger(),
    Lib = filename:join(emqx_double:repo_path("target/release"), "libexample_hook.so"),
    Conf = filename:join("/tmp", "emqx_rust_hook_demo.conf"),
    ok = file:write_file(Conf, ["exhook.drivers = rust\n",
                                "exhook.drivers.rust.path = ", Lib, "\n"]),
    say("~nLoading the plugin with ~ts~n", [Lib]),
    ok = emqx_plugins:load(emqx_rust_hook, Conf),
    pause(),
    say("Hooks registered by the library: ~p~n",
              [[element(2, H) || H <- maps:get(hooks, emqx_rust_hook_driver:info())]]),
    install_printers(),
    trace_rust_answers(),

    step("1. alice connects (client id demo-alice, username alice): allowed"),
    {ok, Alice} = ?S:connect(#{clientid => <<"demo-alice">>, username => <<"alice">>,
                               password => <<"secret">>}),
    outcome("connected"),

    step("2. a login with an empty client id (as authenticate would see it): denied"),
    Result = emqx_hooks:run_fold('client.authenticate',
                                 [#{clientid => <<>>, username => undefined, password => undefined,
                                    peerhost => {127, 0, 0, 1}, protocol => mqtt, zone => external}],
                                 #{auth_result => success, anonymous => true}),
    outcome(io_lib:format("auth_result = ~p: EMQX answers CONNACK not_authorized",
                          [maps:get(auth_result, Result)])),

    step("3. bob connects without a username, subscribes and publishes: denied by ACL"),
    {ok, Bob} = ?S:connect(#{clientid => <<"demo-bob">>}),
    {ok, Codes} = ?S:subscribe(Bob, [{<<"t/#">>, 1}]),
    outcome(io_lib:format("SUBACK ~p (0x80 = failure)", [Codes])),
    Pub = ?S:publish(Bob, <<"t/1">>, <<"from bob">>, 1),
    outcome(io_lib:format("publish: ~p", [Pub])),

    step("4. alice subscribes to t/# and publishes hello to t/1: delivered"),
    {ok, _} = ?S:subscribe(Alice, [{<<"t/#">>, 1}]),
    {ok, #{delivered := N}} = ?S:publish(Alice, <<"t/1">>, <<"hello">>, 1),
    outcome(io_lib:format("delivered to ~p subscriber(s): ~p",
                          [N, [element(8, M) || M <- ?S:received(Alice)]])),

    step("5. both disconnect"),
    ok = ?S:disconnect(Alice),
    ok = ?S:disconnect(Bob),
    pause(),
    say("~nPer-hook counters (emqx_ctl rust_hook stats):~n~ts",
        [emqx_ctl:run_command(["rust_hook", "stats"])]),
    erlang:trace(all, false, [call]),
    ok = emqx_plugins:unload(emqx_rust_hook),
    pause(),
    ok.

%%--------------------------------------------------------------------------------------
%% Printing

step(Text) ->
    pause(),
    say("~n== ~ts ==~n", [Text]).

outcome(Text) ->
    pause(),
    say("   => ~ts~n", [Text]).

say(Fmt, Args) ->
    demo_printer ! {say, io_lib:format(Fmt, Args)},
    ok.

start_printer() ->
    Pid = spawn(fun printer/0),
    register(demo_printer, Pid).

%% Prints what it is sent, and the return values traced on the plugin's callbacks.
printer() ->
    receive
        {say, Text} ->
            io:format("~ts", [Text]);
        {trace, _Pid, return_from, {emqx_rust_hook_handler, F, _Arity}, Result} ->
            case atom_to_list(F) of
                "on_" ++ _ -> io:format("   <= ~-20s rust answers ~ts~n", [hook_of(F), brief(Result)]);
                _ -> ok
            end;
        _Other ->
            ok
    end,
    printer().

hook_of(F) ->
    "on_" ++ Rest = atom_to_list(F),
    [Kind | Words] = string:split(Rest, "_"),
    Kind ++ "." ++ lists:flatten(Words).

%% Traces the return value of every hook callback of the plugin.
trace_rust_answers() ->
    erlang:trace_pattern({emqx_rust_hook_handler, '_', '_'}, [{'_', [], [{return_trace}]}], [global]),
    erlang:trace(all, true, [call, {tracer, whereis(demo_printer)}]),
    ok.

%% Lets the Rust log lines (sent from the library's log thread) arrive first.
pause() -> timer:sleep(20).

%% A callback at the highest priority shows each call as it enters the chain.
install_printers() ->
    [emqx_hooks:add(H, {?MODULE, show_in, [H]}, 1000) || H <- ?FOLDS ++ ?NOTIFY],
    ok.

show_in(A, H) -> print_in(H, [A]).
show_in(A, B, H) -> print_in(H, [A, B]).
show_in(A, B, C, H) -> print_in(H, [A, B, C]).
show_in(A, B, C, D, H) -> print_in(H, [A, B, C, D]).
show_in(A, B, C, D, E, H) -> print_in(H, [A, B, C, D, E]).

print_in(H, Args) ->
    say("   -> ~-20s ~ts~n", [H, summary(H, Args)]).

summary(H, [CI | _]) when is_map(CI), (H =:= 'client.connect' orelse H =:= 'client.connack') ->
    io_lib:format("clientid=~ts", [maps:get(clientid, CI)]);
summary('message.publish', [Msg | _]) ->
    io_lib:format("topic=~ts payload=~ts", [element(7, Msg), element(8, Msg)]);
summary('client.check_acl', [CI, PubSub, Topic | _]) ->
    io_lib:format("clientid=~ts ~p ~ts", [maps:get(clientid, CI), PubSub, Topic]);
summary(_H, [CI | _]) when is_map(CI) ->
    io_lib:format("clientid=~ts username=~p", [maps:get(clientid, CI, <<>>), maps:get(username, CI, undefined)]);
summary(_H, _Args) -> "".

brief({stop, M}) when is_map(M) -> ["stop, ", brief(M)];
brief({ok, M}) when is_map(M) -> ["ok, ", brief(M)];
brief({Tag, T}) when is_tuple(T), element(1, T) =:= message -> [atom_to_list(Tag), ", ", brief(T)];
brief(M) when is_map(M) -> io_lib:format("~0p", [maps:with([auth_result, anonymous, is_superuser], M)]);
brief(T) when is_tuple(T), element(1, T) =:= message -> io_lib:format("message to ~ts", [element(7, T)]);
brief(L) when is_list(L) -> io_lib:format("~0p", [L]);
brief(X) -> io_lib:format("~0p", [X]).

%% Prints log events of the Rust library as `[rust] ...' and hides the rest.
quiet_logger() ->
    _ = logger:remove_handler(default),
    ok = logger:set_primary_config(level, info),
    ok = logger:add_handler(demo, ?MODULE, #{}),
    ok.

%% @doc logger handler callback: the Rust library's lines.
log(#{msg := {Fmt, Args}, meta := #{domain := [emqx_rust_hook]}}, _Config) ->
    say("      [rust] ~ts~n", [io_lib:format(Fmt, Args)]);
log(_Event, _Config) ->
    ok.
