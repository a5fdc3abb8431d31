%% Tests of the emqx_ctl test double (contract 7.3).
-module(emqx_ctl_tests).

-include_lib("eunit/include/eunit.hrl").

-export([cli/1, other/1]).

%% A command in the style of a plugin CLI.
cli(["echo" | Args]) ->
    emqx_ctl:print("echo: ~s~n", [string:join(Args, " ")]);
cli(["crash"]) ->
    io:format("before crash~n"),
    error(cli_crashed);
cli(usage) ->
    emqx_ctl:usage([{"demo echo <Words>", "Print the words"},
                    {"demo crash", "Raise an exception\nafter printing"}]);
cli(_) ->
    cli(usage).

other(usage) -> emqx_ctl:print("other usage~n");
other(_) -> emqx_ctl:print("other ran~n").

ctl_test_() ->
    {setup, fun() -> emqx_double:stop(), emqx_double:start() end,
     fun(_) -> emqx_double:stop() end,
     fun() ->
             ok = emqx_ctl:register_command(demo, {?MODULE, cli}, []),
             ?assertEqual([{?MODULE, cli}], emqx_ctl:lookup_command(demo)),
             ?assertEqual("echo: a b\n", emqx_ctl:run_command(["demo", "echo", "a", "b"])),
             %% args are char lists; usage lines are aligned to 48 columns
             Usage = emqx_ctl:run_command(["demo", "help"]),
             ?assertEqual(lists:flatten([string:pad("demo echo <Words>", 48), "# Print the words\n",
                                         string:pad("demo crash", 48), "# Raise an exception\n",
                                         string:pad("", 48), "# after printing\n"]),
                          Usage),
             %% exceptions are caught; what was printed before is kept
             ?assertEqual({{error, cli_crashed}, "before crash\n"},
                          emqx_ctl:run_command_result(["demo", "crash"])),
             %% help calls every command with the atom usage, in order
             ok = emqx_ctl:register_command(other, {?MODULE, other}, []),
             Help = emqx_ctl:run_command(["help"]),
             ?assertMatch({match, _}, re:run(Help, "demo echo.*other usage", [dotall])),
             ?assertEqual([demo, other], [C || {C, _, _} <- emqx_ctl:get_commands()]),
             %% re-registering keeps the position
             ok = emqx_ctl:register_command(demo, {?MODULE, other}, []),
             ?assertEqual([demo, other], [C || {C, _, _} <- emqx_ctl:get_commands()]),
             ?assertEqual("other ran\n", emqx_ctl:run_command(["demo"])),
             ok = emqx_ctl:unregister_command(demo),
             {Result, Out} = emqx_ctl:run_command_result(["demo"]),
             ?assertEqual({error, cmd_not_found}, Result),
             ?assertMatch({match, _}, re:run(Out, "other usage")),
             ok = emqx_ctl:unregister_command(other),
             ?assertEqual("No commands available.\n", emqx_ctl:run_command([]))
     end}.
