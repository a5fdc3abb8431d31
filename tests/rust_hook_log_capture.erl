%% @doc A logger handler for tests: sends each event, formatted, to a process.
-module(rust_hook_log_capture).

-export([log/2]).

%% @doc logger handler callback.
log(#{level := Level, msg := Msg, meta := Meta}, #{id := Id, config := #{to := To}}) ->
    Text = case Msg of
               {string, S} -> S;
               {report, R} -> io_lib:format("~p", [R]);
               {Fmt, Args} -> io_lib:format(Fmt, Args)
           end,
    To ! {rust_hook_log, Id, #{level => Level, text => unicode:characters_to_binary(Text),
                                meta => Meta}},
    ok.
