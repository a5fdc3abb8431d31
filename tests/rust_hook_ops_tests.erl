%% @doc Operator controls on the stand-in host: `emqx_ctl rust_hook enable|disable <hook>'
%% (a disabled hook is not registered, so it does not run; enabled again, it runs), and
%% the latency histogram behind `rust_hook stats' and the `exhook.rust.<hook>.p50_us /
%% .p99_us / .max_us' gauges (kept by the library: its buckets, percentiles and sampling
%% rule are unit-tested in src/nif/latency.rs).
-module(rust_hook_ops_tests).

-include_lib("eunit/include/eunit.hrl").
-include_lib("emqx_rust_hook/include/emqx_rust_hook.hrl").

ops_test_() ->
    {foreach,
     fun() -> ok = emqx_double:start() end,
     fun(_) -> rust_hook_test_util:stop() end,
     [{"disable unregisters one hook, enable registers it again", fun enable_disable/0},
      {"enable/disable of a hook the library lacks, or with no library", fun bad_names/0},
      {"sampled latency in rust_hook stats and as gauges", fun latency_stats/0},
      {"latency_sample = 1 times every call; 0 turns it off", fun latency_sample_conf/0},
      {"a library built without optimisations is named in a warning", fun unoptimised_build/0}]}.

ctl(Args) -> lists:flatten(emqx_ctl:run_command(Args)).

registered(Hook) ->
    [C || {callback, {emqx_rust_hook_handler, _, _}, _, _} = C <- emqx_hooks:lookup(Hook)].

