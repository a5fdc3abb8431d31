%%--------------------------------------------------------------------
%% TEST DOUBLE of the EMQX 4.2.14 module `emqx_hooks', used only by tests.
%%
%% Hooks live in one public named ETS table owned by this gen_server,
%% keyed by hookpoint. Registration goes through the server (serialized);
%% running a hook reads the table in the caller's process. Semantics follow
%% the hook contract, sections 1.1 to 1.4.
%%
%% The server also creates the tables of the other host doubles
%% (emqx_metrics, emqx_ctl) so that starting it alone is enough for a
%% plugin to start.
%%--------------------------------------------------------------------
-module(emqx_hooks).

-behaviour(gen_server).

-export([start_link/0, start/0, stop/0]).
-export([add/2, add/3, add/4, del/2, run/2, run_fold/3, lookup/1]).

-export([init/1, handle_call/3, handle_cast/2, handle_info/2,
         terminate/2, code_change/3]).

-define(SERVER, ?MODULE).
-define(TAB, emqx_hooks).

%% Same record layout as EMQX 4.2.14, so lookup/1 returns the same tuples.
-record(callback, {action, filter, priority}).
-record(hook, {name, callbacks = []}).

%%--------------------------------------------------------------------
%% Server lifecycle
%%--------------------------------------------------------------------

%% @doc Start the hooks server linked to the caller.
start_link() ->
    gen_server:start_link({local, ?SERVER}, ?MODULE, [], []).

%% @doc Start the hooks server without a link (survives the caller).
start() ->
    gen_server:start({local, ?SERVER}, ?MODULE, [], []).

%% @doc Stop the server; its tables (hooks, metrics, ctl) go with it.
stop() ->
    case whereis(?SERVER) of
        undefined -> ok;
        Pid ->
            Ref = monitor(process, Pid),
            catch gen_server:stop(Pid),
            receive {'DOWN', Ref, process, Pid, _} -> ok
            after 5000 -> ok
            end
    end.

%%--------------------------------------------------------------------
%% Registration
%%--------------------------------------------------------------------

%% @doc Register Action (Fun, {Fun, InitArgs} or {M, F, ExtraArgs}) with
%% priority 0 and no filter (or a whole #callback{} record, as EMQX allows).
%% Returns ok | {error, already_exists}; any other Action is a
%% function_clause error, as in EMQX.
add(HookPoint, Callback) when is_record(Callback, callback) ->
    add_callback_call(HookPoint, Callback);
add(HookPoint, Action) when is_function(Action); is_tuple(Action) ->
    add_callback_call(HookPoint, #callback{action = Action, priority = 0}).

%% @doc add/3: a list third argument with a fun action means InitArgs;
%% a fun or tuple means a filter; an integer means a priority.
add(HookPoint, Action, InitArgs) when is_function(Action), is_list(InitArgs) ->
    add_callback_call(HookPoint, #callback{action = {Action, InitArgs}, priority = 0});
add(HookPoint, Action, Filter) when is_function(Filter); is_tuple(Filter) ->
    add_callback_call(HookPoint, #callback{action = Action, filter = Filter, priority = 0});
add(HookPoint, Action, Priority) when is_integer(Priority) ->
    add_callback_call(HookPoint, #callback{action = Action, priority = Priority}).

%% @doc Register Action with both a filter and a priority.
add(HookPoint, Action, Filter, Priority) when is_integer(Priority) ->
    add_callback_call(HookPoint, #callback{action = Action, filter = Filter,
                                           priority = Priority}).

add_callback_call(HookPoint, Callback) ->
    gen_server:call(?SERVER, {add, HookPoint, Callback}, infinity).

%% @doc Unregister: exact Action, {M, F} (every {M, F, _}) or Fun (Fun and
%% every {Fun, _}). A cast, always returns ok.
del(HookPoint, Action) ->
    gen_server:cast(?SERVER, {del, HookPoint, Action}).

%%--------------------------------------------------------------------
%% Running (in the caller's process)
%%--------------------------------------------------------------------

%% @doc Run a notification hook. Only the bare atom `stop' stops the
%% chain. Always returns ok (filter exceptions and non-boolean filter
%% results propagate).
run(HookPoint, Args) ->
    do_run(lookup(HookPoint), Args).

%% @doc Run a fold hook: each callback gets Args ++ [Acc]. Returns the
%% final accumulator (see the run_fold table of the contract).
run_fold(HookPoint, Args, Acc) ->
    do_run_fold(lookup(HookPoint), Args, Acc).

