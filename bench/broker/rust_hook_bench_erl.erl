%% @doc Loaded into the broker by `make bench-broker' (tests/broker/src/bench/), not part
%% of the plugin. Three jobs:
%%  - the `erlang' configuration: the same 19 hooks and decisions as the bench's Rust
%%    library (native/bench_all_hooks), written in Erlang and registered with
%%    `emqx_hooks:add/3' (`add/0', `del/0');
%%  - the per-call cost of whatever the hook chain holds now, through
%%    `emqx_hooks:run_fold/3' and `emqx_hooks:run/2' on the running node (`percall/2');
%%  - the decisions the hook chain makes now (`decisions/0'), so that every configuration
%%    is checked to make the same ones before it is measured.
%% OTP 22 compatible.
-module(rust_hook_bench_erl).

-export([add/0, del/0, percall/2, decisions/0]).
-export([on_client_connect/2, on_client_connack/3, on_client_connected/2,
         on_client_disconnected/3, on_client_authenticate/2, on_client_check_acl/4,
         on_client_subscribe/3, on_client_unsubscribe/3, on_session_created/2,
         on_session_subscribed/3, on_session_unsubscribed/3, on_session_resumed/2,
         on_session_discarded/2, on_session_takeovered/2, on_session_terminated/3,
         on_message_publish/1, on_message_delivered/2, on_message_acked/2,
         on_message_dropped/3]).

-define(HOOKS, ['client.connect', 'client.connack', 'client.connected',
                'client.disconnected', 'client.authenticate', 'client.check_acl',
                'client.subscribe', 'client.unsubscribe', 'session.created',
                'session.subscribed', 'session.unsubscribed', 'session.resumed',
                'session.discarded', 'session.takeovered', 'session.terminated',
                'message.publish', 'message.delivered', 'message.acked',
                'message.dropped']).

%% @doc Registers the 19 Erlang hooks (priority 0, like the plugin's default).
add() ->
    [ok = emqx_hooks:add(H, {?MODULE, callback(H), []}, 0) || H <- ?HOOKS],
    ok.

%% @doc Unregisters them.
del() ->
    [emqx_hooks:del(H, {?MODULE, callback(H), []}) || H <- ?HOOKS],
    _ = sys:get_state(emqx_hooks),
    ok.

callback(H) ->
    list_to_atom("on_" ++ [case C of $. -> $_; _ -> C end || C <- atom_to_list(H)]).

%% The decisions of native/bench_all_hooks: read the client id; authenticate and
%% check_acl allow a non-empty one; every other hook abstains.
seen(#{clientid := Id}) -> _ = byte_size(Id), ok;
seen(_) -> ok.

from(Msg) when element(1, Msg) =:= message, is_binary(element(4, Msg)) ->
    _ = byte_size(element(4, Msg)), ok;
from(_) -> ok.

on_client_connect(ConnInfo, _Props) -> seen(ConnInfo).
on_client_connack(ConnInfo, _Rc, _Props) -> seen(ConnInfo).
on_client_connected(ClientInfo, _ConnInfo) -> seen(ClientInfo).
on_client_disconnected(ClientInfo, _Reason, _ConnInfo) -> seen(ClientInfo).
on_client_authenticate(#{clientid := Id}, Acc) when Id =/= <<>> ->
    {stop, Acc#{auth_result => success, anonymous => false}};
on_client_authenticate(_, _Acc) -> ok.
on_client_check_acl(#{clientid := Id}, _PubSub, _Topic, _Acc) when Id =/= <<>> ->
    {stop, allow};
on_client_check_acl(_, _PubSub, _Topic, _Acc) -> ok.
on_client_subscribe(ClientInfo, _Props, _Filters) -> seen(ClientInfo).
on_client_unsubscribe(ClientInfo, _Props, _Filters) -> seen(ClientInfo).
on_session_created(ClientInfo, _SessInfo) -> seen(ClientInfo).
on_session_subscribed(ClientInfo, _Topic, _Opts) -> seen(ClientInfo).
on_session_unsubscribed(ClientInfo, _Topic, _Opts) -> seen(ClientInfo).
on_session_resumed(ClientInfo, _SessInfo) -> seen(ClientInfo).
on_session_discarded(ClientInfo, _SessInfo) -> seen(ClientInfo).
on_session_takeovered(ClientInfo, _SessInfo) -> seen(ClientInfo).
on_session_terminated(ClientInfo, _Reason, _SessInfo) -> seen(ClientInfo).
on_message_publish(Msg) -> from(Msg).
on_message_delivered(ClientInfo, _Msg) -> seen(ClientInfo).
on_message_acked(ClientInfo, _Msg) -> seen(ClientInfo).
on_message_dropped(Msg, _Node, _Reason) -> from(Msg).

%%--------------------------------------------------------------------------------------
%% Per-call cost

%% @doc Calls each measured hook `N' times through the hook runner, as the broker does
%% (`run_fold' for the hooks that decide, `run' for a notification), timing each call;
%% writes one line per hook to `File': `Hook Mean P50 P99' (ns). Returns ok.
percall(N, File) ->
    Lines = [begin
                 {Mean, P50, P99} = time_calls(Call, N),
                 io_lib:format("~s ~.1f ~b ~b~n", [Hook, Mean, P50, P99])
             end || {Hook, Call} <- calls()],
    ok = file:write_file(File, Lines).

%% @doc The decisions of the hook chain as it is now for the client `pub1', as the
%% bench's clients see them: `{AuthResult, AclResult, PublishUnchanged}'. The checks start
%% from `not_authorized' and `deny' (a subscription to `#' from outside localhost, which
%% the broker's default acl.conf denies too), so only hooks that allow change them. The
%% bench's 19 hooks give `{success, allow, true}'; no hooks `{not_authorized, deny, true}'.
decisions() ->
    {ClientInfo, AuthInfo, Msg} = terms(),
    Auth = emqx_hooks:run_fold('client.authenticate', [AuthInfo],
                               #{anonymous => true, auth_result => not_authorized}),
    Acl = emqx_hooks:run_fold('client.check_acl',
                              [ClientInfo#{peerhost => {10,0,0,1}}, subscribe, <<"#">>],
                              deny),
    {maps:get(auth_result, Auth), Acl, emqx_hooks:run_fold('message.publish', [], Msg) =:= Msg}.

%% The client info, auth info and message of `calls/0'.
terms() ->
    ClientInfo = #{clientid => <<"pub1">>, is_bridge => false, is_superuser => false,
                   mountpoint => undefined, peerhost => {127,0,0,1}, protocol => mqtt,
                   sockport => 1883, username => <<"alice">>, zone => external,
                   anonymous => true, auth_result => success},
    AuthInfo = maps:without([anonymous, auth_result], ClientInfo#{password => <<"secret">>}),
    {ClientInfo, AuthInfo, emqx_message:make(<<"pub1">>, 1, <<"bench/percall">>, <<"payload">>)}.

%% What a client `pub1' (user `alice') passes, as captured from 4.2.14
%% (tests/fixtures/emqx-4.2.14-captures/).
calls() ->
    {ClientInfo, AuthInfo, Msg} = terms(),
    ConnInfo = #{clean_start => true, clientid => <<"pub1">>, conn_mod => emqx_connection,
                 conn_props => #{}, connected_at => erlang:system_time(millisecond),
                 expiry_interval => 0, keepalive => 60, peercert => nossl,
                 peername => {{127,0,0,1},53700}, proto_name => <<"MQTT">>, proto_ver => 4,
                 receive_maximum => 32, sockname => {{127,0,0,1},1883}, socktype => tcp,
                 username => <<"alice">>},
    [{'client.authenticate',
      fun() -> emqx_hooks:run_fold('client.authenticate', [AuthInfo],
                                   #{anonymous => true, auth_result => success}) end},
     {'client.check_acl',
      fun() -> emqx_hooks:run_fold('client.check_acl',
                                   [ClientInfo, publish, <<"bench/percall">>], allow) end},
     {'message.publish', fun() -> emqx_hooks:run_fold('message.publish', [], Msg) end},
     {'client.connected',
      fun() -> emqx_hooks:run('client.connected', [ClientInfo, ConnInfo]) end}].

time_calls(Call, N) ->
    _ = [Call() || _ <- lists:seq(1, min(N, 1000))],   % warm-up
    Ts = lists:sort([begin
                         T0 = erlang:monotonic_time(nanosecond),
                         _ = Call(),
                         erlang:monotonic_time(nanosecond) - T0
                     end || _ <- lists:seq(1, N)]),
    Mean = lists:sum(Ts) / N,
    {Mean, lists:nth(max(1, N div 2), Ts), lists:nth(max(1, (N * 99) div 100), Ts)}.
