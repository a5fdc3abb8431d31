%% @doc Loaded into a broker by `tests/broker/examples/capture.rs' (not part of the plugin):
%% registers a callback on the 19 hookpoints at priority 1000 that writes every call, with
%% its arguments exactly as EMQX passed them, to a capture log in the format of
%% tests/fixtures/emqx-4.2.14-captures (`=== <hookpoint> (pid <..>, arity N) ===' and the
%% argument list printed with `~p'; fold hooks: the accumulator last). The callbacks
%% return `ok', so the chain goes on unchanged. OTP 22 compatible.
-module(rust_hook_capture).

-export([start/1, stop/0, sync/0]).
-export([cap/2, cap/3, cap/4, cap/5, cap/6]).

-define(HOOKS, [{'client.connect', 2}, {'client.connack', 3}, {'client.connected', 2},
                {'client.disconnected', 3}, {'client.authenticate', 2},
                {'client.check_acl', 4}, {'client.subscribe', 3},
                {'client.unsubscribe', 3}, {'session.created', 2},
                {'session.subscribed', 3}, {'session.unsubscribed', 3},
                {'session.resumed', 2}, {'session.discarded', 2},
                {'session.takeovered', 2}, {'session.terminated', 3},
                {'message.publish', 1}, {'message.delivered', 2}, {'message.acked', 2},
                {'message.dropped', 3}]).

%% @doc Starts writing to `File' (truncated) and hooks the 19 hookpoints.
start(File) ->
    stop(),
    Pid = spawn(fun() ->
                        {ok, Fd} = file:open(File, [write, {encoding, utf8}]),
                        loop(Fd)
                end),
    register(rust_hook_capture, Pid),
    [ok = emqx:hook(H, {?MODULE, cap, [H]}, 1000) || {H, _} <- ?HOOKS],
    ok.

%% @doc Unhooks and closes the log (after writing what was captured so far).
stop() ->
    [emqx:unhook(H, {?MODULE, cap}) || {H, _} <- ?HOOKS],
    case whereis(rust_hook_capture) of
        undefined -> ok;
        Pid -> sync(), Pid ! stop, unregister(rust_hook_capture), ok
    end.

%% @doc Returns once every call captured so far is written.
sync() ->
    Ref = make_ref(),
    rust_hook_capture ! {sync, self(), Ref},
    receive {Ref, ok} -> ok after 10000 -> error(capture_timeout) end.

loop(Fd) ->
    receive
        {call, Hook, Pid, Args} ->
            io:format(Fd, "=== ~s (pid ~p, arity ~p) ===~n~p~n~n", [Hook, Pid, length(Args), Args]),
            loop(Fd);
        {sync, From, Ref} ->
            From ! {Ref, ok},
            loop(Fd);
        stop ->
            file:close(Fd)
    end.

record(Hook, Args) ->
    case whereis(rust_hook_capture) of
        undefined -> ok;
        P -> P ! {call, Hook, self(), Args}
    end,
    ok.

%% The callbacks: the hook's arguments, then the hookpoint (the action's extra argument).
cap(A, H) -> record(H, [A]).
cap(A, B, H) -> record(H, [A, B]).
cap(A, B, C, H) -> record(H, [A, B, C]).
cap(A, B, C, D, H) -> record(H, [A, B, C, D]).
cap(A, B, C, D, E, H) -> record(H, [A, B, C, D, E]).
