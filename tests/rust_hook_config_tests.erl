%% @doc The plugin's configuration: one source for the defaults (the .hrl, which the
%% schema must repeat exactly), the SDK taking every value from the driver, and the
%% operator's per-hook execution mode (`exhook.drivers.rust.mode.<hook>'), checked by
%% the SDK against what the hook allows and applied through the real plugin.
-module(rust_hook_config_tests).

-include_lib("eunit/include/eunit.hrl").
-include_lib("emqx_rust_hook/include/emqx_rust_hook.hrl").

-define(ACC, #{auth_result => success, anonymous => true}).

%%--------------------------------------------------------------------------------------
%% Defaults and schema

schema() -> emqx_double:repo_path("erlang/priv/emqx_rust_hook.schema").

rust(ConfText) ->
    {ok, [{emqx_rust_hook, [{drivers, Drivers}]}]} =
        cuttlefish_double:map_string(schema(), ConfText),
    proplists:get_value(rust, Drivers).

map(ConfText) -> cuttlefish_double:map_string(schema(), ConfText).

schema_defaults_are_the_hrl_defaults_test() ->
    Rust = rust("exhook.drivers.rust.path = p\n"),
    ?assertEqual([{call_timeout, ?DEFAULT_CALL_TIMEOUT},
                  {hook_priority, ?DEFAULT_HOOK_PRIORITY},
                  {pool_size, ?DEFAULT_POOL_SIZE},
                  {pool_max_size, ?DEFAULT_POOL_MAX_SIZE},
                  {async_max_in_flight, ?DEFAULT_ASYNC_MAX_IN_FLIGHT},
                  {failed_action, ?DEFAULT_FAILED_ACTION},
                  {notify_queue_size, ?DEFAULT_NOTIFY_QUEUE_SIZE},
                  {overflow, ?DEFAULT_OVERFLOW},
                  {latency_sample, ?DEFAULT_LATENCY_SAMPLE},
                  {reload_drain, ?DEFAULT_RELOAD_DRAIN}],
                 [{K, proplists:get_value(K, Rust)}
                  || K <- [call_timeout, hook_priority, pool_size, pool_max_size,
                           async_max_in_flight, failed_action, notify_queue_size, overflow,
                           latency_sample, reload_drain]]),
    %% The record the handler runs with starts from the same defaults.
    ?assertMatch(#hook{failed_action = ?DEFAULT_FAILED_ACTION, timeout = ?DEFAULT_CALL_TIMEOUT},
                 #hook{}).

mode_overrides_schema_test() ->
    Rust = rust("exhook.drivers.rust.path = p\n"
                "exhook.drivers.rust.mode.message_publish = queue\n"
                "exhook.drivers.rust.mode.client_check_acl = inline\n"
                "exhook.drivers.rust.mode.client_connected = auto\n"
                "exhook.drivers.rust.failed_action.client_authenticate = deny\n"),
    ?assertEqual([{'client.check_acl', inline}, {'client.connected', auto},
                  {'message.publish', queue}],
                 proplists:get_value(mode_overrides, Rust)),
    %% Not mixed up with failed_action.<hook>.
    ?assertEqual([{'client.authenticate', deny}],
                 proplists:get_value(failed_action_overrides, Rust)),
    ?assertEqual(undefined, proplists:get_value(mode_overrides,
                                                rust("exhook.drivers.rust.path = p\n"))),
    ?assertMatch({error, {apply_translations, _}},
                 map("exhook.drivers.rust.path = p\n"
                     "exhook.drivers.rust.mode.client_foo = queue\n")),
    ?assertMatch({error, {transform_datatypes, _}},
                 map("exhook.drivers.rust.path = p\n"
                     "exhook.drivers.rust.mode.client_connect = fast\n")).

%%--------------------------------------------------------------------------------------
%% Through the plugin

config_test_() ->
    {foreach,
     fun() -> rust_hook_test_util:probe_start(), ok = emqx_double:start() end,
     fun(_) -> rust_hook_test_util:stop(), rust_hook_test_util:probe_stop() end,
     [{"the SDK has no defaults: a value the driver does not send is an error",
       fun sdk_needs_every_value/0},
      {"mode.client_authenticate = queue: the hook runs but no longer decides",
       fun queued_auth_observes/0},
      {"mode.message_publish = queue: a cancel is no longer applied",
       fun queued_publish_observes/0},
      {"mode.client_check_acl = pool: the library's inline becomes pool, still decides",
       fun acl_to_pool/0},
      {"mode.client_connected = inline: a notification may run inline",
       fun notification_inline/0},
      {"mode.client_connected = pool is refused at load, naming hook and value",
       fun notification_pool_refused/0},
      {"a mode for a hook the library does not implement is refused",
       fun unimplemented_refused/0},
      {"an async fn runs in mode async only; mode async is for async fn only",
       fun async_mode_overrides_refused/0}]}.

mode_of(Hook) ->
    #{hooks := Hooks} = emqx_rust_hook_driver:info(),
    [Mode] = [H#hook.mode || H <- Hooks, H#hook.name =:= Hook],
    Mode.

sdk_needs_every_value() ->
    %% Start and stop once so that the library is loaded into the NIF module.
    ok = rust_hook_test_util:start("two_hooks"),
    ok = rust_hook_test_util:stop(),
    Path = list_to_binary(rust_hook_test_util:lib("two_hooks")),
    Full = #{path => Path, call_timeout => 5000, hook_priority => 0, pool_size => 8,
             pool_max_size => 256, async_max_in_flight => 10000, failed_action => ignore,
             notify_queue_size => 10000, overflow => drop_newest,
             emqx_version => <<>>, init_args => #{}},
    [begin
         Result = emqx_rust_hook_nif:start(maps:remove(Key, Full)),
         ?assertMatch({error, _}, Result),
         {error, Msg} = Result,
         ?assertNotEqual(nomatch, binary:match(Msg, [atom_to_binary(Key, utf8)]))
     end || Key <- [call_timeout, hook_priority, pool_size, pool_max_size,
                    async_max_in_flight, failed_action, notify_queue_size, overflow]],
    %% The full map starts it (and stop undoes it).
    ?assertMatch({ok, [_, _]}, emqx_rust_hook_nif:start(Full)),
    ok = emqx_rust_hook_nif:stop().

queued_auth_observes() ->
    ok = rust_hook_test_util:start("test_hooks",
                                   ["exhook.drivers.rust.mode.client_authenticate = queue"]),
    ?assertEqual(queue, mode_of('client.authenticate')),
    %% test_hooks gives no mode: the default, auto.
    ?assertEqual(auto, mode_of('client.check_acl')),
    %% test_hooks refuses the password `wrong'; queued, its answer is ignored.
    CI = #{clientid => <<"q1">>, username => <<"u">>, password => <<"wrong">>},
    ?assertEqual(?ACC, emqx_hooks:run_fold('client.authenticate', [CI], ?ACC)),
    %% ... but it did run (it reports every call).
    ?assertMatch([_ | _], rust_hook_test_util:await_reports(<<"client.authenticate">>, 1)),
    %% Without the override the same login is refused.
    ok = rust_hook_test_util:stop(),
    ok = rust_hook_test_util:start("test_hooks"),
    ?assertEqual(auto, mode_of('client.authenticate')),
    ?assertMatch(#{auth_result := bad_username_or_password},
                 emqx_hooks:run_fold('client.authenticate', [CI], ?ACC)).

msg(Topic) -> {message, <<7:128>>, 1, <<"pub">>, #{}, #{}, Topic, <<"x">>, 1}.

queued_publish_observes() ->
    ok = rust_hook_test_util:start("test_hooks",
                                   ["exhook.drivers.rust.mode.message_publish = queue"]),
    ?assertEqual(queue, mode_of('message.publish')),
    Msg = msg(<<"cancel/x">>),
    ?assertEqual(Msg, emqx_hooks:run_fold('message.publish', [], Msg)),
    ?assertMatch([_ | _], rust_hook_test_util:await_reports(<<"message.publish">>, 1)).

acl_to_pool() ->
    %% two_hooks marks client_check_acl #[hook(inline)].
    ok = rust_hook_test_util:start("two_hooks", ["exhook.drivers.rust.mode.client_check_acl = pool"]),
    ?assertEqual(pool, mode_of('client.check_acl')),
    ?assertEqual(deny, emqx_hooks:run_fold('client.check_acl',
                                           [#{clientid => <<"c">>}, publish, <<"secret/x">>],
                                           allow)),
    %% The SDK started a pool for it: a pool call is accepted (an inline-only hook
    %% would answer `{error, not_started, _}': no pool for this hook).
    Ref = make_ref(),
    ?assertMatch({pending, _}, emqx_rust_hook_nif:client_check_acl(
                                 Ref, #{clientid => <<"c">>}, publish, <<"secret/y">>, allow)),
    ?assertEqual({stop, deny}, receive {Ref, R} -> R after 5000 -> timeout end).

notification_inline() ->
    ok = rust_hook_test_util:start("test_hooks", ["exhook.drivers.rust.mode.client_connected = inline"]),
    ?assertEqual(inline, mode_of('client.connected')),
    ok = emqx_hooks:run('client.connected', [#{clientid => <<"n1">>}, #{clientid => <<"n1">>}]),
    %% Inline: the report was sent before run/2 returned.
    ?assertMatch([_], rust_hook_test_util:reports(<<"client.connected">>)).

error_log(Fun) ->
    {Result, Logs} = rust_hook_test_util:capture_logs(Fun),
    {Result, iolist_to_binary(lists:join("\n", [T || #{level := error, text := T} <- Logs]))}.

our_hooks() ->
    [H || {H, Callbacks} <- [{H, emqx_hooks:lookup(H)} || H <- ['client.connected',
                                                                'client.authenticate',
                                                                'client.check_acl',
                                                                'message.publish']],
          lists:any(fun({callback, {emqx_rust_hook_handler, _, _}, _, _}) -> true;
                       (_) -> false
                    end, Callbacks)].

notification_pool_refused() ->
    {Result, Log} = error_log(fun() ->
        rust_hook_test_util:start("test_hooks", ["exhook.drivers.rust.mode.client_connected = pool"])
    end),
    ?assertMatch({error, _}, Result),
    ?assertNotEqual(nomatch, binary:match(Log, <<"mode.client_connected = pool">>)),
    ?assertNotEqual(nomatch, binary:match(Log, <<"notification">>)),
    ?assertEqual([], our_hooks()).

async_mode_overrides_refused() ->
    ok = rust_hook_test_util:start("async_fn_hooks"),
    ?assertEqual(async, mode_of('client.authenticate')),
    ?assertEqual(inline, mode_of('client.check_acl')),
    ok = rust_hook_test_util:stop(),
    {R1, Log1} = error_log(fun() ->
        rust_hook_test_util:start("async_fn_hooks",
                                  ["exhook.drivers.rust.mode.client_authenticate = pool"])
    end),
    ?assertMatch({error, _}, R1),
    ?assertNotEqual(nomatch, binary:match(Log1, <<"is an async fn">>)),
    {R2, Log2} = error_log(fun() ->
        rust_hook_test_util:start("async_fn_hooks",
                                  ["exhook.drivers.rust.mode.client_check_acl = async"])
    end),
    ?assertMatch({error, _}, R2),
    ?assertNotEqual(nomatch, binary:match(Log2, <<"mode async is for async fn methods">>)),
    ?assertEqual([], our_hooks()).

unimplemented_refused() ->
    {Result, Log} = error_log(fun() ->
        rust_hook_test_util:start("two_hooks", ["exhook.drivers.rust.mode.message_publish = queue"])
    end),
    ?assertMatch({error, _}, Result),
    ?assertNotEqual(nomatch, binary:match(Log, <<"mode.message_publish = queue">>)),
    ?assertNotEqual(nomatch, binary:match(Log, <<"does not implement message.publish">>)),
    ?assertEqual([], our_hooks()).

%% The defaults the shipped conf and the README document are the .hrl's too: each
%% documented value, mapped through the schema, gives the .hrl's value.
documented_defaults_test() ->
    Keys = ["call_timeout", "hook_priority", "pool_size", "pool_max_size",
            "async_max_in_flight", "failed_action", "notify_queue_size", "overflow",
            "latency_sample", "reload_drain"],
    {ok, Conf} = file:read_file(emqx_double:repo_path("erlang/etc/emqx_rust_hook.conf")),
    {ok, Readme} = file:read_file(filename:join(filename:dirname(emqx_double:repo_path("Makefile")),
                                                "README.md")),
    FromConf = [{K, V} || K <- Keys,
                          {match, [V]} <- [re:run(Conf, "\n##exhook\\.drivers\\.rust\\." ++ K
                                                  ++ " = (\\S+)\n",
                                                  [{capture, all_but_first, list}])]],
    FromReadme = [{K, V} || K <- Keys,
                            {match, [V]} <- [re:run(Readme, "\n\\| `exhook\\.drivers\\.rust\\."
                                                    ++ K ++ "` \\| `([^`]+)` \\|",
                                                    [{capture, all_but_first, list}])]],
    ?assertEqual(Keys, [K || {K, _} <- FromConf]),
    ?assertEqual(Keys, [K || {K, _} <- FromReadme]),
    Defaults = rust("exhook.drivers.rust.path = p\n"),
    [begin
         Mapped = rust("exhook.drivers.rust.path = p\n"
                       ++ lists:append(["exhook.drivers.rust." ++ K ++ " = " ++ V ++ "\n"
                                        || {K, V} <- Documented])),
         ?assertEqual({Where, Defaults}, {Where, Mapped})
     end || {Where, Documented} <- [{conf, FromConf}, {readme, FromReadme}]].
