%%--------------------------------------------------------------------
%% TEST DOUBLE of the EMQX 4.2.14 module `emqx_metrics', used only by
%% tests. Counters are rows {Name, Value} of a public named ETS table,
%% created by emqx_hooks:start_link/0 (or emqx_double:start/0).
%% inc/1,2 of a name that was never created raises error(badarg).
%%--------------------------------------------------------------------
-module(emqx_metrics).

-export([create_table/0, new/1, new/2, inc/1, inc/2, dec/1, dec/2, set/2,
         val/1, all/0, reset/0]).

-define(TAB, emqx_metrics).

%% Counters EMQX 4.2.14 creates at boot that are bumped around hooks.
-define(BUILTIN, ['client.connect', 'client.connack', 'client.connected',
                  'client.disconnected', 'client.authenticate',
                  'client.auth.anonymous', 'client.check_acl',
                  'client.subscribe', 'client.unsubscribe',
                  'session.created', 'session.resumed', 'session.takeovered',
                  'session.discarded', 'session.terminated',
                  'messages.publish', 'messages.delivered', 'messages.acked',
                  'messages.dropped', 'messages.dropped.no_subscribers']).

%% @doc Create the counters table (owned by the calling process) with the
%% built-in counters at 0. Idempotent. Called by emqx_hooks:init/1.
create_table() ->
    case ets:info(?TAB, name) of
        undefined ->
            _ = ets:new(?TAB, [set, public, named_table,
                               {write_concurrency, true}]),
            lists:foreach(fun(N) -> true = ets:insert_new(?TAB, {N, 0}) end,
                          ?BUILTIN),
            ok;
        _ -> ok
    end.

%% @doc Create a counter named Name (atom). Idempotent; returns ok.
new(Name) ->
    new(counter, Name).

%% @doc Create a counter or gauge (both are plain integers here).
new(Type, Name) when (Type =:= counter orelse Type =:= gauge), is_atom(Name) ->
    _ = ets:insert_new(?TAB, {Name, 0}),
    ok.

%% @doc Add 1 to Name; error(badarg) if Name was never created.
inc(Name) ->
    inc(Name, 1).

%% @doc Add Val to Name; error(badarg) if Name was never created.
inc(Name, Val) when is_integer(Val) ->
    _ = ets:update_counter(?TAB, Name, Val),
    ok.

%% @doc Subtract 1 from Name (gauges).
dec(Name) ->
    dec(Name, 1).

%% @doc Subtract Val from Name (gauges).
dec(Name, Val) when is_integer(Val) ->
    inc(Name, -Val).

%% @doc Set Name (a gauge) to Val; error(badarg) if Name was never created (as 4.2.14).
set(Name, Val) when is_integer(Val) ->
    true = ets:update_element(?TAB, Name, {2, Val}),
    ok.

%% @doc Current value of Name, 0 when it does not exist.
val(Name) ->
    case catch ets:lookup(?TAB, Name) of
        [{Name, V}] -> V;
        _ -> 0
    end.

%% @doc All counters as [{Name, Value}], sorted by name.
all() ->
    lists:sort(ets:tab2list(?TAB)).

%% @doc Test helper: set every counter back to 0 (names are kept).
reset() ->
    _ = [ets:insert(?TAB, {N, 0}) || {N, _} <- ets:tab2list(?TAB)],
    ok.
