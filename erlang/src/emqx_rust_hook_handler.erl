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
-module(emqx_rust_hook_handler).

-include("emqx_rust_hook.hrl").

-export([on_client_connect/3, on_client_connack/4, on_client_connected/3,
         on_client_disconnected/4, on_client_authenticate/3, on_client_check_acl/5,
         on_client_subscribe/4, on_client_unsubscribe/4, on_session_created/3,
         on_session_subscribed/4, on_session_unsubscribed/4, on_session_resumed/3,
         on_session_discarded/3, on_session_takeovered/3, on_session_terminated/4,
         on_message_publish/2, on_message_delivered/3, on_message_acked/3,
         on_message_dropped/4]).

-export([callback/1, fallback/3, wanted/2]).

-define(NIF, emqx_rust_hook_nif).
%% How long to wait for an answer the worker already committed to send.
-define(COMMITTED_REPLY_WAIT, 1000).

%% @doc The callback function registered for a hookpoint.
-spec callback(atom()) -> atom().
callback(HookPoint) ->
    list_to_existing_atom("on_" ++ [case C of $. -> $_; _ -> C end
                                    || C <- atom_to_list(HookPoint)]).

on_client_connect(ConnInfo, Props, H) ->
    Tag = tag(H),
    result(H, Props, await(H, Tag, ?NIF:client_connect(Tag, ConnInfo, Props))).

on_client_connack(ConnInfo, Rc, Props, H) ->
    Tag = tag(H),
    result(H, Props, await(H, Tag, ?NIF:client_connack(Tag, ConnInfo, Rc, Props))).

on_client_connected(ClientInfo, ConnInfo, H) ->
    Tag = tag(H),
    result(H, ok, await(H, Tag, ?NIF:client_connected(Tag, ClientInfo, ConnInfo))).

on_client_disconnected(ClientInfo, Reason, ConnInfo, H) ->
    Tag = tag(H),
    result(H, ok, await(H, Tag, ?NIF:client_disconnected(Tag, ClientInfo, Reason, ConnInfo))).

on_client_authenticate(ClientInfo, Acc, H) ->
    Tag = tag(H),
    result(H, Acc, await(H, Tag, ?NIF:client_authenticate(Tag, ClientInfo, Acc))).

on_client_check_acl(ClientInfo, PubSub, Topic, Acc, H) ->
    Tag = tag(H),
    result(H, Acc, await(H, Tag, ?NIF:client_check_acl(Tag, ClientInfo, PubSub, Topic, Acc))).

on_client_subscribe(ClientInfo, Props, Filters, H) ->
    Tag = tag(H),
    result(H, Filters, await(H, Tag, ?NIF:client_subscribe(Tag, ClientInfo, Props, Filters))).

on_client_unsubscribe(ClientInfo, Props, Filters, H) ->
    Tag = tag(H),
    result(H, Filters, await(H, Tag, ?NIF:client_unsubscribe(Tag, ClientInfo, Props, Filters))).

on_session_created(ClientInfo, SessInfo, H) ->
    Tag = tag(H),
    result(H, ok, await(H, Tag, ?NIF:session_created(Tag, ClientInfo, SessInfo))).

on_session_subscribed(ClientInfo, Topic, SubOpts, H) ->
    Tag = tag(H),
    result(H, ok, await(H, Tag, ?NIF:session_subscribed(Tag, ClientInfo, Topic, SubOpts))).

on_session_unsubscribed(ClientInfo, Topic, SubOpts, H) ->
    Tag = tag(H),
    result(H, ok, await(H, Tag, ?NIF:session_unsubscribed(Tag, ClientInfo, Topic, SubOpts))).

on_session_resumed(ClientInfo, SessInfo, H) ->
    Tag = tag(H),
    result(H, ok, await(H, Tag, ?NIF:session_resumed(Tag, ClientInfo, SessInfo))).

on_session_discarded(ClientInfo, SessInfo, H) ->
    Tag = tag(H),
    result(H, ok, await(H, Tag, ?NIF:session_discarded(Tag, ClientInfo, SessInfo))).

on_session_takeovered(ClientInfo, SessInfo, H) ->
    Tag = tag(H),
    result(H, ok, await(H, Tag, ?NIF:session_takeovered(Tag, ClientInfo, SessInfo))).

on_session_terminated(ClientInfo, Reason, SessInfo, H) ->
    Tag = tag(H),
    result(H, ok, await(H, Tag, ?NIF:session_terminated(Tag, ClientInfo, Reason, SessInfo))).

on_message_publish(Msg, H) ->
    case wanted(Msg, H) of
        true ->
            Tag = tag(H),
            result(H, Msg, await(H, Tag, ?NIF:message_publish(Tag, Msg)));
        false -> ok
    end.

on_message_delivered(ClientInfo, Msg, H) ->
    case wanted(Msg, H) of
        true ->
            Tag = tag(H),
            result(H, Msg, await(H, Tag, ?NIF:message_delivered(Tag, ClientInfo, Msg)));
        false -> ok
    end.

on_message_acked(ClientInfo, Msg, H) ->
    case wanted(Msg, H) of
        true ->
            Tag = tag(H),
            result(H, ok, await(H, Tag, ?NIF:message_acked(Tag, ClientInfo, Msg)));
        false -> ok
    end.

on_message_dropped(Msg, Node, Reason, H) ->
    case wanted(Msg, H) of
        true ->
            Tag = tag(H),
            result(H, ok, await(H, Tag, ?NIF:message_dropped(Tag, Msg, Node, Reason)));
        false -> ok
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
await(#hook{timeout = Timeout}, Ref, {pending, Job}) ->
    receive
        {Ref, Result} -> Result
    after Timeout ->
        case ?NIF:cancel(Job) of
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
