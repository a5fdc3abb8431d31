%% The NIF surface of a hook library, shared by the plugin's two library modules
%% (emqx_rust_hook_nif and emqx_rust_hook_nif_b: see emqx_rust_hook_nif.erl).
-export([load/1, is_loaded/0]).
-export([start/1, stop/0, retire/1, release/0, stats/0, cancel/1, call_dirty_io/2,
         log_handled/1, log_stats/0, library_status/0, library_command/1,
         latency_sample/2, latency_summary/1]).
-export([client_connect/3, client_connack/4, client_connected/3, client_disconnected/4,
         client_authenticate/3, client_check_acl/5, client_subscribe/4,
         client_unsubscribe/4, session_created/3, session_subscribed/4,
         session_unsubscribed/4, session_resumed/3, session_discarded/3,
         session_takeovered/3, session_terminated/4, message_publish/2,
         message_delivered/3, message_acked/3, message_dropped/4]).

-define(NOT_LOADED, erlang:nif_error({nif_not_loaded, ?FUNCTION_NAME})).

%% @doc Loads the library at `Path' (with or without the `.so' suffix) into this module.
-spec load(file:filename_all()) -> ok | {error, term()}.
load(Path) ->
    erlang:load_nif(strip_so(unicode:characters_to_list(Path)), 0).

%% @doc True when a library is loaded into the current version of this module.
-spec is_loaded() -> boolean().
is_loaded() ->
    try stats() of
        _ -> true
    catch
        error:{nif_not_loaded, _} -> false
    end.

strip_so(Path) ->
    case filename:extension(Path) of
        ".so" -> filename:rootname(Path);
        _ -> Path
    end.

%% @doc Builds the library from the driver config; returns its hooks and their options
%% (the mode of each resolved: `mode_overrides', then the library's, then the default).
%% `Config' holds every value (the SDK has no defaults): `path', `call_timeout' (ms),
%% `hook_priority', `pool_size', `pool_max_size', `async_max_in_flight',
%% `failed_action', `notify_queue_size', `overflow',
%% `emqx_version', `init_args' (binary => binary), optionally `mode_overrides'
%% (hookpoint => auto | inline | pool | queue | async) and `logger' (a pid).
start(_Config) -> ?NOT_LOADED.
%% @doc Runs the library's terminate and drops it.
stop() -> ?NOT_LOADED.
%% @doc Stops a library that a reload replaced: what it was given finishes first (calls
%% in flight, queued calls, queued notifications for at most `WaitMs'), then its
%% terminate runs and it is dropped.
retire(_WaitMs) -> ?NOT_LOADED.
%% @doc Lets the queued notifications of a library started with `hold_notifications'
%% run (a reload: once the library it replaced has run its own).
release() -> ?NOT_LOADED.
%% @doc Per-hook counters: calls, errors, panics, timeouts, overloads, dropped, and
%% gauges: in_flight (pending async calls), workers (threads of the hook's pool).
stats() -> ?NOT_LOADED.
%% @doc Gives up waiting for a pool call: `true' when no answer will be sent.
cancel(_Job) -> ?NOT_LOADED.
%% @doc Runs a hook on a dirty I/O scheduler (no timeout possible). Not used by the
%% plugin: `make bench' measures it against the worker pool.
call_dirty_io(_HookPoint, _Args) -> ?NOT_LOADED.
%% @doc The plugin's logger wrote `N' lines of the library's log (it may send more).
log_handled(_N) -> ?NOT_LOADED.
%% @doc The library's log counters: `dropped' (queue full), `cut' (lines longer than
%% 4096 bytes), `queued' (lines waiting for the log thread), `in_flight' (lines in the
%% logger's mailbox).
log_stats() -> ?NOT_LOADED.
%% @doc What the library reports about itself (`Hooks::status'): `[{Name, Value}]'
%% (binaries), or `{error, Message}' when its code panicked.
library_status() -> ?NOT_LOADED.
%% @doc Runs an operator's command in the library (`Hooks::command'): `{ok, Text}' or
%% `{error, Message}'.
library_command(_Args) -> ?NOT_LOADED.
%% @doc The started library times one call of `Hook' in `Every' per thread (the first of
%% each thread always; 0: none, the value before this is called): `ok' or
%% `{error, not_started}'.
latency_sample(_Hook, _Every) -> ?NOT_LOADED.
%% @doc `{Samples, P50, P99, Max}' (us) of the timed calls of `Hook' in the started
%% library, or `undefined'.
latency_summary(_Hook) -> ?NOT_LOADED.

client_connect(_Tag, _ConnInfo, _Props) -> ?NOT_LOADED.
client_connack(_Tag, _ConnInfo, _Rc, _Props) -> ?NOT_LOADED.
client_connected(_Tag, _ClientInfo, _ConnInfo) -> ?NOT_LOADED.
client_disconnected(_Tag, _ClientInfo, _Reason, _ConnInfo) -> ?NOT_LOADED.
client_authenticate(_Tag, _ClientInfo, _Acc) -> ?NOT_LOADED.
client_check_acl(_Tag, _ClientInfo, _PubSub, _Topic, _Acc) -> ?NOT_LOADED.
client_subscribe(_Tag, _ClientInfo, _Props, _Filters) -> ?NOT_LOADED.
client_unsubscribe(_Tag, _ClientInfo, _Props, _Filters) -> ?NOT_LOADED.
session_created(_Tag, _ClientInfo, _SessInfo) -> ?NOT_LOADED.
session_subscribed(_Tag, _ClientInfo, _Topic, _SubOpts) -> ?NOT_LOADED.
session_unsubscribed(_Tag, _ClientInfo, _Topic, _SubOpts) -> ?NOT_LOADED.
session_resumed(_Tag, _ClientInfo, _SessInfo) -> ?NOT_LOADED.
session_discarded(_Tag, _ClientInfo, _SessInfo) -> ?NOT_LOADED.
session_takeovered(_Tag, _ClientInfo, _SessInfo) -> ?NOT_LOADED.
session_terminated(_Tag, _ClientInfo, _Reason, _SessInfo) -> ?NOT_LOADED.
message_publish(_Tag, _Message) -> ?NOT_LOADED.
message_delivered(_Tag, _ClientInfo, _Message) -> ?NOT_LOADED.
message_acked(_Tag, _ClientInfo, _Message) -> ?NOT_LOADED.
message_dropped(_Tag, _Message, _Node, _Reason) -> ?NOT_LOADED.
