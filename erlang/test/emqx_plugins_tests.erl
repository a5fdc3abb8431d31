%% Tests of the emqx_plugins test double (contract 7.4). This module is
%% also the code of a dummy plugin application `dummy_plugin' (it carries
%% -emqx_plugin) so that load/unload can run without the real plugin.
-module(emqx_plugins_tests).

-include_lib("eunit/include/eunit.hrl").

-behaviour(application).
-behaviour(supervisor).

-emqx_plugin(?MODULE).

-export([start/2, prep_stop/1, stop/1, init/1]).

%% dummy_plugin application callbacks: report to the test process
start(_Type, _Args) ->
    notify({started, lists:sort(application:get_all_env(dummy_plugin))}),
    supervisor:start_link(?MODULE, []).

prep_stop(State) ->
    notify(prep_stop),
    State.

stop(_State) ->
    ok.

init([]) ->
    {ok, {{one_for_one, 1, 5}, []}}.

notify(Event) ->
    case whereis(emqx_plugins_tests_probe) of
        undefined -> ok;
        Pid -> Pid ! {plugin_event, Event}
    end.

dummy_app() ->
    {application, dummy_plugin,
     [{description, "dummy plugin for emqx_plugins tests"}, {vsn, "1"},
      {modules, [?MODULE]}, {registered, []}, {applications, [kernel, stdlib]},
      {mod, {?MODULE, []}}, {env, [{old_key, 1}]}]}.

not_a_plugin_app() ->
    {application, not_a_plugin,
     [{description, "no -emqx_plugin module"}, {vsn, "1"}, {modules, [lists]},
      {registered, []}, {applications, [kernel, stdlib]}]}.

%% Tests may run in another process than setup: register the caller.
probe() ->
    catch unregister(emqx_plugins_tests_probe),
    register(emqx_plugins_tests_probe, self()).

setup() ->
    Dir = filename:join(["/tmp", "emqx_plugins_tests_" ++ os:getpid()]),
    ok = filelib:ensure_dir(filename:join(Dir, "x")),
    application:set_env(emqx_double, plugins_etc_dir, Dir),
    _ = application:load(dummy_app()),
    _ = application:load(not_a_plugin_app()),
    Dir.

cleanup(Dir) ->
    catch unregister(emqx_plugins_tests_probe),
    application:stop(dummy_plugin),
    application:unload(dummy_plugin),
    application:unload(not_a_plugin),
    application:unset_env(emqx_double, plugins_etc_dir),
    [file:delete(F) || F <- filelib:wildcard(filename:join(Dir, "*"))],
    file:del_dir(Dir).

plugins_test_() ->
    {foreach, fun setup/0, fun cleanup/1,
     [fun(Dir) -> {"load with .config, unload", fun() -> load_config_unload(Dir) end} end,
      fun(Dir) -> {"no config: parse_config_file_failed", fun() -> no_config(Dir) end} end,
      fun(Dir) -> {"not a plugin", fun() -> not_plugin(Dir) end} end,
      fun(Dir) -> {"rust hook conf through its schema", fun() -> rust_hook_configs(Dir) end} end]}.

load_config_unload(Dir) ->
    probe(),
    ok = file:write_file(filename:join(Dir, "dummy_plugin.config"),
                         "[{dummy_plugin, [{new_key, 2}, {list, [a]}]}].\n"),
    ?assertEqual(ok, emqx_plugins:load(dummy_plugin)),
    %% old env keys were unset before the generated env was applied
    ?assertEqual({plugin_event, {started, [{list, [a]}, {new_key, 2}]}},
                 receive_event()),
    ?assertEqual(undefined, application:get_env(dummy_plugin, old_key)),
    ?assertEqual({error, already_started}, emqx_plugins:load(dummy_plugin)),
    ?assertEqual(ok, emqx_plugins:unload(dummy_plugin)),
    ?assertEqual({plugin_event, prep_stop}, receive_event()),
    ?assertNot(lists:keymember(dummy_plugin, 1, application:which_applications())),
    ?assertEqual({error, not_started}, emqx_plugins:unload(dummy_plugin)).

no_config(Dir) ->
    probe(),
    ?assertEqual({error, parse_config_file_failed}, emqx_plugins:load(dummy_plugin)),
    %% a .conf needs a schema in priv_dir; this app has none
    ok = file:write_file(filename:join(Dir, "dummy_plugin.conf"), "a.b = 1\n"),
    ?assertEqual({error, parse_config_file_failed}, emqx_plugins:load(dummy_plugin)),
    application:unset_env(emqx_double, plugins_etc_dir),
    ?assertEqual({error, parse_config_file_failed}, emqx_plugins:load(dummy_plugin)),
    %% The plugin never started: it is not running, and a start would have sent its
    %% event before load/1 returned (no need to wait for one).
    ?assertNot(lists:keymember(dummy_plugin, 1, application:which_applications())),
    ?assertEqual(none, receive {plugin_event, _} = E -> E after 0 -> none end).

not_plugin(_Dir) ->
    ?assertEqual({error, not_found}, emqx_plugins:load(not_a_plugin)),
    ?assertEqual({error, not_found}, emqx_plugins:load(no_such_app_at_all)),
    ?assert(emqx_plugins:is_plugin(dummy_plugin)).

%% Only generates the env (does not start the real plugin).
rust_hook_configs(Dir) ->
    Conf = filename:join(Dir, "emqx_rust_hook.conf"),
    ok = file:write_file(Conf, "exhook.drivers.rust.path = /x/libh.so\n"
                               "exhook.drivers.rust.init.k = v\n"),
    [{emqx_rust_hook, [{drivers, [{rust, Opts}]}]}] = emqx_plugins:generate_configs(emqx_rust_hook),
    ?assertEqual("/x/libh.so", proplists:get_value(path, Opts)),
    ?assertEqual([{"k", "v"}], proplists:get_value(init_args, Opts)),
    ?assertMatch([{emqx_rust_hook, _}],
                 emqx_plugins:generate_configs(
                   emqx_rust_hook, emqx_double:repo_path("erlang/etc/emqx_rust_hook.conf"))),
    %% a bad conf: load fails before anything is started
    ok = file:write_file(Conf, "exhook.drivers.rust.path = p\nexhook.nope = 1\n"),
    ?assertEqual({error, {transform_datatypes, [{unknown_variable, "exhook.nope"}]}},
                 emqx_plugins:generate_configs(emqx_rust_hook)),
    ?assertEqual({error, parse_config_file_failed}, emqx_plugins:load(emqx_rust_hook, Conf)),
    ?assertEqual({error, parse_config_file_failed}, emqx_plugins:load(emqx_rust_hook)),
    ?assertNot(lists:keymember(emqx_rust_hook, 1, application:which_applications())).

%% The next plugin event; 10 s at most (hang detection).
receive_event() ->
    receive {plugin_event, _} = E -> E after 10000 -> timeout end.

apply_configs_test() ->
    application:set_env(apply_cfg_test_app, a, 1),
    ok = emqx_plugins:apply_configs([{apply_cfg_test_app, [{b, 2}]}]),
    ?assertEqual([{b, 2}], lists:sort(application:get_all_env(apply_cfg_test_app))),
    application:unset_env(apply_cfg_test_app, b).
