%% @doc The plugin's log: writes the Rust library's `tracing' output to the Erlang
%% logger (the SDK sends `{rust_log, [{Level, Target, Message, Client}], Module}' here from
%% its log thread, and this process reports each batch written with
%% `Module:log_handled/1', `Module' being the library's (emqx_rust_hook_nif or _b): the SDK keeps at most 1,000 lines in this
%% mailbox and drops, and counts, what does not fit in its own bounded queue) with the
%% client of the hook call that logged each line as logger metadata, and logs
%% hook failures at most once per second per hook and kind, with the number of failures
%% not logged in between, so that an outage cannot flood the broker's log.
-module(emqx_rust_hook_logger).
-behaviour(gen_server).

-export([start_link/0, failure/4]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-define(TAB, emqx_rust_hook_failures).

%% @doc Starts the registered log sink (it owns the failure table).
start_link() ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, [], []).

%% @doc Logs a failed hook call (rate-limited); runs in the caller's process.
-spec failure(atom(), atom(), binary(), ignore | deny) -> ok.
failure(Hook, Kind, Message, Action) ->
    Now = erlang:monotonic_time(second),
    Key = {Hook, Kind},
    %% Every table operation is inside the `try': the table goes when the plugin stops,
    %% possibly between two of them, and an exception here would escape the hook callback
    %% (EMQX would then skip the failure policy this call is applying).
    Skipped = try
                  case ets:lookup(?TAB, Key) of
                      [{_, Now, _}] -> _ = ets:update_counter(?TAB, Key, {3, 1}), skip;
                      [{_, _Then, Before}] -> true = ets:insert(?TAB, {Key, Now, 0}), Before;
                      [] -> true = ets:insert(?TAB, {Key, Now, 0}), 0
                  end
              catch error:badarg -> 0 % the plugin is stopping
              end,
    case Skipped of
        skip -> ok;
        0 ->
            logger:error("emqx_rust_hook: ~ts failed (~p): ~ts; failed_action ~p",
                         [Hook, Kind, Message, Action]);
        N ->
            logger:error("emqx_rust_hook: ~ts failed (~p): ~ts; failed_action ~p "
                         "(~p more such failures in the last second not logged)",
                         [Hook, Kind, Message, Action, N])
    end.

init([]) ->
    _ = ets:new(?TAB, [named_table, public, set, {write_concurrency, true}]),
    {ok, #{}}.

handle_call(_Req, _From, State) -> {reply, ignored, State}.

handle_cast(_Msg, State) -> {noreply, State}.

handle_info({rust_log, Lines, Mod}, State) when is_list(Lines), is_atom(Mod) ->
    lists:foreach(fun log_line/1, Lines),
    %% The library may send that many more (a library that is not loaded any more has
    %% no window to open). Two libraries log here during a reload: each batch names the
    %% module of its library.
    _ = (catch Mod:log_handled(length(Lines))),
    {noreply, State};
handle_info(_Info, State) ->
    {noreply, State}.

log_line({Level, Target, Message, Client}) ->
    logger:log(Level, "~ts: ~ts", [Target, Message],
               maps:merge(client_metadata(Client), #{domain => [emqx_rust_hook]}));
log_line({Level, Target, Message}) ->
    log_line({Level, Target, Message, #{}});
log_line(_) ->
    ok.

%% The client a line is about, as logger metadata (`clientid', `peername' as EMQX sets
%% them, which its formatter prints as `clientid@peer'; `pid' of the calling process).
%% The calling process's own logger metadata wins when it is still alive (that is what
%% EMQX prints for that client); else what the SDK read from the hook's arguments.
client_metadata(Client) when is_map(Client) ->
    FromArgs = maps:fold(fun(clientid, C, M) when is_binary(C) -> M#{clientid => C};
                            (peername, P, M) when is_binary(P) ->
                                 M#{peername => binary_to_list(P)};
                            (pid, P, M) when is_pid(P) -> M#{pid => P};
                            (_, _, M) -> M
                         end, #{}, Client),
    maps:merge(FromArgs, process_client_metadata(maps:get(pid, FromArgs, undefined)));
client_metadata(_) ->
    #{}.

process_client_metadata(Pid) when is_pid(Pid), node(Pid) =:= node() ->
    case erlang:process_info(Pid, dictionary) of
        {dictionary, Dict} ->
            case lists:keyfind('$logger_metadata$', 1, Dict) of
                {_, Meta} when is_map(Meta) -> maps:with([clientid, peername], Meta);
                _ -> #{}
            end;
        undefined -> #{}
    end;
process_client_metadata(_) ->
    #{}.
