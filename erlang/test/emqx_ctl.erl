%%--------------------------------------------------------------------
%% TEST DOUBLE of the EMQX 4.2.14 module `emqx_ctl', used only by tests.
%%
%% Commands are kept in a public named ETS table (created by
%% emqx_hooks:start_link/0) in registration order. run_command/1 plays the
%% role of `bin/emqx_ctl': it calls the registered {M, F} with a list of
%% char-list args (or the atom `usage' for help) in a fresh process whose
%% group leader collects everything printed, and returns that text.
%%--------------------------------------------------------------------
-module(emqx_ctl).

-export([create_table/0, register_command/2, register_command/3,
         unregister_command/1, lookup_command/1, get_commands/0,
         print/1, print/2, usage/1, usage/2, format_usage/1,
         run_command/1, run_command_result/1]).

-define(TAB, emqx_command).
-define(RUN_TIMEOUT, 60000).

%% @doc Create the command table (owned by the caller). Idempotent.
create_table() ->
    case ets:info(?TAB, name) of
        undefined ->
            _ = ets:new(?TAB, [set, public, named_table]),
            ok;
        _ -> ok
    end.

%% @doc Same as register_command(Cmd, MF, []).
register_command(Cmd, MF) ->
    register_command(Cmd, MF, []).

%% @doc Register Cmd (atom) to call {Module, Function}. Registering an
%% existing Cmd overrides it, logs a warning and keeps its position.
register_command(Cmd, {M, F} = MF, Opts) when is_atom(Cmd), is_atom(M), is_atom(F) ->
    Seq = case ets:lookup(?TAB, Cmd) of
              [{Cmd, _OldMF, _OldOpts, OldSeq}] ->
                  logger:warning("CMD ~s is overidden by ~p", [Cmd, MF]),
                  OldSeq;
              [] -> erlang:unique_integer([monotonic])
          end,
    true = ets:insert(?TAB, {Cmd, MF, Opts, Seq}),
    ok.

%% @doc Remove Cmd; always ok.
unregister_command(Cmd) ->
    _ = (catch ets:delete(?TAB, Cmd)),
    ok.

%% @doc [{M, F}] registered for Cmd, or [].
lookup_command(Cmd) when is_atom(Cmd) ->
    case catch ets:lookup(?TAB, Cmd) of
        [{Cmd, MF, _Opts, _Seq}] -> [MF];
        _ -> []
    end.

%% @doc All commands as [{Cmd, {M, F}, Opts}] in registration order.
get_commands() ->
    Rows = lists:keysort(4, ets:tab2list(?TAB)),
    [{Cmd, MF, Opts} || {Cmd, MF, Opts, _Seq} <- Rows].

%% @doc Print a message (io format string without args, "~n" works).
print(Msg) ->
    io:format(Msg, []).

%% @doc Print an io-formatted message.
print(Format, Args) ->
    io:format(Format, Args).

%% @doc Print aligned usage lines for [{CmdString, DescString}].
usage(UsageList) ->
    io:format("~s", [format_usage(UsageList)]).

%% @doc Print one aligned usage entry.
usage(CmdParams, Desc) ->
    usage([{CmdParams, Desc}]).

%% @doc The usage text: one "~-48s# ~s~n" line per (multi-line) entry.
format_usage(UsageList) ->
    lists:flatten([format_usage_entry(C, D) || {C, D} <- UsageList]).

format_usage_entry(CmdParams, Desc) ->
    Lines = zip_lines(split_lines(CmdParams), split_lines(Desc)),
    [io_lib:format("~-48s# ~s~n", [C, D]) || {C, D} <- Lines].

split_lines(Str) ->
    [L || L <- string:split(Str, "\n", all), L =/= []].

zip_lines([X | Xs], [Y | Ys]) -> [{X, Y} | zip_lines(Xs, Ys)];
zip_lines([X | Xs], []) -> [{X, ""} | zip_lines(Xs, [])];
zip_lines([], [Y | Ys]) -> [{"", Y} | zip_lines([], Ys)];
zip_lines([], []) -> [].

%% @doc Run `emqx_ctl Arg1 Arg2 ...' and return everything printed as one
%% string. ["help"] (or []) prints the usage of every command.
run_command(Args) ->
    {_Result, Output} = run_command_result(Args),
    Output.

%% @doc Like run_command/1 but returns {Result, Output}: Result is ok,
%% {error, cmd_not_found} or {error, Reason} when the command raised
%% (the exception is caught and logged, as EMQX does).
run_command_result(Args) when is_list(Args) ->
    Collector = spawn(fun() -> collector_loop([]) end),
    Caller = self(),
    Ref = make_ref(),
    {Worker, MRef} =
        spawn_monitor(fun() ->
                              group_leader(Collector, self()),
                              Caller ! {Ref, dispatch(Args)}
                      end),
    Result = receive
                 {Ref, R} -> R;
                 {'DOWN', MRef, process, Worker, Reason} -> {error, Reason}
             after ?RUN_TIMEOUT -> exit(Worker, kill), {error, timeout}
             end,
    erlang:demonitor(MRef, [flush]),
    Collector ! {get, self(), Ref},
    Output = receive {Ref, Text} -> Text after 5000 -> "" end,
    {Result, Output}.

dispatch([]) -> help();
dispatch(["help"]) -> help();
dispatch([Cmd | Args]) ->
    case lookup_command(list_to_atom(Cmd)) of
        [{M, F}] ->
            try M:F(Args) of
                _ -> ok
            catch
                _:Reason:Stacktrace ->
                    logger:error("CMD Error:~0p, Stacktrace:~0p", [Reason, Stacktrace]),
                    {error, Reason}
            end;
        [] ->
            _ = help(),
            {error, cmd_not_found}
    end.

help() ->
    case get_commands() of
        [] -> print("No commands available.~n");
        Cmds ->
            print("Usage: ~s~n", [?MODULE]),
            lists:foreach(fun({_Cmd, {M, F}, _Opts}) ->
                                  print("~110..-s~n", [""]),
                                  catch M:F(usage)
                          end, Cmds)
    end,
    ok.

%% A minimal io server: stores put_chars output, refuses input.
collector_loop(Acc) ->
    receive
        {io_request, From, ReplyAs, Request} ->
            {Reply, Acc1} = io_request(Request, Acc),
            From ! {io_reply, ReplyAs, Reply},
            collector_loop(Acc1);
        {get, From, Ref} ->
            From ! {Ref, unicode:characters_to_list(lists:reverse(Acc))}
    end.

io_request({put_chars, Enc, Chars}, Acc) ->
    {ok, [unicode:characters_to_binary(Chars, Enc) | Acc]};
io_request({put_chars, Enc, M, F, A}, Acc) ->
    io_request({put_chars, Enc, apply(M, F, A)}, Acc);
io_request({put_chars, Chars}, Acc) ->
    io_request({put_chars, latin1, Chars}, Acc);
io_request({put_chars, M, F, A}, Acc) ->
    io_request({put_chars, latin1, M, F, A}, Acc);
io_request({requests, Reqs}, Acc) ->
    lists:foldl(fun(R, {_, A}) -> io_request(R, A) end, {ok, Acc}, Reqs);
io_request(getopts, Acc) ->
    {[{binary, false}, {encoding, unicode}], Acc};
io_request({get_geometry, _}, Acc) ->
    {{error, enotsup}, Acc};
io_request(_Other, Acc) ->
    {{error, enotsup}, Acc}.
