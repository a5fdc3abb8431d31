%% @doc `make demo', part 2: the four jobs of native/emqx_jobs on SQLite (no server to
%% start), through the real emqx_rust_hook plugin on the stand-in EMQX host: a
%% connection recorded, a login denied by password, a publish denied by an ACL rule,
%% messages stored and read back. The database is prepared and read with the
%% library's command-line tool (target/release/emqx_jobs_admin).
-module(emqx_rust_hook_jobs_demo).

-export([main/0, log/2]).

-define(S, emqx_double_scenario).

main() ->
    ok = emqx_double:start(),
    quiet_logger(),
    Release = emqx_double:repo_path("target/release"),
    Lib = filename:join(Release, "libemqx_jobs.so"),
    Admin = filename:join(Release, "emqx_jobs_admin"),
    Db = "/tmp/emqx_rust_hook_jobs_demo.db",
    [file:delete(Db ++ S) || S <- ["", "-wal", "-shm"]],
    say("~n==== The four jobs (native/emqx_jobs) on SQLite: ~ts ====~n", [Db]),
    step("Prepare the database with emqx_jobs_admin: a user and two ACL rules"),
    admin(Admin, Db, "init"),
    admin(Admin, Db, "add-user alice alice-secret --hash salt,sha256"),
    admin(Admin, Db, "add-rule 1 deny publish 'secret/#'"),
    admin(Admin, Db, "add-rule 2 allow pubsub '#'"),
    Conf = filename:join("/tmp", "emqx_rust_hook_jobs_demo.conf"),
    Init = [{"conn_log", "on"}, {"auth", "on"}, {"acl", "on"}, {"store", "on"},
            {"sqlite_path", Db}, {"auth_hash", "salt,sha256"},
            {"auth_unknown_user", "deny"}, {"store_topics", "sensors/#"}],
    ok = file:write_file(Conf, ["exhook.drivers = rust\n",
                                "exhook.drivers.rust.path = ", Lib, "\n"
                                | [["exhook.drivers.rust.init.", K, " = ", V, "\n"] || {K, V} <- Init]]),
    say("plugin conf:~n~ts", [indent(element(2, file:read_file(Conf)))]),
    ok = emqx_plugins:load(emqx_rust_hook, Conf),

    step("1. alice logs in with her password: allowed (and the connection is recorded)"),
    {ok, Alice} = ?S:connect(#{clientid => <<"demo-alice">>, username => <<"alice">>,
                               password => <<"alice-secret">>}),
    outcome("connected"),

    step("2. alice with a wrong password, and an unknown user: denied"),
    outcome(io_lib:format("~p", [?S:connect(#{clientid => <<"demo-x">>, username => <<"alice">>,
                                              password => <<"guess">>})])),
    outcome(io_lib:format("~p", [?S:connect(#{clientid => <<"demo-y">>, username => <<"mallory">>,
                                              password => <<"x">>})])),

    step("3. alice publishes to secret/plans: denied by the rule 'deny publish secret/#'"),
    outcome(io_lib:format("~p", [?S:publish(Alice, <<"secret/plans">>, <<"x">>, 1)])),

    step("4. alice publishes three readings to sensors/...: stored"),
    [{ok, _} = ?S:publish(Alice, <<"sensors/t", (integer_to_binary(I))/binary>>,
                          <<"21.", (integer_to_binary(I))/binary>>, 1) || I <- [1, 2, 3]],
    {ok, _} = ?S:publish(Alice, <<"chat/hello">>, <<"not stored (store_topics)">>, 0),
    outcome("published"),

    step("5. alice disconnects"),
    ok = ?S:disconnect(Alice),
    timer:sleep(300),
    say("~nemqx_ctl rust_hook status:~n~ts", [emqx_ctl:run_command(["rust_hook", "status"])]),
    step("Unload the plugin (the buffers are written), then read the tables back"),
    ok = emqx_plugins:unload(emqx_rust_hook),
    admin(Admin, Db, "connections"),
    admin(Admin, Db, "messages"),
    ok.

admin(Admin, Db, Args) ->
    Cmd = lists:flatten([Admin, " --sqlite ", Db, " ", Args, " 2>&1; echo \"exit=$?\""]),
    Out = os:cmd(Cmd),
    say("   $ emqx_jobs_admin ~ts~n~ts", [Args, indent(Out)]),
    case string:find(Out, "exit=0") of
        nomatch -> error({admin_failed, Args, Out});
        _ -> ok
    end.

indent(Text) ->
    [["      ", L, "\n"] || L <- string:split(unicode:characters_to_list(Text), "\n", all),
                          L =/= "", string:prefix(L, "exit=") =:= nomatch].

step(Text) ->
    timer:sleep(50),
    say("~n== ~ts ==~n", [Text]).

outcome(Text) ->
    timer:sleep(50),
    say("   => ~ts~n", [Text]).

say(Fmt, Args) ->
    io:format("~ts", [io_lib:format(Fmt, Args)]).

%% Prints log events of the Rust library as `[rust] ...' and hides the rest.
quiet_logger() ->
    _ = logger:remove_handler(default),
    ok = logger:set_primary_config(level, info),
    _ = logger:add_handler(jobs_demo, ?MODULE, #{}),
    ok.

%% @doc logger handler callback: the Rust library's lines.
log(#{msg := {Fmt, Args}, meta := #{domain := [emqx_rust_hook]}}, _Config) ->
    io:format("      [rust] ~ts~n", [io_lib:format(Fmt, Args)]);
log(_Event, _Config) ->
    ok.