%% @doc The callbacks of HookPoint in run order, as
%% `{callback, Action, Filter, Priority}' tuples ([] when none).
%% Like EMQX, raises badarg when the hooks server (and so its table) is not
%% running.
lookup(HookPoint) ->
    case ets:lookup(?TAB, HookPoint) of
        [#hook{callbacks = Callbacks}] -> Callbacks;
        [] -> []
    end.

do_run([#callback{action = Action, filter = Filter} | Callbacks], Args) ->
    case filter_passed(Filter, Args) andalso safe_execute(Action, Args) of
        stop -> ok;
        _ -> do_run(Callbacks, Args)
    end;
do_run([], _Args) ->
    ok.

do_run_fold([#callback{action = Action, filter = Filter} | Callbacks], Args, Acc) ->
    Args1 = Args ++ [Acc],
    case filter_passed(Filter, Args1) andalso safe_execute(Action, Args1) of
        stop -> Acc;
        {stop, NewAcc} -> NewAcc;
        {ok, NewAcc} -> do_run_fold(Callbacks, Args, NewAcc);
        _ -> do_run_fold(Callbacks, Args, Acc)
    end;
do_run_fold([], _Args, Acc) ->
    Acc.

%% Filters are not protected: an exception reaches the caller of run/run_fold.
%% As in 4.2.14 the filter's result is returned as is and used as the left
%% operand of `andalso': `true' runs the action, `false' skips it, and any
%% other value raises error:{badarg, Value} in the caller.
filter_passed(undefined, _Args) -> true;
filter_passed(Filter, Args) -> execute(Filter, Args).

safe_execute(Action, Args) ->
    try execute(Action, Args)
    catch
        _Class:Reason:Stacktrace ->
            logger:error("Failed to execute ~0p: ~0p", [Action, {Reason, Stacktrace}]),
            ok
    end.

execute(Action, Args) when is_function(Action) ->
    erlang:apply(Action, Args);
execute({Fun, InitArgs}, Args) when is_function(Fun) ->
    erlang:apply(Fun, Args ++ InitArgs);
execute({M, F, A}, Args) ->
    erlang:apply(M, F, Args ++ A).

%%--------------------------------------------------------------------
%% gen_server callbacks
%%--------------------------------------------------------------------

%% @private
init([]) ->
    _ = ets:new(?TAB, [set, public, named_table, {keypos, #hook.name},
                       {read_concurrency, true}]),
    ok = emqx_metrics:create_table(),
    ok = emqx_ctl:create_table(),
    {ok, #{}}.

%% @private
handle_call({add, HookPoint, Callback = #callback{action = Action}}, _From, State) ->
    Callbacks = lookup(HookPoint),
    Reply = case lists:keymember(Action, #callback.action, Callbacks) of
                true -> {error, already_exists};
                false -> insert_hook(HookPoint, add_callback(Callback, Callbacks))
            end,
    {reply, Reply, State};
handle_call(Req, _From, State) ->
    logger:error("Unexpected call: ~p", [Req]),
    {reply, ignored, State}.

%% @private
handle_cast({del, HookPoint, Action}, State) ->
    case del_callback(Action, lookup(HookPoint)) of
        [] -> ets:delete(?TAB, HookPoint);
        Callbacks -> insert_hook(HookPoint, Callbacks)
    end,
    {noreply, State};
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

insert_hook(HookPoint, Callbacks) ->
    true = ets:insert(?TAB, #hook{name = HookPoint, callbacks = Callbacks}),
    ok.

%% The new callback goes after every existing one with priority >= its own.
add_callback(C, Callbacks) ->
    add_callback(C, Callbacks, []).

add_callback(C, [], Acc) ->
    lists:reverse([C | Acc]);
add_callback(C1 = #callback{priority = P1}, [C2 = #callback{priority = P2} | More], Acc)
  when P1 =< P2 ->
    add_callback(C1, More, [C2 | Acc]);
add_callback(C1, [C2 | More], Acc) ->
    lists:reverse(Acc) ++ [C1, C2 | More].

del_callback(Action, Callbacks) ->
    [C || C = #callback{action = A} <- Callbacks, not del_matches(Action, A)].

del_matches(Action, Action) -> true;
del_matches({M, F}, {M, F, _A}) -> true;
del_matches(Fun, {Fun, _InitArgs}) -> true;
del_matches(_, _) -> false.
