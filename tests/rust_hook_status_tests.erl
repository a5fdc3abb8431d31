%% @doc `Hooks::status': what a library reports about itself, shown by
%% `emqx_ctl rust_hook status' under its hooks; `Hooks::command': `emqx_ctl rust_hook cmd'
%% (the real .so through the plugin, on the stand-in host).
-module(rust_hook_status_tests).

-include_lib("eunit/include/eunit.hrl").

status(Lib, Extra) ->
    ok = rust_hook_test_util:start(Lib, Extra),
    try
        {emqx_rust_hook_nif:library_status(),
         lists:flatten(emqx_ctl:run_command(["rust_hook", "status"]))}
    after
        rust_hook_test_util:stop()
    end.

no_status_test() ->
    {Lines, Text} = status("example_hook", []),
    ?assertEqual([], Lines),
    ?assertEqual(nomatch, string:find(Text, "library status")).

library_lines_test() ->
    {Lines, Text} = status("slow_hooks", ["exhook.drivers.rust.init.sleep_ms = 7"]),
    ?assertEqual([{<<"sleep_ms">>, <<"7">>}], Lines),
    ?assertNotEqual(nomatch, string:find(Text, "library status:\n  sleep_ms: 7\n")).

panic_in_status_test() ->
    {Result, Text} = status("slow_hooks", ["exhook.drivers.rust.init.status_panics = on"]),
    ?assertMatch({error, <<"test panic in status", _/binary>>}, Result),
    ?assertNotEqual(nomatch, string:find(Text, "library status: failed: test panic in status")),
    %% The hooks' lines are there all the same.
    ?assertNotEqual(nomatch, string:find(Text, "client.authenticate")).

%% The jobs library reports each job, its database and its counters.
jobs_test() ->
    Db = filename:join("/tmp", "emqx_rust_hook_status_tests_" ++ os:getpid() ++ ".db"),
    Lib = filename:join(emqx_double:repo_path("target/release"), "libemqx_jobs.so"),
    try
        {Lines, Text} = status({path, Lib}, ["exhook.drivers.rust.init.store = on",
                                             "exhook.drivers.rust.init.sqlite_path = " ++ Db]),
        ?assertEqual(<<"on">>, proplists:get_value(<<"store">>, Lines)),
        ?assertEqual(<<"off">>, proplists:get_value(<<"auth">>, Lines)),
        ?assertEqual(<<"up">>, proplists:get_value(<<"store.db">>, Lines)),
        ?assertEqual(list_to_binary("sqlite:" ++ Db), proplists:get_value(<<"store.database">>, Lines)),
        ?assertNotEqual(nomatch, string:find(Text, "  store.buffer: 0/100000\n"))
    after
        [file:delete(Db ++ S) || S <- ["", "-wal", "-shm"]]
    end.

cmd(Args) -> lists:flatten(emqx_ctl:run_command(["rust_hook", "cmd" | Args])).

command_test() ->
    ok = rust_hook_test_util:start("slow_hooks", []),
    try
        ?assertEqual("hello world\n", cmd(["echo", "hello", "world"])),
        ?assertEqual("error: slow_hooks knows echo and panic\n", cmd(["what"])),
        ?assertMatch("error: test panic in command" ++ _, cmd(["panic"])),
        ?assertEqual({ok, <<"x">>}, emqx_rust_hook_nif:library_command([<<"echo">>, <<"x">>]))
    after
        rust_hook_test_util:stop()
    end,
    ok = rust_hook_test_util:start("example_hook", []),
    try
        ?assertMatch("error: unknown command" ++ _, cmd(["clear_cache"]))
    after
        rust_hook_test_util:stop()
    end.

%% emqx_jobs' ACL cache (1 hour here) holds a client's rules; a new deny rule is seen
%% after `rust_hook cmd clear_cache', not before.
jobs_clear_cache_test() ->
    Db = filename:join("/tmp", "emqx_rust_hook_cmd_tests_" ++ os:getpid() ++ ".db"),
    Release = emqx_double:repo_path("target/release"),
    Admin = filename:join(Release, "emqx_jobs_admin") ++ " --sqlite " ++ Db ++ " ",
    ok = rust_hook_test_util:start({path, filename:join(Release, "libemqx_jobs.so")},
                                   ["exhook.drivers.rust.init.acl = on",
                                    "exhook.drivers.rust.init.acl_cache_ttl = 1h",
                                    "exhook.drivers.rust.init.sqlite_path = " ++ Db]),
    try
        CI = #{clientid => <<"c1">>, username => <<"u1">>, zone => external,
               peerhost => {127, 0, 0, 1}, protocol => mqtt},
        Check = fun() -> emqx_hooks:run_fold('client.check_acl', [CI, publish, <<"t/1">>], allow) end,
        ?assertEqual(allow, Check()),   % no rule: acl_nomatch = ignore, EMQX's allow stays
        ?assertNotEqual(nomatch, string:find(os:cmd(Admin ++ "add-rule 1 deny publish 't/#'"), "rule 1")),
        ?assertEqual(allow, Check()),   % cached
        ?assertEqual("auth and acl caches cleared\n", cmd(["clear_cache"])),
        ?assertEqual(deny, Check())
    after
        rust_hook_test_util:stop(),
        [file:delete(Db ++ S) || S <- ["", "-wal", "-shm"]]
    end.
