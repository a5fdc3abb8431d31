%% Tests of the emqx_hooks / emqx test doubles (contract 1.1 - 1.4).
-module(emqx_hooks_tests).

-include_lib("eunit/include/eunit.hrl").

-export([cb/2, cb/3, cb_fold/3, cb_fold/4, filter_false/2, raise/2, raise/3]).
-export([log/2]).

%%--------------------------------------------------------------------
%% Helpers used as {M, F, A} actions (args are hook args ++ extra args)
%%--------------------------------------------------------------------

%% run/2 callback: records Tag and returns Ret.
cb(_Arg, Tag) -> record(Tag), ok.
cb(_Arg, Tag, Ret) -> record(Tag), Ret.

%% run_fold/3 callback: records {Tag, Acc} and returns Ret(Acc).
cb_fold(_Arg, Acc, Tag) -> record({Tag, Acc}), {ok, [Tag | Acc]}.
cb_fold(_Arg, Acc, Tag, RetFun) -> record({Tag, Acc}), RetFun(Acc).

filter_false(_Arg, _Extra) -> false.
raise(_Arg, Extra) -> error({boom, Extra}).
raise(_Arg, _Acc, Extra) -> error({boom, Extra}).

%% logger handler callback: forwards error events to the test process.
log(#{level := error, msg := {Fmt, Args}}, #{config := #{pid := Pid}}) ->
    Pid ! {logged, Fmt, Args};
log(_Event, _Config) ->
    ok.

record(X) ->
    ets:insert(hooks_test_log, {erlang:unique_integer([monotonic]), X}).

log() ->
    [X || {_, X} <- ets:tab2list(hooks_test_log)].

setup() ->
    emqx_double:stop(),
    ok = emqx_double:start(),
    _ = ets:new(hooks_test_log, [ordered_set, public, named_table]),
    ok.

cleanup(_) ->
    ets:delete(hooks_test_log),
    emqx_double:stop().

hooks_test_() ->
    {foreach, fun setup/0, fun cleanup/1,
     [fun priority_order/0,
      fun equal_priority_insertion_order/0,
      fun already_exists_exact_term/0,
      fun action_forms/0,
      fun run_stop_rows/0,
      fun run_fold_rows/0,
      fun exceptions_are_caught/0,
      fun filter_false_skips/0,
      fun filter_gets_acc/0,
      fun filter_non_boolean_raises_badarg/0,
      fun bad_action_and_no_server/0,
      fun filter_exception_propagates/0,
      fun unhook_forms/0,
      fun unhook_last_deletes_entry/0,
      fun emqx_hook_forwarding/0,
      fun run_in_caller_process/0]}.

priority_order() ->
    ok = emqx_hooks:add(hp, {?MODULE, cb, [p0]}),
    ok = emqx_hooks:add(hp, {?MODULE, cb, [p10]}, 10),
    ok = emqx_hooks:add(hp, {?MODULE, cb, [pm5]}, -5),
    ok = emqx_hooks:add(hp, {?MODULE, cb, [p5]}, 5),
    ok = emqx_hooks:run(hp, [x]),
    ?assertEqual([p10, p5, p0, pm5], log()),
    ?assertEqual([10, 5, 0, -5], [P || {callback, _, _, P} <- emqx_hooks:lookup(hp)]).

equal_priority_insertion_order() ->
    ok = emqx_hooks:add(hp, {?MODULE, cb, [a]}, 1),
    ok = emqx_hooks:add(hp, {?MODULE, cb, [b]}, 1),
    ok = emqx_hooks:add(hp, {?MODULE, cb, [low]}, 0),
    ok = emqx_hooks:add(hp, {?MODULE, cb, [c]}, 1),
    ok = emqx_hooks:run(hp, [x]),
    ?assertEqual([a, b, c, low], log()).

already_exists_exact_term() ->
    ok = emqx_hooks:add(hp, {?MODULE, cb, [1]}),
    ?assertEqual({error, already_exists}, emqx_hooks:add(hp, {?MODULE, cb, [1]}, 7)),
    ok = emqx_hooks:add(hp, {?MODULE, cb, [2]}),
    ?assertEqual(2, length(emqx_hooks:lookup(hp))).

action_forms() ->
    Self = self(),
    F = fun(A, Acc) -> Self ! {fun1, A, Acc}, {ok, Acc + 1} end,
    G = fun(A, Acc, I1, I2) -> Self ! {fun2, A, Acc, I1, I2}, {ok, Acc * 10} end,
    ok = emqx_hooks:add(fold, F, 3),
    ok = emqx_hooks:add(fold, G, [i1, i2]),          %% {Fun, InitArgs}
    ok = emqx_hooks:add(fold, {?MODULE, cb_fold, [mfa, fun(Acc) -> {ok, Acc - 1} end]}, -1),
    ?assertEqual(19, emqx_hooks:run_fold(fold, [arg], 1)),
    ?assertEqual([{fun1, arg, 1}, {fun2, arg, 2, i1, i2}], flush_msgs(2)),
    ?assertEqual([{mfa, 20}], log()).

run_stop_rows() ->
    %% {stop, X}, {ok, X}, garbage and true continue; only `stop' stops
    ok = emqx_hooks:add(hp, {?MODULE, cb, [a, {stop, x}]}, 5),
    ok = emqx_hooks:add(hp, {?MODULE, cb, [b, {ok, y}]}, 4),
    ok = emqx_hooks:add(hp, {?MODULE, cb, [c, true]}, 3),
    ok = emqx_hooks:add(hp, {?MODULE, cb, [d, garbage]}, 2),
    ok = emqx_hooks:add(hp, {?MODULE, cb, [e, stop]}, 1),
    ok = emqx_hooks:add(hp, {?MODULE, cb, [f, ok]}, 0),
    ?assertEqual(ok, emqx_hooks:run(hp, [x])),
    ?assertEqual([a, b, c, d, e], log()),
    ?assertEqual(ok, emqx_hooks:run(no_such_hook, [x])).

run_fold_rows() ->
    Ret = fun(R) -> fun(_Acc) -> R end end,
    %% {ok, New} continues with New
    ok = emqx_hooks:add(f1, {?MODULE, cb_fold, [a, Ret({ok, 1})]}, 2),
    ok = emqx_hooks:add(f1, {?MODULE, cb_fold, [b, Ret(ok)]}, 1),
    ok = emqx_hooks:add(f1, {?MODULE, cb_fold, [c, Ret({error, x})]}, 0),
    ok = emqx_hooks:add(f1, {?MODULE, cb_fold, [d, Ret(true)]}, -1),
    ?assertEqual(1, emqx_hooks:run_fold(f1, [x], 0)),
    ?assertEqual([{a, 0}, {b, 1}, {c, 1}, {d, 1}], log()),
    %% {stop, New} stops and returns New
    ok = emqx_hooks:add(f2, {?MODULE, cb_fold, [s, Ret({stop, 42})]}, 1),
    ok = emqx_hooks:add(f2, {?MODULE, cb_fold, [never, Ret({ok, 0})]}, 0),
    ?assertEqual(42, emqx_hooks:run_fold(f2, [x], 0)),
    %% stop returns the current acc
    ok = emqx_hooks:add(f3, {?MODULE, cb_fold, [o, Ret({ok, 7})]}, 1),
    ok = emqx_hooks:add(f3, {?MODULE, cb_fold, [st, Ret(stop)]}, 0),
    ok = emqx_hooks:add(f3, {?MODULE, cb_fold, [never2, Ret({ok, 0})]}, -1),
    ?assertEqual(7, emqx_hooks:run_fold(f3, [x], 0)),
    ?assertNot(lists:keymember(never, 1, log())),
    ?assertNot(lists:keymember(never2, 1, log())),
    %% no callbacks: acc unchanged
    ?assertEqual(acc, emqx_hooks:run_fold(nothing, [x], acc)).

exceptions_are_caught() ->
    Thrower = fun(_A, _Acc) -> throw(t) end,
    Exiter = fun(_A, _Acc) -> exit(e) end,
    ok = emqx_hooks:add(f, {?MODULE, cb_fold, [a, fun(_) -> {ok, 1} end]}, 5),
    ok = emqx_hooks:add(f, {?MODULE, raise, [x]}, 4),
    ok = emqx_hooks:add(f, Thrower, 3),
    ok = emqx_hooks:add(f, Exiter, 2),
    ok = emqx_hooks:add(f, {?MODULE, cb_fold, [b, fun(A) -> {ok, A + 1} end]}, 1),
    ok = logger:add_handler(hooks_capture, ?MODULE, #{config => #{pid => self()}}),
    try ?assertEqual(2, emqx_hooks:run_fold(f, [x], 0))
    after logger:remove_handler(hooks_capture)
    end,
    ?assertEqual([{a, 0}, {b, 1}], log()),
    Logged = flush_msgs(3),
    ?assertMatch([{logged, "Failed to execute ~0p: ~0p",
                   [{?MODULE, raise, [x]}, {{boom, x}, [_ | _]}]},
                  {logged, _, [Thrower, {t, _}]},
                  {logged, _, [Exiter, {e, _}]}], Logged),
    ok = emqx_hooks:add(r, {?MODULE, raise, [y]}, 1),
    ok = emqx_hooks:add(r, {?MODULE, cb, [after_raise]}, 0),
    ?assertEqual(ok, emqx_hooks:run(r, [x])),
    ?assertEqual([{a, 0}, {b, 1}, after_raise], log()).

filter_false_skips() ->
    ok = emqx_hooks:add(hp, {?MODULE, cb, [skipped]}, {?MODULE, filter_false, [z]}, 1),
    ok = emqx_hooks:add(hp, {?MODULE, cb, [ran]}, fun(_) -> false end, 0),
    ok = emqx_hooks:add(hp, {?MODULE, cb, [ran2]}, -1),
    ok = emqx_hooks:run(hp, [x]),
    ?assertEqual([ran2], log()).

filter_gets_acc() ->
    Self = self(),
    Filter = fun(A, Acc) -> Self ! {filter, A, Acc}, Acc > 0 end,
    ok = emqx_hooks:add(f, {?MODULE, cb_fold, [a, fun(Acc) -> {ok, Acc + 1} end]}, Filter, 1),
    ?assertEqual(0, emqx_hooks:run_fold(f, [x], 0)),
    ?assertEqual([{filter, x, 0}], flush_msgs(1)),
    ?assertEqual(6, emqx_hooks:run_fold(f, [x], 5)),
    ?assertEqual([{filter, x, 5}], flush_msgs(1)).

%% EMQX 4.2.14 evaluates `filter_passed(...) andalso safe_execute(...)':
%% a filter result other than true/false raises {badarg, Value} in the
%% caller of run / run_fold, the action does not run and the chain stops.
filter_non_boolean_raises_badarg() ->
    Self = self(),
    Action = fun(_A, Acc) -> Self ! action_ran, {ok, Acc + 10} end,
    ok = emqx_hooks:add(f, Action, fun(_A, _Acc) -> ok end, 1),
    ok = emqx_hooks:add(f, {?MODULE, cb_fold, [later, fun(Acc) -> {ok, Acc} end]}, 0),
    ?assertError({badarg, ok}, emqx_hooks:run_fold(f, [x], 0)),
    ok = emqx_hooks:add(r, {?MODULE, cb, [a]}, fun(_) -> {true} end, 1),
    ok = emqx_hooks:add(r, {?MODULE, cb, [b]}, 0),
    ?assertError({badarg, {true}}, emqx_hooks:run(r, [x])),
    %% MFA filters too, and a filter returning undefined is not "no filter"
    ok = emqx_hooks:add(u, {?MODULE, cb, [c]}, {?MODULE, cb, [undefined_ret, undefined]}, 0),
    ?assertError({badarg, undefined}, emqx_hooks:run(u, [x])),
    receive action_ran -> error(action_ran) after 0 -> ok end,
    ?assertEqual([undefined_ret], log()).

filter_exception_propagates() ->
    ok = emqx_hooks:add(f, {?MODULE, cb_fold, [a, fun(A) -> {ok, A} end]},
                        fun(_, _) -> error(filter_boom) end, 0),
    ?assertError(filter_boom, emqx_hooks:run_fold(f, [x], 0)),
    ok = emqx_hooks:add(r, {?MODULE, cb, [a]}, {?MODULE, raise, [f]}, 0),
    ?assertError({boom, f}, emqx_hooks:run(r, [x])).

%% add/2 accepts only funs and tuples (function_clause otherwise); running
%% a hook without the hooks server raises badarg (no table), as in EMQX.
bad_action_and_no_server() ->
    ?assertError(function_clause, emqx_hooks:add(hp, not_an_action)),
    ?assertError(function_clause, emqx:hook(hp, "not an action")),
    ?assertEqual(ignored, gen_server:call(emqx_hooks, what)),
    emqx_hooks:stop(),
    ?assertError(badarg, emqx_hooks:run(hp, [x])),
    ?assertError(badarg, emqx_hooks:run_fold(hp, [x], acc)),
    ok = emqx_double:start().

unhook_forms() ->
    F = fun(_) -> ok end,
    ok = emqx_hooks:add(hp, {?MODULE, cb, [1]}),
    ok = emqx_hooks:add(hp, {?MODULE, cb, [2]}),
    ok = emqx_hooks:add(hp, {?MODULE, raise, [3]}),
    ok = emqx_hooks:add(hp, F),
    ok = emqx_hooks:add(hp, {F, [i]}),
    ok = emqx_hooks:del(hp, {?MODULE, cb}),          %% every {M, cb, _}
    ?assertEqual([{?MODULE, raise, [3]}, F, {F, [i]}], actions(hp)),
    ok = emqx_hooks:del(hp, F),                      %% F and {F, _}
    ?assertEqual([{?MODULE, raise, [3]}], actions(hp)),
    ok = emqx_hooks:add(hp, {?MODULE, cb, [9]}),
    ok = emqx_hooks:del(hp, {?MODULE, cb, [9]}),     %% exact term
    ?assertEqual([{?MODULE, raise, [3]}], actions(hp)),
    ?assertEqual(ok, emqx_hooks:del(hp, {nomod, nofun})).

unhook_last_deletes_entry() ->
    ok = emqx_hooks:add(hp, {?MODULE, cb, [1]}),
    ?assertEqual(1, length(ets:lookup(emqx_hooks, hp))),
    ok = emqx:unhook(hp, {?MODULE, cb}),
    _ = sys:get_state(emqx_hooks),   %% the cast has been handled
    ?assertEqual([], ets:lookup(emqx_hooks, hp)),
    ?assertEqual([], emqx_hooks:lookup(hp)).

emqx_hook_forwarding() ->
    F = fun(_A, Acc) -> {ok, Acc} end,
    ok = emqx:hook(hp, {?MODULE, cb, [a]}),
    ok = emqx:hook(hp, {?MODULE, cb, [b]}, 3),                           %% priority
    ok = emqx:hook(hp, {?MODULE, cb, [c]}, {?MODULE, filter_false, [z]}), %% filter
    ok = emqx:hook(hp, F, [init]),                                       %% InitArgs
    ok = emqx:hook(hp, {?MODULE, cb, [d]}, fun(_) -> true end, 5),       %% both
    ?assertMatch([{callback, {?MODULE, cb, [d]}, _, 5},
                  {callback, {?MODULE, cb, [b]}, undefined, 3},
                  {callback, {?MODULE, cb, [a]}, undefined, 0},
                  {callback, {?MODULE, cb, [c]}, {?MODULE, filter_false, [z]}, 0},
                  {callback, {F, [init]}, undefined, 0}],
                 emqx_hooks:lookup(hp)),
    ?assertEqual({error, already_exists}, emqx:hook(hp, {?MODULE, cb, [a]})),
    ?assertEqual(ok, emqx:run_hook(other, [x])),
    ok = emqx:hook(fold, {?MODULE, cb_fold, [t]}),
    ?assertEqual([t, init], emqx:run_fold_hook(fold, [x], [init])).

run_in_caller_process() ->
    Self = self(),
    ok = emqx_hooks:add(hp, fun(_) -> Self ! {ran_in, self()}, ok end),
    ok = emqx_hooks:run(hp, [x]),
    ?assertEqual([{ran_in, Self}], flush_msgs(1)).

actions(HP) ->
    _ = sys:get_state(emqx_hooks),   %% unhook is a cast: let it land
    [A || {callback, A, _, _} <- emqx_hooks:lookup(HP)].

flush_msgs(0) -> [];
flush_msgs(N) ->
    receive M -> [M | flush_msgs(N - 1)] after 1000 -> [] end.

metrics_test_() ->
    {setup, fun() -> emqx_double:stop(), emqx_double:start() end,
     fun(_) -> emqx_double:stop() end,
     fun() ->
             ?assertError(badarg, emqx_metrics:inc('never.created')),
             ?assertEqual(ok, emqx_metrics:new('my.counter')),
             ?assertEqual(ok, emqx_metrics:new('my.counter')),
             ok = emqx_metrics:inc('my.counter'),
             ok = emqx_metrics:inc('my.counter', 4),
             ?assertEqual(5, emqx_metrics:val('my.counter')),
             ?assertEqual(ok, emqx_metrics:new('my.counter')),   %% keeps value
             ?assertEqual(5, emqx_metrics:val('my.counter')),
             ?assertEqual(0, emqx_metrics:val('never.created')),
             All = emqx_metrics:all(),
             ?assertEqual({'my.counter', 5}, lists:keyfind('my.counter', 1, All)),
             ?assertMatch({'client.connect', 0}, lists:keyfind('client.connect', 1, All))
     end}.

sys_version_test() ->
    application:unset_env(emqx_double, version),
    ok = emqx_double:start(),
    ?assertEqual("4.2.14", emqx_sys:version()),
    application:set_env(emqx_double, version, "4.4.19"),
    ?assertEqual("4.4.19", emqx_sys:version()),
    application:set_env(emqx_double, version, "4.2.14").
