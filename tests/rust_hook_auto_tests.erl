%% @doc The default mode, `auto' (native/auto_hooks: no hook gives a mode): a hook runs
%% on the calling scheduler until one of its calls blocks or keeps the CPU, then the
%% SDK's watchdog moves it to the workers for good (pool for a hook that decides, queue
%% for a notification). The bound under test: a blocking hook holds at most one call per
%% scheduler thread on the schedulers, and every call is still answered. Real .so, real
%% plugin, stand-in host. No timing assertion: the hooks sleep or spin far longer than
%% the watchdog's 30 ms bound, and the tests count where calls ran.
-module(rust_hook_auto_tests).

-include_lib("eunit/include/eunit.hrl").

-define(ACC, #{anonymous => true, auth_result => success}).

auto_test_() ->
    {setup,
     fun() ->
             Pid = spawn(fun() -> collect([]) end),
             register(rust_hook_probe, Pid),
             ok = rust_hook_test_util:start("auto_hooks")
     end,
     fun(_) ->
             rust_hook_test_util:stop(),
             exit(whereis(rust_hook_probe), kill)
     end,
     [{timeout, 60, {"every hook without a mode runs auto", fun modes_are_auto/0}},
      {timeout, 60, {"a fast hook stays on the schedulers", fun fast_hook_stays/0}},
      {timeout, 60, {"a blocking hook that decides: at most one call per scheduler, then the pool",
                     fun blocking_fold_moves_to_pool/0}},
      {timeout, 60, {"a blocking notification: at most one call per scheduler, then the queue",
                     fun blocking_notification_moves_to_queue/0}},
      {timeout, 60, {"a hook that keeps the CPU is moved too", fun cpu_hog_moves/0}},
      {timeout, 60, {"rt::block_on on a scheduler is refused and moves the hook",
                     fun block_on_moves/0}}]}.

%% The reports the library sent to `rust_hook_probe'.
collect(Acc) ->
    receive
        {take, From} -> From ! {reports, lists:reverse(Acc)}, collect([]);
        R -> collect([R | Acc])
    end.

take() ->
    rust_hook_probe ! {take, self()},
    receive {reports, Rs} -> [norm(R) || R <- Rs] after 5000 -> error(no_reports) end.

norm(T) when is_tuple(T) -> list_to_tuple([norm(X) || X <- tuple_to_list(T)]);
norm(B) when is_binary(B) -> binary_to_atom(B, utf8);
norm(X) -> X.

%% Reports of `Hook', waiting until there are `N' (at most 20 s).
reports(Hook, N) -> reports(Hook, N, erlang:monotonic_time(millisecond) + 20000, []).
reports(Hook, N, Deadline, Acc0) ->
    Acc = Acc0 ++ [R || R <- take(), element(1, R) =:= Hook],
    case length(Acc) >= N orelse erlang:monotonic_time(millisecond) > Deadline of
        true -> Acc;
        false -> timer:sleep(50), reports(Hook, N, Deadline, Acc)
    end.

stat(Hook, Key) -> maps:get(Key, maps:get(Hook, emqx_rust_hook_nif:stats())).

schedulers() -> erlang:system_info(schedulers_online).

modes_are_auto() ->
    #{hooks := Hooks} = persistent_term:get({emqx_rust_hook_driver, running}),
    ?assertEqual([auto], lists:usort([element(3, H) || H <- Hooks])), % #hook.mode
    ?assertEqual(5, length(Hooks)).

fast_hook_stays() ->
    [?assertEqual(allow,
                  emqx_hooks:run_fold('client.check_acl',
                                      [#{clientid => <<"c">>}, publish, <<"t">>], deny))
     || _ <- lists:seq(1, 2000)],
    ?assertEqual(false, stat('client.check_acl', demoted)).

%% Runs `Fun' in `N' processes at once; returns their results.
concurrently(N, Fun) ->
    Self = self(),
    Pids = [spawn(fun() -> Self ! {done, self(), Fun(I)} end) || I <- lists:seq(1, N)],
    [receive {done, P, R} -> R after 30000 -> error(no_answer) end || P <- Pids].

blocking_fold_moves_to_pool() ->
    ?assertEqual(false, stat('client.authenticate', demoted)),
    N = 40,
    Results = concurrently(N, fun(I) ->
        CI = #{clientid => integer_to_binary(I), username => <<"sleepy">>},
        emqx_hooks:run_fold('client.authenticate', [CI], ?ACC#{auth_result => not_authorized})
    end),
    %% Every login was answered with the hook's decision (none timed out or failed).
    ?assertEqual([success], lists:usort([maps:get(auth_result, R) || R <- Results])),
    Rs = reports(client_authenticate, N),
    ?assertEqual(N, length(Rs)),
    OnSchedulers = [R || {_, false} = R <- Rs],
    ?assert(length(OnSchedulers) >= 1),
    ?assert(length(OnSchedulers) =< schedulers()),
    ?assertEqual(true, stat('client.authenticate', demoted)),
    %% Later calls run on the workers.
    emqx_hooks:run_fold('client.authenticate',
                        [#{clientid => <<"late">>, username => <<"sleepy">>}], ?ACC),
    ?assertEqual([{client_authenticate, true}], reports(client_authenticate, 1)),
    ?assertEqual(0, stat('client.authenticate', timeouts)).

blocking_notification_moves_to_queue() ->
    N = 20,
    ConnInfo = #{clientid => <<"n">>, proto_ver => 4},
    concurrently(N, fun(I) ->
        emqx_hooks:run('client.connected',
                       [#{clientid => integer_to_binary(I), username => <<"sleepy">>}, ConnInfo])
    end),
    Rs = reports(client_connected, N),
    ?assertEqual(N, length(Rs)),
    OnSchedulers = [R || {_, false} = R <- Rs],
    ?assert(length(OnSchedulers) >= 1),
    ?assert(length(OnSchedulers) =< schedulers()),
    ?assertEqual(true, stat('client.connected', demoted)),
    ?assertEqual(0, stat('client.connected', dropped)).

msg(Topic) -> {message, <<7:128>>, 1, <<"pub">>, #{}, #{}, Topic, <<"x">>, 1}.

cpu_hog_moves() ->
    Hog = msg(<<"hog">>),
    %% One call spins 100 ms on its scheduler; the watchdog sees it keep the CPU.
    ?assertEqual(Hog, emqx_hooks:run_fold('message.publish', [], Hog)),
    ?assertEqual([{message_publish, false}], reports(message_publish, 1)),
    ?assertEqual(true, stat('message.publish', demoted)),
    ?assertEqual(Hog, emqx_hooks:run_fold('message.publish', [], Hog)),
    ?assertEqual([{message_publish, true}], reports(message_publish, 1)).

block_on_moves() ->
    Msg = msg(<<"t">>),
    CI = #{clientid => <<"sub">>},
    ?assertEqual(false, stat('message.delivered', demoted)),
    %% On a scheduler block_on refuses (nothing blocks) and the hook is moved at once.
    ?assertEqual(Msg, emqx_hooks:run_fold('message.delivered', [CI], Msg)),
    ?assertEqual([{message_delivered, false, false}], reports(message_delivered, 1)),
    ?assertEqual(true, stat('message.delivered', demoted)),
    %% The next call runs on a worker, where block_on runs the future.
    ?assertEqual(Msg, emqx_hooks:run_fold('message.delivered', [CI], Msg)),
    ?assertEqual([{message_delivered, true, true}], reports(message_delivered, 1)).
