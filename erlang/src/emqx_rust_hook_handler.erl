%% @doc The callbacks registered with EMQX's hook chain, one per hookpoint.
%%
%% Each callback hands EMQX's own terms to the Rust library (decoding happens in Rust),
%% and returns the library's answer, which the SDK already shaped as EMQX expects
%% (`ok', `{ok, Acc}', `{stop, Acc}'). When the library fails (bad input, an invalid
%% decision, a panic) the callback logs it and applies the hook's failure policy.
%% Message hooks with topic filters are filtered here, before Rust is called.
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

%% @doc The callback function registered for a hookpoint.
-spec callback(atom()) -> atom().
callback(HookPoint) ->
    list_to_existing_atom("on_" ++ [case C of $. -> $_; _ -> C end
                                    || C <- atom_to_list(HookPoint)]).

on_client_connect(ConnInfo, Props, H) ->
    result(H, Props, ?NIF:client_connect(tag(H), ConnInfo, Props)).

on_client_connack(ConnInfo, Rc, Props, H) ->
    result(H, Props, ?NIF:client_connack(tag(H), ConnInfo, Rc, Props)).

on_client_connected(ClientInfo, ConnInfo, H) ->
    result(H, ok, ?NIF:client_connected(tag(H), ClientInfo, ConnInfo)).

on_client_disconnected(ClientInfo, Reason, ConnInfo, H) ->
    result(H, ok, ?NIF:client_disconnected(tag(H), ClientInfo, Reason, ConnInfo)).

on_client_authenticate(ClientInfo, Acc, H) ->
    result(H, Acc, ?NIF:client_authenticate(tag(H), ClientInfo, Acc)).

on_client_check_acl(ClientInfo, PubSub, Topic, Acc, H) ->
    result(H, Acc, ?NIF:client_check_acl(tag(H), ClientInfo, PubSub, Topic, Acc)).

on_client_subscribe(ClientInfo, Props, Filters, H) ->
    result(H, Filters, ?NIF:client_subscribe(tag(H), ClientInfo, Props, Filters)).

on_client_unsubscribe(ClientInfo, Props, Filters, H) ->
    result(H, Filters, ?NIF:client_unsubscribe(tag(H), ClientInfo, Props, Filters)).

on_session_created(ClientInfo, SessInfo, H) ->
    result(H, ok, ?NIF:session_created(tag(H), ClientInfo, SessInfo)).

on_session_subscribed(ClientInfo, Topic, SubOpts, H) ->
    result(H, ok, ?NIF:session_subscribed(tag(H), ClientInfo, Topic, SubOpts)).

on_session_unsubscribed(ClientInfo, Topic, SubOpts, H) ->
    result(H, ok, ?NIF:session_unsubscribed(tag(H), ClientInfo, Topic, SubOpts)).

on_session_resumed(ClientInfo, SessInfo, H) ->
    result(H, ok, ?NIF:session_resumed(tag(H), ClientInfo, SessInfo)).

on_session_discarded(ClientInfo, SessInfo, H) ->
    result(H, ok, ?NIF:session_discarded(tag(H), ClientInfo, SessInfo)).

on_session_takeovered(ClientInfo, SessInfo, H) ->
    result(H, ok, ?NIF:session_takeovered(tag(H), ClientInfo, SessInfo)).

on_session_terminated(ClientInfo, Reason, SessInfo, H) ->
    result(H, ok, ?NIF:session_terminated(tag(H), ClientInfo, Reason, SessInfo)).

on_message_publish(Msg, H) ->
    case wanted(Msg, H) of
        true -> result(H, Msg, ?NIF:message_publish(tag(H), Msg));
        false -> ok
    end.

on_message_delivered(ClientInfo, Msg, H) ->
    case wanted(Msg, H) of
        true -> result(H, Msg, ?NIF:message_delivered(tag(H), ClientInfo, Msg));
        false -> ok
    end.

on_message_acked(ClientInfo, Msg, H) ->
    case wanted(Msg, H) of
        true -> result(H, ok, ?NIF:message_acked(tag(H), ClientInfo, Msg));
        false -> ok
    end.

on_message_dropped(Msg, Node, Reason, H) ->
    case wanted(Msg, H) of
        true -> result(H, ok, ?NIF:message_dropped(tag(H), Msg, Node, Reason));
        false -> ok
    end.

tag(#hook{}) -> inline.

%% Passes the library's answer on, or logs its failure and applies the failure policy.
result(_H, _Acc, ok) -> ok;
result(H, Acc, {error, Kind, Message}) ->
    logger:error("emqx_rust_hook: ~ts failed (~p): ~ts; applying failed_action ~p",
                 [H#hook.name, Kind, Message, H#hook.failed_action]),
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
%% library asked for them, and only topics matching its filters (if it gave any).
-spec wanted(tuple(), #hook{}) -> boolean().
wanted(Msg, #hook{topics = Filters, sys = Sys}) ->
    Topic = element(7, Msg),
    case Topic of
        <<"$SYS/", _/binary>> when not Sys -> false;
        _ -> Filters =:= [] orelse lists:any(fun(F) -> emqx_topic:match(Topic, F) end, Filters)
    end.