deny_check() ->
    emqx_hooks:run_fold('client.check_acl', [#{clientid => <<"c">>}, publish, <<"secret/x">>], allow).

enable_disable() ->
    ok = rust_hook_test_util:start("two_hooks"),
    ?assertEqual(deny, deny_check()),
    Out = ctl(["rust_hook", "disable", "client.check_acl"]),
    ?assertNotEqual(nomatch, string:find(Out, "client.check_acl disabled")),
    ?assertEqual([], registered('client.check_acl')),
    ?assertMatch([_], registered('client.authenticate')),
    %% Not registered: the library's deny is gone, the chain's default stays.
    ?assertEqual(allow, deny_check()),
    ?assertNotEqual(nomatch, string:find(ctl(["rust_hook", "status"]), "DISABLED")),
    %% Twice is harmless; the underscore name works too.
    _ = ctl(["rust_hook", "disable", "client_check_acl"]),
    ?assertEqual([], registered('client.check_acl')),
    Out2 = ctl(["rust_hook", "enable", "client_check_acl"]),
    ?assertNotEqual(nomatch, string:find(Out2, "client.check_acl enabled")),
    ?assertMatch([_], registered('client.check_acl')),
    ?assertEqual(deny, deny_check()),
    ?assertEqual(nomatch, string:find(ctl(["rust_hook", "status"]), "DISABLED")),
    %% A disabled hook is registered again when the plugin loads again.
    _ = ctl(["rust_hook", "disable", "client.check_acl"]),
    rust_hook_test_util:stop(),
    ok = rust_hook_test_util:start("two_hooks"),
    ?assertMatch([_], registered('client.check_acl')).

bad_names() ->
    ?assertEqual({error, not_running}, emqx_rust_hook_driver:disable('client.check_acl')),
    ok = rust_hook_test_util:start("two_hooks"),
    Out = ctl(["rust_hook", "disable", "message.publish"]),
    ?assertNotEqual(nomatch, string:find(Out, "not a hook of the loaded library")),
    Out2 = ctl(["rust_hook", "enable", "no.such_hook_xyz"]),
    ?assertNotEqual(nomatch, string:find(Out2, "not a hook of the loaded library")),
    ?assertEqual(false, lists:member(list_to_binary("no.such_hook_xyz"),
                                     [atom_to_binary(A, utf8) || A <- erlang:registered()])),
    ?assertMatch([_], registered('client.check_acl')),
    ?assertMatch([_], registered('client.authenticate')).

latency_stats() ->
    ok = rust_hook_test_util:start("two_hooks"),
    %% 33 calls from this process: each scheduler thread that runs some times its first
    %% and then one in 16: calls 1, 17 and 33 when they all run on one thread, one more
    %% for each other thread the process ran on.
    [deny_check() || _ <- lists:seq(1, 33)],
    Stats = ctl(["rust_hook", "stats"]),
    [Line] = [L || L <- string:split(Stats, "\n", all), string:prefix(L, "client.check_acl") =/= nomatch],
    ?assertNotEqual(nomatch, string:find(Line, "calls=33")),
    Field = fun(K) ->
                    [V] = [list_to_integer(string:prefix(W, K ++ "="))
                           || W <- string:lexemes(Line, " "), string:prefix(W, K ++ "=") =/= nomatch],
                    V
            end,
    Samples = Field("samples"),
    ?assert(Samples >= 3 andalso Samples =< 2 + erlang:system_info(schedulers)),
    P50 = Field("p50_us"), P99 = Field("p99_us"), Max = Field("max_us"),
    ?assert(P50 =< P99 andalso P99 =< Max),
    %% No hook call takes an hour: the values are plausible microseconds.
    ?assert(Max < 3600000000),
    %% authenticate was never called: no samples.
    [Auth] = [L || L <- string:split(Stats, "\n", all), string:prefix(L, "client.authenticate") =/= nomatch],
    ?assertNotEqual(nomatch, string:find(Auth, "samples=0")),
    ok = emqx_rust_hook_metrics:sync(),
    {N50, N99, NMax} = emqx_rust_hook_metrics:latency_names('client.check_acl'),
    ?assertEqual({'exhook.rust.client_check_acl.p50_us', 'exhook.rust.client_check_acl.p99_us',
                  'exhook.rust.client_check_acl.max_us'}, {N50, N99, NMax}),
    ?assertEqual({P50, P99, Max}, {emqx_metrics:val(N50), emqx_metrics:val(N99),
                                   emqx_metrics:val(NMax)}).

latency_sample_conf() ->
    ok = rust_hook_test_util:start("two_hooks", ["exhook.drivers.rust.latency_sample = 1"]),
    [deny_check() || _ <- lists:seq(1, 5)],
    ?assertNotEqual(nomatch, string:find(ctl(["rust_hook", "stats"]), "samples=5")),
    rust_hook_test_util:stop(),
    ok = rust_hook_test_util:start("two_hooks", ["exhook.drivers.rust.latency_sample = 0"]),
    [#{hooks := Hooks}] = [emqx_rust_hook_driver:info()],
    ?assertEqual([undefined, undefined], [element(#hook.lat, H) || H <- Hooks]),
    [deny_check() || _ <- lists:seq(1, 5)],
    Stats = ctl(["rust_hook", "stats"]),
    ?assertNotEqual(nomatch, string:find(Stats, "calls=5")),
    ?assertNotEqual(nomatch, string:find(Stats, "samples=0")).

%% `make integration' builds two_hooks a second time as `cargo build' does without
%% `--release' (target/debug): loading that copy logs one warning naming the library's
%% type and the fix; the release build logs none.
unoptimised_build() ->
    Debug = emqx_double:repo_path("target/debug/libtwo_hooks.so"),
    ?assert(filelib:is_regular(Debug)),
    [Warning] = unoptimised_warnings({path, Debug}),
    ?assertNotEqual(nomatch, binary:match(Warning, <<"two_hooks::TwoHooks was built">>)),
    ?assertNotEqual(nomatch, binary:match(Warning, <<"cargo build --release">>)),
    ok = rust_hook_test_util:stop(),
    ?assertEqual([], unoptimised_warnings("two_hooks")).

%% The warning lines about an unoptimised build logged while `Lib' starts.
unoptimised_warnings(Lib) ->
    {ok, Logs} = rust_hook_test_util:capture_logs(fun() -> rust_hook_test_util:start(Lib) end),
    [Text || #{level := warning, text := Text} <- Logs,
             binary:match(Text, <<"built without optimisations">>) =/= nomatch].
