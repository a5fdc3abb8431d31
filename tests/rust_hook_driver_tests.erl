%% @doc The plugin's `rust' driver: it registers exactly the hooks a library implements,
%% at the configured priority, unregisters them on unload, reloads, reports bad
%% libraries clearly while the node keeps running, and filters message hooks by topic
%% before Rust is called.
-module(rust_hook_driver_tests).

-include_lib("eunit/include/eunit.hrl").

-define(ALL_HOOKS, ['client.connect', 'client.connack', 'client.connected',
                    'client.disconnected', 'client.authenticate', 'client.check_acl',
                    'client.subscribe', 'client.unsubscribe', 'session.created',
                    'session.subscribed', 'session.unsubscribed', 'session.resumed',
                    'session.discarded', 'session.takeovered', 'session.terminated',
                    'message.publish', 'message.delivered', 'message.acked',
                    'message.dropped']).

driver_test_() ->
    {foreach,
     fun() -> ok = emqx_double:start() end,
     fun(_) -> rust_hook_test_util:stop() end,
     [{"a library with 2 hooks registers 2, at the configured priority", fun two_hooks/0},
      {"the example registers the hooks it implements", fun example_hooks/0},
      {"unload unregisters every hook; load again works", fun reload/0},
      {"switching libraries loads the new one", fun switch_library/0},
      {"purging and reloading the NIF module works (NIF upgrade)", fun nif_upgrade/0},
      {"a missing .so is a clear error", fun missing_library/0},
      {"a .so that is not a hook library is a clear error", fun not_a_hook/0},
      {"init errors from the library are reported", fun init_error/0},
      {"an unknown driver name is a clear error", fun unknown_driver/0},
      {"message hooks outside the topic filters never reach Rust", fun topic_filters/0},
      {"emqx_ctl rust_hook status and stats", fun cli/0},
      {"the counters are published as EMQX metrics", fun metrics/0}]}.

our_hooks() ->
    [H || H <- ?ALL_HOOKS,
          lists:any(fun({callback, {emqx_rust_hook_handler, _, _}, _, _}) -> true;
                       (_) -> false
                    end, emqx_hooks:lookup(H))].

our_priority(Hook) ->
    [P] = [P || {callback, {emqx_rust_hook_handler, _, _}, _, P} <- emqx_hooks:lookup(Hook)],
    P.

