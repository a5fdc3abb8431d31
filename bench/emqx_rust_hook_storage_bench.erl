%% @doc `make bench-storage': how many messages per second the storage job of
%% native/emqx_jobs writes, through the plugin's hook path (`emqx_hooks:run_fold' on
%% 'message.publish' with a captured EMQX 4.2.14 message, the plugin's callback, the NIF,
%% the job's buffer and its writer thread) into SQLite and into PostgreSQL (a
%% throwaway server started with tests/pg/pg.sh; skipped, and said, when PostgreSQL is
%% not installed). No broker: the rate is the library's, not EMQX's.
%%
%% The rate counts from the first publish until the last message is committed
%% (`store.written' in the library's status). One publishing process per scheduler.
%% The cases are merged into bench/results.json as
%% {"hook": "message.publish", "mode": "storage_sqlite" | "storage_postgres", "msgs_per_s": N},
%% with the authentication and ACL cases (modes "jobs_..."; see auth_cases/0).
-module(emqx_rust_hook_storage_bench).

-export([main/0]).

-define(N, 200000).
-define(OUT, "bench/results.json").

main() ->
    ok = emqx_double:start(),
    ok = logger:set_primary_config(level, warning),
    N = case os:getenv("BENCH_STORAGE_N") of
            false -> ?N;
            S -> list_to_integer(S)
        end,
    [Msg] = alice_publish(),
    io:format("storage through the hook path: ~b messages of ~b bytes, ~b publishing processes~n",
              [N, byte_size(element(8, Msg)), erlang:system_info(schedulers_online)]),
    Sqlite = sqlite_case(Msg, N),
    Pg = postgres_case(Msg, N),
    Auth = auth_cases(),
    Cases = [C || C <- [Sqlite, Pg], C =/= skipped] ++ Auth,
    ok = merge_json(?OUT, Cases),
    io:format("merged ~b case(s) into ~ts~n", [length(Cases), ?OUT]),
    ok.

alice_publish() ->
    hd([Args || #{args := Args = [M]} <- emqx_double_captures:all('message.publish'),
                maps:get(username, element(6, M), undefined) =:= <<"alice">>]).

sqlite_case(Msg, N) ->
    Dir = filename:join("/tmp", "emqx_rust_hook_storage_bench"),
    ok = filelib:ensure_dir(filename:join(Dir, "x")),
    Db = filename:join(Dir, "bench.db"),
    [file:delete(Db ++ S) || S <- ["", "-wal", "-shm"]],
    Rate = run(Msg, N, ["backend = sqlite", "sqlite_path = " ++ Db]),
    [file:delete(Db ++ S) || S <- ["", "-wal", "-shm"]],
    report("storage_sqlite", Rate).

postgres_case(Msg, N) ->
    Script = emqx_double:repo_path("tests/pg/pg.sh"),
    case os:cmd(Script ++ " available >/dev/null 2>&1; echo $?") of
        "0\n" ->
            Parent = filename:join("/tmp", "emqx_rust_hook_storage_bench_pg"),
            _ = os:cmd("rm -rf " ++ Parent),
            ok = filelib:ensure_dir(filename:join(Parent, "x")),
            ok = file:change_mode(Parent, 8#755),
            Dir = filename:join(Parent, "cluster"),
            Port = free_port(),
            Password = "bench-pw",
            sh([Script, " init ", Dir, " ", Password]),
            sh([Script, " start ", Dir, " ", integer_to_list(Port)]),
            try
                Dsn = io_lib:format("host=127.0.0.1 port=~b user=postgres dbname=postgres", [Port]),
                report("storage_postgres",
                       run(Msg, N, ["backend = postgres", "postgres_dsn = " ++ lists:flatten(Dsn),
                                    "postgres_password = " ++ Password]))
            after
                _ = os:cmd(Script ++ " stop " ++ Dir),
                _ = os:cmd("rm -rf " ++ Parent)
            end;
        _ ->
            io:format("storage_postgres: SKIPPED, PostgreSQL is not installed (apt-get install postgresql)~n"),
            skipped
    end.

sh(Cmd) ->
    Out = os:cmd(lists:flatten([Cmd, " 2>&1; echo \"exit=$?\""])),
    case string:find(Out, "exit=0") of
        nomatch -> error({command_failed, lists:flatten(Cmd), Out});
        _ -> ok
    end.

free_port() ->
    {ok, S} = gen_tcp:listen(0, [{ip, {127, 0, 0, 1}}]),
    {ok, P} = inet:port(S),
    ok = gen_tcp:close(S),
    P.

%% Publishes N distinct messages (each its own id) through the hook chain and waits
%% for the store to commit them all; messages per second.
run(Msg, N, Backend) ->
    Lib = filename:join(emqx_double:repo_path("target/release"), "libemqx_jobs.so"),
    Lines = ["exhook.drivers.rust.init." ++ L
             || L <- ["store = on", "store_buffer = " ++ integer_to_list(N), "store_batch = 2000"
                      | Backend]],
    ok = rust_hook_test_util:start({path, Lib}, Lines),
    try
        P = erlang:system_info(schedulers_online),
        Per = N div P,
        Self = self(),
        T0 = erlang:monotonic_time(microsecond),
        Pids = [spawn_link(fun() -> publish(Msg, W, Per), Self ! {done, self()} end)
                || W <- lists:seq(1, P)],
        [receive {done, Pid} -> ok end || Pid <- Pids],
        T1 = erlang:monotonic_time(microsecond),
        Written = wait_written(Per * P, T0),
        T2 = erlang:monotonic_time(microsecond),
        Dropped = status_int(<<"store.dropped">>),
        io:format("  ~ts: ~b written, ~b dropped; publishing took ~b ms, committing all ~b ms~n",
                  [hd(Backend), Written, Dropped, (T1 - T0) div 1000, (T2 - T0) div 1000]),
        Written * 1000000 / max(1, T2 - T0)
    after
        rust_hook_test_util:stop()
    end.

publish(Msg, W, Per) ->
    Ts = erlang:system_time(microsecond),
    lists:foreach(
      fun(I) ->
              M = setelement(2, Msg, <<Ts:64, W:16, I:48>>),
              emqx_hooks:run_fold('message.publish', [], M)
      end, lists:seq(1, Per)).

wait_written(Want, T0) ->
    W = status_int(<<"store.written">>),
    Waited = erlang:monotonic_time(microsecond) - T0,
    if W >= Want -> W;
       Waited > 300000000 -> error({timeout, W, Want});
       true -> timer:sleep(5), wait_written(Want, T0)
    end.

status_int(Key) ->
    {_, V} = lists:keyfind(Key, 1, emqx_rust_hook_nif:library_status()),
    binary_to_integer(V).

report(Mode, Rate) ->
    io:format("  ~-18s ~10b msgs/s~n", [Mode, round(Rate)]),
    {Mode, round(Rate)}.

%%--------------------------------------------------------------------------------------
%% Authentication and ACL (SQLite, `async fn` hooks): a bcrypt login, a cached login, a cached
%% ACL check, and ACL checks from another process during 100 concurrent bcrypt logins.

auth_cases() ->
    [RefCI, _, RefTopic, RefAcc] = alice_args('client.check_acl'),
    {Inline, Pooled} = reference_acl(RefCI, RefTopic, RefAcc),
    Db = "/tmp/emqx_rust_hook_auth_bench.db",
    [file:delete(Db ++ S) || S <- ["", "-wal", "-shm"]],
    Admin = filename:join(emqx_double:repo_path("target/release"), "emqx_jobs_admin") ++ " --sqlite " ++ Db,
    sh([Admin, " init"]),
    sh([Admin, " add-user alice alice-pw --hash bcrypt"]),
    sh([Admin, " add-rule 1 allow pubsub '#'"]),
    Lib = filename:join(emqx_double:repo_path("target/release"), "libemqx_jobs.so"),
    Lines = ["exhook.drivers.rust.init." ++ L
             || L <- ["auth = on", "acl = on", "sqlite_path = " ++ Db, "auth_hash = bcrypt",
                      "auth_cache_ttl = 10m", "acl_cache_ttl = 10m"]],
    ok = rust_hook_test_util:start({path, Lib}, Lines),
    try
        [CI0, AuthAcc] = alice_args('client.authenticate'),
        [AclCI, _, Topic, AclAcc] = alice_args('client.check_acl'),
        CI = CI0#{username => <<"alice">>, password => <<"alice-pw">>},
        Login = fun(Id) -> emqx_hooks:run_fold('client.authenticate', [CI#{clientid => Id}], AuthAcc) end,
        #{auth_result := success} = Login(<<"warm">>),
        %% A bcrypt login: a new client id misses the cache, so the hash runs.
        Bcrypt = mean_us(20, fun(I) -> Login(<<"b", (integer_to_binary(I))/binary>>) end),
        Cached = mean_us(20000, fun(_) -> Login(<<"warm">>) end),
        Acl = fun() -> emqx_hooks:run_fold('client.check_acl', [AclCI, publish, Topic], AclAcc) end,
        allow = Acl(),
        AclCached = mean_us(20000, fun(_) -> Acl() end),
        {AclP50, AclMax, Checks} = acl_during_logins(Login, Acl, 100),
        io:format("  jobs auth (SQLite, async fn hooks): bcrypt login ~.1f ms, cached login ~.1f us, "
                  "cached ACL check ~.1f us~n", [Bcrypt / 1000, Cached, AclCached]),
        io:format("  during 100 concurrent bcrypt logins: ~b ACL checks from another process, "
                  "p50 ~.2f ms, max ~.2f ms~n", [Checks, AclP50 / 1000, AclMax / 1000]),
        io:format("  the same ACL call in this run, example library: inline ~.1f us, pool ~.1f us~n",
                  [Inline, Pooled]),
        [{"client.authenticate", "jobs_bcrypt_login", mean_ns, round(Bcrypt * 1000)},
         {"client.check_acl", "jobs_reference_inline", mean_ns, round(Inline * 1000)},
         {"client.check_acl", "jobs_reference_pool", mean_ns, round(Pooled * 1000)},
         {"client.authenticate", "jobs_cached_login", mean_ns, round(Cached * 1000)},
         {"client.check_acl", "jobs_cached_acl", mean_ns, round(AclCached * 1000)},
         {"client.check_acl", "jobs_acl_during_100_bcrypt_logins", max_ns, round(AclMax * 1000)}]
    after
        rust_hook_test_util:stop(),
        [file:delete(Db ++ S) || S <- ["", "-wal", "-shm"]]
    end.

%% The example library's ACL hook (a pure decision) in the same run, inline and on the
%% pool: what the jobs' cached answers compare with.
reference_acl(CI, Topic, Acc) ->
    [I, P] = [begin
         ok = rust_hook_test_util:start("example_hook", ["exhook.drivers.rust.mode.client_check_acl = " ++ Mode]),
         try
             _ = emqx_hooks:run_fold('client.check_acl', [CI, publish, Topic], Acc),
             mean_us(20000, fun(_) -> emqx_hooks:run_fold('client.check_acl', [CI, publish, Topic], Acc) end)
         after
             rust_hook_test_util:stop()
         end
     end || Mode <- ["inline", "pool"]],
    {I, P}.

alice_args(Hook) ->
    hd([Args || #{args := Args} <- emqx_double_captures:all(Hook),
                is_map(hd(Args)), maps:get(username, hd(Args), undefined) =:= <<"alice">>]).

mean_us(N, F) ->
    T0 = erlang:monotonic_time(nanosecond),
    [F(I) || I <- lists:seq(1, N)],
    (erlang:monotonic_time(nanosecond) - T0) / N / 1000.

%% ACL checks every millisecond from one process while `Logins' processes log in with
%% new client ids (bcrypt each): {p50 us, max us, checks}.
acl_during_logins(Login, Acl, Logins) ->
    Self = self(),
    Prober = spawn_link(fun() -> probe(Acl, Self, []) end),
    Pids = [spawn_link(fun() -> Login(<<"c", (integer_to_binary(I))/binary>>), Self ! {done, self()} end)
            || I <- lists:seq(1, Logins)],
    [receive {done, P} -> ok end || P <- Pids],
    Prober ! stop,
    Times = receive {probe, T} -> lists:sort(T) end,
    {lists:nth(length(Times) div 2 + 1, Times), lists:last(Times), length(Times)}.

probe(Acl, Parent, Acc) ->
    receive
        stop -> Parent ! {probe, Acc}
    after 1 ->
        T0 = erlang:monotonic_time(microsecond),
        allow = Acl(),
        probe(Acl, Parent, [erlang:monotonic_time(microsecond) - T0 | Acc])
    end.

%% Replaces the storage cases of results.json (one case per line, as the main bench
%% writes it), or writes a file with only them.
merge_json(Out, Cases) ->
    New = [case C of
               {M, R} ->
                   io_lib:format("{\"hook\": \"message.publish\", \"mode\": \"~s\", \"msgs_per_s\": ~b}", [M, R]);
               {H, M, K, V} ->
                   io_lib:format("{\"hook\": \"~s\", \"mode\": \"~s\", \"~s\": ~b}", [H, M, K, V])
           end || C <- Cases],
    Old = case file:read_file(Out) of
              {ok, Bin} ->
                  [L || L <- string:split(unicode:characters_to_list(Bin), "\n", all),
                        string:find(L, "{\"hook\"") =/= nomatch,
                        string:find(L, "\"mode\": \"storage_") =:= nomatch,
                        string:find(L, "\"mode\": \"jobs_") =:= nomatch];
              {error, _} -> []
          end,
    Head = case file:read_file(Out) of
               {ok, B} -> hd(string:split(unicode:characters_to_list(B), "\n"));
               {error, _} -> "{\"cases\": ["
           end,
    Kept = [string:trim(string:trim(L), trailing, ",") || L <- Old],
    All = Kept ++ [lists:flatten(C) || C <- New],
    ok = filelib:ensure_dir(Out),
    file:write_file(Out, [Head, "\n  ", lists:join(",\n  ", All), "\n]}\n"]).
