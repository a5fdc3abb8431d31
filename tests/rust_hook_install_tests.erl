%% @doc The plugin as `make plugin' packages it for EMQX (_build/plugin/emqx_rust_hook:
%% ebin, priv with the schema and the example .so, etc with the shipped conf) loads the
%% way EMQX loads an external plugin: in a fresh VM whose code path has only that
%% directory and the stand-in host, with the shipped conf mapped through the shipped
%% schema and the relative library path taken from priv/.
-module(rust_hook_install_tests).

-include_lib("eunit/include/eunit.hrl").

install_test_() ->
    {timeout, 60, fun packaged_plugin_loads/0}.

packaged_plugin_loads() ->
    Plugin = emqx_double:repo_path("_build/plugin/emqx_rust_hook"),
    Host = filename:join(emqx_double:repo_path("_build/test/lib/emqx_rust_hook"), "test"),
    Script =
        "ok = emqx_double:start(),"
        "ok = application:set_env(emqx_double, plugins_etc_dir, \"" ++ Plugin ++ "/etc\"),"
        "R = emqx_plugins:load(emqx_rust_hook),"
        "Priv = code:priv_dir(emqx_rust_hook),"
        "Acc = #{auth_result => success, anonymous => true},"
        "A = emqx_hooks:run_fold('client.authenticate', [#{clientid => <<>>}], Acc),"
        "io:format(\"~w~n\", [{R, Priv, maps:get(auth_result, A)}]),"
        "halt().",
    Erl = os:find_executable("erl"),
    Port = open_port({spawn_executable, Erl},
                     [{args, ["-noshell", "-pa", Plugin ++ "/ebin", "-pa", Host, "-eval", Script]},
                      exit_status, stderr_to_stdout, binary]),
    Out = binary_to_list(collect(Port, <<>>)),
    Expected = io_lib:format("~w", [{ok, Plugin ++ "/priv", not_authorized}]),
    ?assertNotEqual({nomatch, Out}, {string:find(Out, lists:flatten(Expected)), Out}),
    %% The package holds the plugin's modules only, none of the stand-in host's.
    {ok, Beams} = file:list_dir(filename:join(Plugin, "ebin")),
    ?assertEqual([], [B || B <- Beams, lists:prefix("emqx_rust_hook", B) =:= false,
                           B =/= "emqx_rust_hook.app"]).

collect(Port, Acc) ->
    receive
        {Port, {data, D}} -> collect(Port, <<Acc/binary, D/binary>>);
        {Port, {exit_status, _}} -> Acc
    after 30000 -> error({timeout, Acc})
    end.
