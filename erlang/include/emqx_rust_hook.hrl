%% The plugin's defaults: the one place they are set. The driver uses these macros; the
%% schema (priv/emqx_rust_hook.schema) repeats them as cuttlefish defaults, and a test
%% (tests/rust_hook_config_tests.erl) checks that the two agree. The Rust SDK has no
%% defaults of its own: the driver sends it every value.
-define(DEFAULT_CALL_TIMEOUT, 5000).            % ms; conf: call_timeout = 5s
-define(DEFAULT_HOOK_PRIORITY, 0).              % conf: hook_priority
-define(DEFAULT_POOL_SIZE, 8).                  % conf: pool_size
-define(DEFAULT_POOL_MAX_SIZE, 256).            % conf: pool_max_size
-define(DEFAULT_ASYNC_MAX_IN_FLIGHT, 10000).    % conf: async_max_in_flight
-define(DEFAULT_FAILED_ACTION, ignore).         % conf: failed_action
-define(DEFAULT_NOTIFY_QUEUE_SIZE, 10000).      % conf: notify_queue_size
-define(DEFAULT_OVERFLOW, drop_newest).         % conf: overflow
-define(DEFAULT_LATENCY_SAMPLE, 16).            % conf: latency_sample (0: off)
-define(DEFAULT_RELOAD_DRAIN, 15000).           % ms; conf: reload_drain = 15s

%% The SDK version this plugin speaks (the SDK crate's version; tests/test_values.rs
%% checks they agree). A library of an incompatible SDK is refused.
-define(SDK_VERSION, <<"0.1.0">>).

%% Latency sampling (emqx_rust_hook_latency): the library loaded into module `nif' times
%% one call of `hook' in `every' per thread and keeps the histogram.
-record(lat, {hook :: atom(), every :: pos_integer(), nif = emqx_rust_hook_nif :: module()}).

%% What each callback knows about its hook: the running set (one per hookpoint) is read
%% by emqx_rust_hook_handler from a `persistent_term' per call.
-record(hook, {
    name :: atom(),                  % the hookpoint, e.g. 'client.authenticate'
    mode = auto :: auto | inline | pool | queue | async,
    failed_action = ?DEFAULT_FAILED_ACTION :: ignore | deny,
    topics = [] :: [binary()],       % message hooks: run only for matching topics
    sys = false :: boolean(),        % message hooks: let $SYS/... messages through
    timeout = ?DEFAULT_CALL_TIMEOUT :: non_neg_integer(),
    lat :: #lat{} | undefined,       % its latency histogram (emqx_rust_hook_latency)
    nif = emqx_rust_hook_nif :: module() % the module its library is loaded into
}).
