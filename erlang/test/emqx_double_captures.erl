%%--------------------------------------------------------------------
%% Reader of the hook calls captured from a real EMQX 4.2.14 broker
%% (tests/fixtures/emqx-4.2.14-captures/*.log), part of the EMQX TEST
%% DOUBLE, used only by tests.
%%
%% Each block of a log is
%%   === <hookpoint> (pid <0.331.0>, arity N) ===
%%   [Arg1, ..., ArgN]        % printed with ~p; fold hooks: acc last
%% The directory is $EMQX_CAPTURES_DIR, or found by walking up from this
%% module's beam directory (and the cwd) to tests/fixtures/emqx-4.2.14-captures.
%%--------------------------------------------------------------------
-module(emqx_double_captures).

-export([dir/0, files/0, all/0, all/1, first/1, file/1, parse/1]).
-export([release_dir/1, release_files/1, release_calls/1]).

-define(REL_DIR, "tests/fixtures/emqx-4.2.14-captures").
-define(FILES, ["mosquitto-sub-pub.log", "persistent-session-scenario.log"]).

%% @doc The captures directory (error({captures_not_found, _}) if none).
dir() ->
    case os:getenv("EMQX_CAPTURES_DIR") of
        Dir when is_list(Dir), Dir =/= "" -> Dir;
        _ ->
            case emqx_double:find_up(?REL_DIR) of
                false -> from_lib_dir();
                Dir -> Dir
            end
    end.

from_lib_dir() ->
    case code:lib_dir(emqx_rust_hook) of
        {error, _} -> error({captures_not_found, ?REL_DIR});
        Lib ->
            Dir = filename:join([Lib, "..", "..", "..", "..", ?REL_DIR]),
            case filelib:is_dir(Dir) of
                true -> Dir;
                false -> error({captures_not_found, ?REL_DIR})
            end
    end.

%% @doc The captures of another release beside the 4.2.14 ones:
%% tests/fixtures/emqx-<Release>-captures (e.g. "4.4.19", by
%% tests/broker/examples/capture.rs).
release_dir(Release) ->
    filename:join(filename:dirname(dir()), "emqx-" ++ Release ++ "-captures").

%% @doc Full paths of that release's capture logs (`*.log'), sorted.
release_files(Release) ->
    lists:sort(filelib:wildcard(filename:join(release_dir(Release), "*.log"))).

%% @doc Every captured call of that release, file by file, in file order.
release_calls(Release) ->
    lists:append([file(F) || F <- release_files(Release)]).

%% @doc Full paths of the two capture logs, in a fixed order.
files() ->
    [filename:join(dir(), F) || F <- ?FILES].

%% @doc Every captured call of both files, in file order:
%% [#{hook => atom(), pid => "<0.331.0>", args => [term()]}].
all() ->
    lists:append([file(F) || F <- files()]).

%% @doc Captured calls of one hookpoint, in order.
all(HookPoint) ->
    [C || C = #{hook := H} <- all(), H =:= HookPoint].

%% @doc The args of the first captured call of HookPoint.
first(HookPoint) ->
    case all(HookPoint) of
        [#{args := Args} | _] -> Args;
        [] -> error({not_captured, HookPoint})
    end.

%% @doc Calls of one log file (a path, or a base name in dir()).
file(File) ->
    Path = case filelib:is_file(File) of
               true -> File;
               false -> filename:join(dir(), File)
           end,
    {ok, Bin} = file:read_file(Path),
    parse(unicode:characters_to_list(Bin)).

%% @doc Parse the text of a capture log.
parse(Text) ->
    Lines = string:split(Text, "\n", all),
    blocks(Lines, undefined, [], []).

blocks([], Cur, Body, Acc) ->
    lists:reverse(close(Cur, Body, Acc));
blocks([Line | More], Cur, Body, Acc) ->
    case header(Line) of
        {ok, Hdr} -> blocks(More, Hdr, [], close(Cur, Body, Acc));
        nomatch -> blocks(More, Cur, [Line | Body], Acc)
    end.

close(undefined, _Body, Acc) -> Acc;
close({Hook, Pid, Arity}, Body, Acc) ->
    Text = string:trim(lists:join("\n", lists:reverse(Body))),
    {ok, Tokens, _} = erl_scan:string(Text ++ "."),
    {ok, Args} = erl_parse:parse_term(Tokens),
    Arity = length(Args),
    [#{hook => list_to_atom(Hook), pid => Pid, args => Args} | Acc].

header(Line) ->
    Re = "^=== ([a-z_.]+) \\(pid (<[0-9.]+>), arity ([0-9]+)\\) ===\\s*$",
    case re:run(Line, Re, [{capture, all_but_first, list}]) of
        {match, [Hook, Pid, Arity]} -> {ok, {Hook, Pid, list_to_integer(Arity)}};
        nomatch -> nomatch
    end.