two_hooks() ->
    ok = rust_hook_test_util:start("two_hooks", ["exhook.drivers.rust.hook_priority = 7"]),
    ?assertEqual(['client.authenticate', 'client.check_acl'], our_hooks()),
    ?assertEqual(7, our_priority('client.authenticate')),
    %% The decisions reach the host: `blocked' is refused (banned), others abstain.
    Acc = #{auth_result => success, anonymous => true},
    ?assertEqual(#{auth_result => banned, anonymous => false},
                 emqx_hooks:run_fold('client.authenticate', [#{clientid => <<"c">>, username => <<"blocked">>}], Acc)),
    ?assertEqual(Acc, emqx_hooks:run_fold('client.authenticate', [#{clientid => <<"c">>, username => <<"ok">>}], Acc)),
    ?assertEqual(deny, emqx_hooks:run_fold('client.check_acl', [#{clientid => <<"c">>}, publish, <<"secret/x">>], allow)).

example_hooks() ->
    ok = rust_hook_test_util:start("example_hook"),
    ?assertEqual(['client.connect', 'client.connected', 'client.authenticate',
                  'client.check_acl', 'message.publish'], our_hooks()).

reload() ->
    ok = rust_hook_test_util:start("test_hooks"),
    ?assertEqual(19, length(our_hooks())),
    ok = rust_hook_test_util:stop(),
    %% unhook is a cast in EMQX: wait for the hooks server to apply it.
    _ = sys:get_state(emqx_hooks),
    ?assertEqual([], our_hooks()),
    ok = rust_hook_test_util:start("test_hooks"),
    ?assertEqual(19, length(our_hooks())),
    Acc = #{auth_result => success, anonymous => true},
    ?assertMatch(#{auth_result := success, anonymous := false},
                 emqx_hooks:run_fold('client.authenticate', [#{clientid => <<"c">>, password => <<"secret">>}], Acc)).

switch_library() ->
    ok = rust_hook_test_util:start("test_hooks"),
    ok = rust_hook_test_util:stop(),
    ok = rust_hook_test_util:start("two_hooks"),
    _ = sys:get_state(emqx_hooks),
    ?assertEqual(['client.authenticate', 'client.check_acl'], our_hooks()),
    ?assertEqual(deny, emqx_hooks:run_fold('client.check_acl', [#{clientid => <<"c">>}, publish, <<"secret/x">>], allow)),
    ok = rust_hook_test_util:stop(),
    ok = rust_hook_test_util:start("test_hooks"),
    _ = sys:get_state(emqx_hooks),
    ?assertEqual(19, length(our_hooks())).

nif_upgrade() ->
    ok = rust_hook_test_util:start("two_hooks"),
    ok = rust_hook_test_util:stop(),
    _ = code:soft_purge(emqx_rust_hook_nif),
    %% A new version of the module while the old one holds the library: loading the
    %% library into the new version goes through the NIF's upgrade callback.
    {module, emqx_rust_hook_nif} = code:load_file(emqx_rust_hook_nif),
    ?assertNot(emqx_rust_hook_nif:is_loaded()),
    ?assertEqual(ok, emqx_rust_hook_nif:load(rust_hook_test_util:lib("two_hooks"))),
    ?assert(emqx_rust_hook_nif:is_loaded()),
    %% The old instance can be purged (its library is unloaded), the new one works.
    ?assert(code:soft_purge(emqx_rust_hook_nif)),
    ok = rust_hook_test_util:start("two_hooks"),
    ?assertEqual(deny, emqx_hooks:run_fold('client.check_acl', [#{clientid => <<"c">>}, publish, <<"secret/y">>], allow)),
    %% And once more, with the plugin running (stop/start reuses the loaded library).
    ok = rust_hook_test_util:stop(),
    ok = rust_hook_test_util:start("two_hooks"),
    ?assertEqual(['client.authenticate', 'client.check_acl'], our_hooks()).

error_text(Fun) ->
    {Result, Logs} = rust_hook_test_util:capture_logs(Fun),
    Errors = [T || #{level := error, text := T} <- Logs],
    {Result, iolist_to_binary(lists:join("\n", Errors))}.

contains(Text, Part) -> binary:match(Text, Part) =/= nomatch.

missing_library() ->
    Path = "/nonexistent/libnothing.so",
    {Result, Log} = error_text(fun() -> rust_hook_test_util:start({path, Path}) end),
    ?assertMatch({error, _}, Result),
    ?assert(contains(Log, list_to_binary(Path))),
    ?assert(contains(Log, <<"not found">>)),
    ?assertEqual([], our_hooks()).

not_a_hook() ->
    Path = rust_hook_test_util:lib("not_a_hook"),
    {Result, Log} = error_text(fun() -> rust_hook_test_util:start({path, Path}) end),
    ?assertMatch({error, _}, Result),
    ?assert(contains(Log, list_to_binary(Path))),
    %% It carries no SDK version: refused before the VM loads it.
    ?assert(contains(Log, <<"is not a hook library of this SDK">>)),
    ?assertEqual([], our_hooks()).

init_error() ->
    {Result, Log} = error_text(fun() ->
                                       rust_hook_test_util:start("test_hooks", ["exhook.drivers.rust.init.fail = true"])
                               end),
    ?assertMatch({error, _}, Result),
    ?assert(contains(Log, <<"asked to fail by init.fail">>)),
    ?assertEqual([], our_hooks()),
    %% The library stays loadable: a good config starts it.
    ok = rust_hook_test_util:start("test_hooks"),
    ?assertEqual(19, length(our_hooks())).

unknown_driver() ->
    File = filename:join("/tmp", "emqx_rust_hook_unknown_driver.conf"),
    ok = file:write_file(File, "exhook.drivers = python3\n"),
    {Result, Log} = error_text(fun() -> emqx_plugins:load(emqx_rust_hook, File) end),
    ?assertMatch({error, _}, Result),
    ?assert(contains(Log, <<"unknown driver python3">>)),
    ?assertEqual([], our_hooks()).

calls(Hook) ->
    maps:get(calls, maps:get(Hook, emqx_rust_hook_nif:stats())).

topic_filters() ->
    ok = rust_hook_test_util:start("test_hooks"),
    Msg = fun(Topic) -> {message, <<1:128>>, 1, <<"c">>, #{}, #{}, Topic, <<"x">>, 1} end,
    CI = #{clientid => <<"sub">>},
    Acked0 = calls('message.acked'),
    ok = emqx_hooks:run('message.acked', [CI, Msg(<<"other/x">>)]),
    ok = emqx_hooks:run('message.acked', [CI, Msg(<<"nosub/x">>)]),
    ?assertEqual(Acked0, calls('message.acked')),
    ok = emqx_hooks:run('message.acked', [CI, Msg(<<"t/x">>)]),
    ?assertEqual(Acked0 + 1, calls('message.acked')),
    %% $SYS messages are skipped unless the library asks for them.
    Pub0 = calls('message.publish'),
    Sys = {message, <<2:128>>, 0, emqx_sys, #{sys => true}, #{}, <<"$SYS/brokers">>, <<"x">>, 1},
    ?assertEqual(Sys, emqx_hooks:run_fold('message.publish', [], Sys)),
    ?assertEqual(Pub0, calls('message.publish')),
    _ = emqx_hooks:run_fold('message.publish', [], Msg(<<"any/topic">>)),
    ?assertEqual(Pub0 + 1, calls('message.publish')).

cli() ->
    ok = rust_hook_test_util:start("two_hooks"),
    _ = emqx_hooks:run_fold('client.check_acl', [#{clientid => <<"c">>}, publish, <<"a">>], allow),
    Status = lists:flatten(emqx_ctl:run_command(["rust_hook", "status"])),
    ?assertNotEqual(nomatch, string:find(Status, "libtwo_hooks.so")),
    ?assertNotEqual(nomatch, string:find(Status, "client.check_acl")),
    ?assertNotEqual(nomatch, string:find(Status, "mode=inline")),
    Stats = lists:flatten(emqx_ctl:run_command(["rust_hook", "stats"])),
    ?assertNotEqual(nomatch, string:find(Stats, "client.check_acl")),
    ?assertNotEqual(nomatch, string:find(Stats, "calls=1")),
    Usage = lists:flatten(emqx_ctl:run_command(["rust_hook"])),
    ?assertNotEqual(nomatch, string:find(Usage, "rust_hook stats")).

metrics() ->
    ok = rust_hook_test_util:start("two_hooks"),
    {Calls, Failed} = emqx_rust_hook_metrics:names('client.check_acl'),
    ?assertEqual({'exhook.rust.client_check_acl', 'exhook.rust.client_check_acl.failed'},
                 {Calls, Failed}),
    ok = emqx_rust_hook_metrics:sync(),
    %% Deltas: an earlier test's calls may have been published by the periodic sync.
    C0 = emqx_metrics:val(Calls),
    F0 = emqx_metrics:val(Failed),
    [deny = emqx_hooks:run_fold('client.check_acl', [#{clientid => <<"c">>}, publish, <<"secret/m">>], allow)
     || _ <- lists:seq(1, 5)],
    %% A bad argument counts as a failure.
    allow = emqx_hooks:run_fold('client.check_acl', [#{clientid => <<"c">>}, bogus, <<"t">>], allow),
    ok = emqx_rust_hook_metrics:sync(),
    ?assertEqual(C0 + 6, emqx_metrics:val(Calls)),
    ?assertEqual(F0 + 1, emqx_metrics:val(Failed)).
