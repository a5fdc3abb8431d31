%%--------------------------------------------------------------------
%% TEST DOUBLE of the EMQX 4.2.14 module `emqx' (hook API part only),
%% used only by tests. Every function forwards to emqx_hooks exactly as
%% the table in section 1.1 of the hook contract describes.
%%--------------------------------------------------------------------
-module(emqx).

-export([hook/2, hook/3, hook/4, unhook/2, run_hook/2, run_fold_hook/3]).
-export([get_env/1, get_env/2]).

%% @doc Register Action on HookPoint, priority 0, no filter.
hook(HookPoint, Action) ->
    emqx_hooks:add(HookPoint, Action).

%% @doc Third argument (checked in this order, as in 4.2.14): an integer is
%% a priority, a fun or tuple is a filter, a list is InitArgs (fun actions).
hook(HookPoint, Action, Priority) when is_integer(Priority) ->
    emqx_hooks:add(HookPoint, Action, Priority);
hook(HookPoint, Action, Filter) when is_function(Filter); is_tuple(Filter) ->
    emqx_hooks:add(HookPoint, Action, Filter);
hook(HookPoint, Action, InitArgs) when is_list(InitArgs) ->
    emqx_hooks:add(HookPoint, Action, InitArgs).

%% @doc Register with a filter and a priority.
hook(HookPoint, Action, Filter, Priority) ->
    emqx_hooks:add(HookPoint, Action, Filter, Priority).

%% @doc Unregister (asynchronous cast); always ok.
unhook(HookPoint, Action) ->
    emqx_hooks:del(HookPoint, Action).

%% @doc Run a notification hook; always ok.
run_hook(HookPoint, Args) ->
    emqx_hooks:run(HookPoint, Args).

%% @doc Run a fold hook; returns the final accumulator.
run_fold_hook(HookPoint, Args, Acc) ->
    emqx_hooks:run_fold(HookPoint, Args, Acc).

%% @doc Broker setting lookup (emqx application env), undefined if unset.
get_env(Key) ->
    get_env(Key, undefined).

%% @doc Broker setting lookup with a default.
get_env(Key, Default) ->
    application:get_env(emqx, Key, Default).
