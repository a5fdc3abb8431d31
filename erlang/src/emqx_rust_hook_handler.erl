%% @doc The callbacks registered with EMQX's hook chain, one per hookpoint.
%%
%% Each callback hands EMQX's own terms to the Rust library (decoding happens in Rust),
%% and returns the library's answer, which the SDK already shaped as EMQX expects
%% (`ok', `{ok, Acc}', `{stop, Acc}'). Where the hook runs is its mode: `auto' (the
%% default: inline until the SDK's watchdog sees a call block a scheduler, then as pool or
%% queue), `inline' (on this process's scheduler), `pool' (on the SDK's workers; this
%% process waits at most `call_timeout'), `queue' (handed to the SDK's workers; this
%% process goes on at once), `async' (an `async fn' method: polled here once; if not
%% ready, it goes on on the SDK's runtime and this process waits at most `call_timeout';
%% a notification does not wait).
%% When the library fails (bad input, an invalid decision, a panic, a timeout, an
%% overload) the callback logs it and applies the hook's failure policy.
%% Message hooks with topic filters are filtered here, before Rust is called.
%% A sample of the calls is timed by the library itself (emqx_rust_hook_latency).
%%
%% Each callback is registered with the index of its hookpoint and reads the running
%% library's hooks from one `persistent_term' per call (`active/0'): a reload
%% (emqx_rust_hook_driver) switches every hook to the new library with one write, so a
%% call finds either the whole old set or the whole new one, never a mix and never none.
%% A call that raced a reload and reached the old library after it stopped is run again on
%% the new one.
-module(emqx_rust_hook_handler).

-include("emqx_rust_hook.hrl").

-export([on_client_connect/3, on_client_connack/4, on_client_connected/3,
         on_client_disconnected/4, on_client_authenticate/3, on_client_check_acl/5,
         on_client_subscribe/4, on_client_unsubscribe/4, on_session_created/3,
         on_session_subscribed/4, on_session_unsubscribed/4, on_session_resumed/3,
         on_session_discarded/3, on_session_takeovered/3, on_session_terminated/4,
         on_message_publish/2, on_message_delivered/3, on_message_acked/3,
         on_message_dropped/4]).

-export([callback/1, fallback/3, wanted/2, index/1, activate/1, active/0]).

%% An atom key: `persistent_term:get/2' hashes and compares its key on every call, and an
%% atom costs about half of what a `{Module, Name}' tuple does (15 against 27 ns).
-define(ACTIVE, emqx_rust_hook_handler_active).
-define(NO_HOOKS, {undefined, undefined, undefined, undefined, undefined, undefined,
                   undefined, undefined, undefined, undefined, undefined, undefined,
                   undefined, undefined, undefined, undefined, undefined, undefined,
                   undefined}).
%% What a library answers once a reload stopped it (see `retry/5').
-define(STOPPED, {error, not_started, _}).
%% How long to wait for an answer the worker already committed to send.
-define(COMMITTED_REPLY_WAIT, 1000).

%% The library's answer to a call: an answer the SDK already shaped for EMQX (`ok',
%% `{ok, Acc}', `{stop, Acc}') is returned as it is, without another function call (the
%% path of almost every call); anything else (a pending call to wait for, an error, a
%% library stopped by a reload) goes to `finish/6'. `Acc' is the hook's accumulator
%% (`ok' for a notification), `Fun' and `Args' the call, for `retry/5'.
-define(ANSWER(H, Tag, Acc, Call, Fun, Args),
        case Call of
            ok -> ok;
            {stop, _} = Done__ -> Done__;
            {ok, _} = Done__ -> Done__;
            Other__ -> finish(H, Tag, Acc, Other__, Fun, Args)
        end).

%% @doc The callback function registered for a hookpoint.
-spec callback(atom()) -> atom().
callback(HookPoint) ->
    list_to_existing_atom("on_" ++ [case C of $. -> $_; _ -> C end
                                    || C <- atom_to_list(HookPoint)]).

on_client_connect(ConnInfo, Props, I) ->
    case active(I) of
        H = #hook{nif = M} ->
            Tag = tag(H),
            ?ANSWER(H, Tag, Props, M:client_connect(Tag, ConnInfo, Props),
                    client_connect, [ConnInfo, Props]);
        undefined -> ok
    end.

on_client_connack(ConnInfo, Rc, Props, I) ->
    case active(I) of
        H = #hook{nif = M} ->
            Tag = tag(H),
            ?ANSWER(H, Tag, Props, M:client_connack(Tag, ConnInfo, Rc, Props),
                    client_connack, [ConnInfo, Rc, Props]);
        undefined -> ok
    end.

on_client_connected(ClientInfo, ConnInfo, I) ->
    case active(I) of
        H = #hook{nif = M} ->
            Tag = tag(H),
            ?ANSWER(H, Tag, ok, M:client_connected(Tag, ClientInfo, ConnInfo),
                    client_connected, [ClientInfo, ConnInfo]);
        undefined -> ok
    end.

on_client_disconnected(ClientInfo, Reason, ConnInfo, I) ->
    case active(I) of
        H = #hook{nif = M} ->
            Tag = tag(H),
            ?ANSWER(H, Tag, ok, M:client_disconnected(Tag, ClientInfo, Reason, ConnInfo),
                    client_disconnected, [ClientInfo, Reason, ConnInfo]);
        undefined -> ok
    end.

on_client_authenticate(ClientInfo, Acc, I) ->
    case active(I) of
        H = #hook{nif = M} ->
            Tag = tag(H),
            ?ANSWER(H, Tag, Acc, M:client_authenticate(Tag, ClientInfo, Acc),
                    client_authenticate, [ClientInfo, Acc]);
        undefined -> ok
    end.

on_client_check_acl(ClientInfo, PubSub, Topic, Acc, I) ->
    case active(I) of
        H = #hook{nif = M} ->
            Tag = tag(H),
            ?ANSWER(H, Tag, Acc, M:client_check_acl(Tag, ClientInfo, PubSub, Topic, Acc),
                    client_check_acl, [ClientInfo, PubSub, Topic, Acc]);
        undefined -> ok
    end.

on_client_subscribe(ClientInfo, Props, Filters, I) ->
    case active(I) of
        H = #hook{nif = M} ->
            Tag = tag(H),
            ?ANSWER(H, Tag, Filters, M:client_subscribe(Tag, ClientInfo, Props, Filters),
                    client_subscribe, [ClientInfo, Props, Filters]);
        undefined -> ok
    end.

on_client_unsubscribe(ClientInfo, Props, Filters, I) ->
    case active(I) of
        H = #hook{nif = M} ->
            Tag = tag(H),
            ?ANSWER(H, Tag, Filters, M:client_unsubscribe(Tag, ClientInfo, Props, Filters),
                    client_unsubscribe, [ClientInfo, Props, Filters]);
        undefined -> ok
    end.

on_session_created(ClientInfo, SessInfo, I) ->
    case active(I) of
        H = #hook{nif = M} ->
            Tag = tag(H),
            ?ANSWER(H, Tag, ok, M:session_created(Tag, ClientInfo, SessInfo),
                    session_created, [ClientInfo, SessInfo]);
        undefined -> ok
    end.

on_session_subscribed(ClientInfo, Topic, SubOpts, I) ->
    case active(I) of
        H = #hook{nif = M} ->
            Tag = tag(H),
            ?ANSWER(H, Tag, ok, M:session_subscribed(Tag, ClientInfo, Topic, SubOpts),
                    session_subscribed, [ClientInfo, Topic, SubOpts]);
        undefined -> ok
    end.

on_session_unsubscribed(ClientInfo, Topic, SubOpts, I) ->
    case active(I) of
        H = #hook{nif = M} ->
            Tag = tag(H),
            ?ANSWER(H, Tag, ok, M:session_unsubscribed(Tag, ClientInfo, Topic, SubOpts),
                    session_unsubscribed, [ClientInfo, Topic, SubOpts]);
        undefined -> ok
    end.

on_session_resumed(ClientInfo, SessInfo, I) ->
    case active(I) of
        H = #hook{nif = M} ->
            Tag = tag(H),
            ?ANSWER(H, Tag, ok, M:session_resumed(Tag, ClientInfo, SessInfo),
                    session_resumed, [ClientInfo, SessInfo]);
        undefined -> ok
    end.

on_session_discarded(ClientInfo, SessInfo, I) ->
    case active(I) of
        H = #hook{nif = M} ->
            Tag = tag(H),
            ?ANSWER(H, Tag, ok, M:session_discarded(Tag, ClientInfo, SessInfo),
                    session_discarded, [ClientInfo, SessInfo]);
        undefined -> ok
    end.

on_session_takeovered(ClientInfo, SessInfo, I) ->
    case active(I) of
        H = #hook{nif = M} ->
            Tag = tag(H),
            ?ANSWER(H, Tag, ok, M:session_takeovered(Tag, ClientInfo, SessInfo),
                    session_takeovered, [ClientInfo, SessInfo]);
        undefined -> ok
    end.

on_session_terminated(ClientInfo, Reason, SessInfo, I) ->
    case active(I) of
        H = #hook{nif = M} ->
            Tag = tag(H),
            ?ANSWER(H, Tag, ok, M:session_terminated(Tag, ClientInfo, Reason, SessInfo),
                    session_terminated, [ClientInfo, Reason, SessInfo]);
        undefined -> ok
    end.

on_message_publish(Msg, I) ->
    case active(I) of
        H = #hook{nif = M} ->
            case wanted(Msg, H) of
                true ->
                    Tag = tag(H),
                    ?ANSWER(H, Tag, Msg, M:message_publish(Tag, Msg),
                            message_publish, [Msg]);
                false -> ok
            end;
        undefined -> ok
    end.

on_message_delivered(ClientInfo, Msg, I) ->
    case active(I) of
        H = #hook{nif = M} ->
            case wanted(Msg, H) of
                true ->
                    Tag = tag(H),
                    ?ANSWER(H, Tag, Msg, M:message_delivered(Tag, ClientInfo, Msg),
                            message_delivered, [ClientInfo, Msg]);
                false -> ok
            end;
        undefined -> ok
    end.

on_message_acked(ClientInfo, Msg, I) ->
    case active(I) of
        H = #hook{nif = M} ->
            case wanted(Msg, H) of
                true ->
                    Tag = tag(H),
                    ?ANSWER(H, Tag, ok, M:message_acked(Tag, ClientInfo, Msg),
                            message_acked, [ClientInfo, Msg]);
                false -> ok
            end;
        undefined -> ok
    end.

on_message_dropped(Msg, Node, Reason, I) ->
    case active(I) of
        H = #hook{nif = M} ->
            case wanted(Msg, H) of
                true ->
                    Tag = tag(H),
                    ?ANSWER(H, Tag, ok, M:message_dropped(Tag, Msg, Node, Reason),
                            message_dropped, [Msg, Node, Reason]);
                false -> ok
            end;
        undefined -> ok
    end.

finish(H, Tag, Acc, Answer, Fun, Args) ->
    case await(H, Tag, Answer) of
        ?STOPPED = Stopped -> retry(H, Acc, Stopped, Fun, Args);
        Result -> result(H, Acc, Result)
    end.

%% How the call runs: `auto', `inline' and `queue' name themselves; a pool call, or a
%% call of an `async fn' method, is tagged with a fresh reference, which its answer
%% `{Ref, Result}' carries (an async call answers at once when its future is ready on the
%% first poll). An `auto' hook the SDK moved off the schedulers answers
%% `{pending, Job, Ref}' with a reference of its own.
tag(#hook{mode = pool}) -> make_ref();
tag(#hook{mode = async}) -> make_ref();
tag(#hook{mode = Mode}) -> Mode.

%% Waits for a pool call's answer, at most the hook's timeout. On timeout the call is
%% cancelled, so that a late answer is never sent; if the answer was already on its way,
%% it is received (it is microseconds away).
await(H, auto, {pending, Job, Ref}) ->
    await(H, Ref, {pending, Job});
await(#hook{timeout = Timeout, nif = M}, Ref, {pending, Job}) ->
    receive
        {Ref, Result} -> Result
    after Timeout ->
        case M:cancel(Job) of
            true ->
                {error, timeout, <<"no answer within call_timeout">>};
            false ->
                receive {Ref, Result} -> Result
                after ?COMMITTED_REPLY_WAIT -> {error, timeout, <<"answer lost">>}
                end
        end
    end;
await(_H, _Tag, Result) ->
    Result.

%% Passes the library's answer on, or logs its failure and applies the failure policy.
result(_H, _Acc, ok) -> ok;
result(H, Acc, {error, Kind, Message}) ->
    emqx_rust_hook_logger:failure(H#hook.name, Kind, Message, H#hook.failed_action),
    fallback(H#hook.name, H#hook.failed_action, Acc);
result(_H, _Acc, Result) -> Result.

%% A library that stopped because a reload replaced it answered `not_started': the call
%% runs once more, on the library that replaced it (else the failure policy applies).
retry(H = #hook{name = Name, nif = Old}, Acc, Stopped, Fun, Args) ->
    case active(index(Name)) of
        New = #hook{nif = M} when M =/= Old ->
            Tag = tag(New),
            result(H, Acc, await(New, Tag, erlang:apply(M, Fun, [Tag | Args])));
        _ -> result(H, Acc, Stopped)
    end.

%% @doc The running library's hook at hookpoint index `I' (see `index/1'), or `undefined'
%% when it does not implement that hook (a reload may register a callback before its
%% hook is active, and unregisters a callback after).
-spec active(1..19) -> #hook{} | undefined.
active(I) ->
    element(I, persistent_term:get(?ACTIVE, ?NO_HOOKS)).

%% @doc The running library's hooks, as `activate/1' set them.
-spec active() -> [#hook{}].
active() ->
    [H || H = #hook{} <- tuple_to_list(persistent_term:get(?ACTIVE, ?NO_HOOKS))].

%% @doc Makes `Hooks' the running set, all at once: every call from now on runs on them
%% (hookpoints not in the list do nothing). `[]' clears it.
-spec activate([#hook{}]) -> ok.
activate([]) ->
    _ = persistent_term:erase(?ACTIVE),
    ok;
activate(Hooks) ->
    Set = lists:foldl(fun(H, T) -> setelement(index(H#hook.name), T, H) end,
                      ?NO_HOOKS, Hooks),
    persistent_term:put(?ACTIVE, Set).

%% @doc The position of a hookpoint in the running set; the extra argument its callback
%% is registered with.
-spec index(atom()) -> 1..19.
index('client.connect') -> 1;
index('client.connack') -> 2;
index('client.connected') -> 3;
index('client.disconnected') -> 4;
index('client.authenticate') -> 5;
index('client.check_acl') -> 6;
index('client.subscribe') -> 7;
index('client.unsubscribe') -> 8;
index('session.created') -> 9;
index('session.subscribed') -> 10;
index('session.unsubscribed') -> 11;
index('session.resumed') -> 12;
index('session.discarded') -> 13;
index('session.takeovered') -> 14;
index('session.terminated') -> 15;
index('message.publish') -> 16;
index('message.delivered') -> 17;
index('message.acked') -> 18;
index('message.dropped') -> 19.

%% @doc What a hook returns when the library could not decide: `ignore' lets the chain
%% go on as if the hook had abstained; `deny' refuses the login or the ACL check.
-spec fallback(atom(), ignore | deny, term()) -> term().
fallback('client.authenticate', deny, Acc) when is_map(Acc) ->
    {stop, Acc#{auth_result => not_authorized, anonymous => false}};
fallback('client.check_acl', deny, _Acc) ->
    {stop, deny};
fallback(_Hook, _Action, _Acc) ->
    ok.

%% @doc Whether a message hook should see this message: `$SYS/...' topics only when the
%% library asked for them, and only topics matching its filters (if it gave any). A term
%% that is not a `#message{}' with a binary topic goes to the library, whose decoding
%% refuses it: the failure is logged and the fallback applies.
-spec wanted(term(), #hook{}) -> boolean().
wanted(Msg, #hook{topics = Filters, sys = Sys}) ->
    case message_topic(Msg) of
        <<"$SYS/", _/binary>> when not Sys -> false;
        Topic when is_binary(Topic) ->
            Filters =:= [] orelse lists:any(fun(F) -> emqx_topic:match(Topic, F) end, Filters);
        _ -> true
    end.

message_topic(Msg) when is_tuple(Msg), tuple_size(Msg) >= 7 -> element(7, Msg);
message_topic(_) -> undefined.
