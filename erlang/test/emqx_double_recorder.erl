%%--------------------------------------------------------------------
%% Hook-call recorder of the EMQX TEST DOUBLE, used only by tests.
%%
%% start/0 registers a logging callback at priority 1000 (the setup of
%% the 4.2.14 captures) on the 19 hookpoints; it records every call as
%% #{hook, pid, args} (fold hooks: acc last, like the captures) and
%% returns `ok', so it never changes the chain. Needs emqx_double:start/0.
%%--------------------------------------------------------------------
-module(emqx_double_recorder).

-export([start/0, start/1, stop/0, calls/0, hooks/0, clear/0, hookpoints/0]).
-export([record/2, record/3, record/4, record/5]).

-define(TAB, emqx_double_recorder).
-define(PRIORITY, 1000).

%% @doc The 19 hookpoints of EMQX 4.2.14 with their arity (acc included).
hookpoints() ->
    [{'client.connect', 2}, {'client.connack', 3}, {'client.connected', 2},
     {'client.disconnected', 3}, {'client.authenticate', 2},
     {'client.check_acl', 4}, {'client.subscribe', 3},
     {'client.unsubscribe', 3}, {'session.created', 2},
     {'session.subscribed', 3}, {'session.unsubscribed', 3},
     {'session.resumed', 2}, {'session.discarded', 2},
     {'session.takeovered', 2}, {'session.terminated', 3},
     {'message.publish', 1}, {'message.delivered', 2},
     {'message.acked', 2}, {'message.dropped', 3}].

%% @doc Record all 19 hookpoints (clears earlier recordings).
start() ->
    start([HP || {HP, _} <- hookpoints()]).

%% @doc Record the given hookpoints (clears earlier recordings).
start(HookPoints) ->
    ok = clear(),
    lists:foreach(fun(HP) ->
                          case emqx_hooks:add(HP, {?MODULE, record, [HP]}, ?PRIORITY) of
                              ok -> ok;
                              {error, already_exists} -> ok
                          end
                  end, HookPoints).

%% @doc Unregister the recorder (recordings are kept).
stop() ->
    lists:foreach(fun({HP, _}) -> emqx_hooks:del(HP, {?MODULE, record}) end, hookpoints()),
    _ = sys:get_state(emqx_hooks),
    ok.

%% @doc Recorded calls in order: [#{hook, pid, args}].
calls() ->
    [Call || {_Seq, Call} <- ets:tab2list(?TAB)].

%% @doc Recorded hookpoints in order.
hooks() ->
    [H || #{hook := H} <- calls()].

%% @doc Forget the recordings.
clear() ->
    true = ets:delete_all_objects(?TAB),
    ok.

%% @private Callbacks: hook args (acc included) followed by the hookpoint.
record(A1, HP) -> save(HP, [A1]).
record(A1, A2, HP) -> save(HP, [A1, A2]).
record(A1, A2, A3, HP) -> save(HP, [A1, A2, A3]).
record(A1, A2, A3, A4, HP) -> save(HP, [A1, A2, A3, A4]).

save(HP, Args) ->
    true = ets:insert(?TAB, {erlang:unique_integer([monotonic]),
                             #{hook => HP, pid => self(), args => Args}}),
    ok.
