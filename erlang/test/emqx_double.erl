%%--------------------------------------------------------------------
%% Entry point of the EMQX 4.2.14 TEST DOUBLE (a stand-in host used only
%% by tests; not part of EMQX).
%%
%% start/0 brings up everything the host doubles need: the emqx_hooks
%% server (which owns the hooks, metrics and ctl tables) and this module's
%% own server, which owns the tables of the scenario driver and the hook
%% recorder. Both are started unlinked so they survive the test process
%% that started them. start/0 and stop/0 are idempotent.
%%--------------------------------------------------------------------
-module(emqx_double).

-behaviour(gen_server).

-export([start/0, stop/0, find_up/1, repo_path/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2,
         terminate/2, code_change/3]).

%% Tables owned by this server (all public, named).
-define(TABLES, [{emqx_double_channels, set},   % {ClientId, Pid}
                 {emqx_double_routes, set},     % {{Pid, Filter}, SubOpts}
                 {emqx_double_shared, set},     % {{Group, Filter}, Counter}
                 {emqx_double_recorder, ordered_set}]). % {Seq, Call}

%% @doc Start the host doubles and set `emqx_double' env defaults
%% (version "4.2.14"). Returns ok; idempotent.
start() ->
    case application:get_env(emqx_double, version) of
        undefined -> application:set_env(emqx_double, version, "4.2.14");
        _ -> ok
    end,
    case whereis(emqx_hooks) of
        undefined -> {ok, _} = emqx_hooks:start(), ok;
        _ -> ok
    end,
    case whereis(?MODULE) of
        undefined -> {ok, _} = gen_server:start({local, ?MODULE}, ?MODULE, [], []), ok;
        _ -> ok
    end.

%% @doc Stop the scenario clients still alive and both servers (all
%% hooks, counters, commands and recordings are gone afterwards).
stop() ->
    case ets:info(emqx_double_channels, name) of
        undefined -> ok;
        _ -> [catch emqx_double_scenario:kill(Pid)
              || {_, Pid} <- ets:tab2list(emqx_double_channels)]
    end,
    case whereis(emqx_double_sys) of
        undefined -> ok;
        SysPid -> exit(SysPid, kill)
    end,
    case whereis(?MODULE) of
        undefined -> ok;
        Pid2 -> stop_server(Pid2)
    end,
    emqx_hooks:stop().

stop_server(Pid) ->
    Ref = monitor(process, Pid),
    catch gen_server:stop(Pid),
    receive {'DOWN', Ref, process, Pid, _} -> ok after 5000 -> ok end.

%% @doc Walk up from this module's beam directory, its source directory
%% and the current directory until RelPath exists below a directory;
%% return the full path or false.
find_up(RelPath) ->
    Source = proplists:get_value(source, ?MODULE:module_info(compile), "."),
    Starts = [filename:dirname(code:which(?MODULE)), filename:dirname(Source),
              element(2, file:get_cwd())],
    find_up_from(Starts, RelPath).

find_up_from([], _RelPath) -> false;
find_up_from([Dir | More], RelPath) ->
    case find_up_dir(filename:absname(Dir), RelPath) of
        false -> find_up_from(More, RelPath);
        Path -> Path
    end.

find_up_dir(Dir, RelPath) ->
    Candidate = filename:join(Dir, RelPath),
    case filelib:is_file(Candidate) of
        true -> Candidate;
        false ->
            case filename:dirname(Dir) of
                Dir -> false;
                Parent -> find_up_dir(Parent, RelPath)
            end
    end.

%% @doc Absolute path of RelPath inside the source repository (found with
%% find_up/1), e.g. repo_path("erlang/etc"); error if not found.
repo_path(RelPath) ->
    case find_up(RelPath) of
        false -> error({not_found, RelPath});
        Path -> Path
    end.

%% @private
init([]) ->
    lists:foreach(fun({Name, Type}) ->
                          _ = ets:new(Name, [Type, public, named_table])
                  end, ?TABLES),
    {ok, #{}}.

%% @private
handle_call(_Req, _From, State) ->
    {reply, ok, State}.

%% @private
handle_cast(_Msg, State) ->
    {noreply, State}.

%% @private
handle_info(_Info, State) ->
    {noreply, State}.

%% @private
terminate(_Reason, _State) ->
    ok.

%% @private
code_change(_OldVsn, State, _Extra) ->
    {ok, State}.
