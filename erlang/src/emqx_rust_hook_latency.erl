%% @doc Per-hook latency: how long a hook call held the client's process (an inline,
%% `auto' or queued call until it returned; a pool or pending `async fn' call until its
%% answer was sent, or the caller stopped waiting at `call_timeout').
%%
%% Timed by the library itself (the SDK's `nif::latency'), so the hook path pays almost
%% nothing for it: each thread that runs hook calls times its first call of each hook and
%% then one in `latency_sample' (16 by default; a thread-local counter in the library,
%% no clock read for the other calls); `latency_sample = 0' turns it off (the callbacks
%% then carry no `#lat{}'). The samples go into a histogram of atomics with 4 buckets per
%% power of two, from 1 us up. Percentiles are the upper bound of their bucket (at most
%% 19% above the true value). A new histogram is made at every start of the library.
-module(emqx_rust_hook_latency).

-include("emqx_rust_hook.hrl").

-export([new/1, new/2, new/3, summary/1]).
-export_type([lat/0]).

-type lat() :: #lat{}.

%% @doc Times one call of `Hook' in 16 per thread in the library started in
%% emqx_rust_hook_nif.
-spec new(atom()) -> lat().
new(Hook) -> new(Hook, ?DEFAULT_LATENCY_SAMPLE).

%% @doc Times one call of `Hook' in `Every' per thread in the library started in
%% emqx_rust_hook_nif.
-spec new(atom(), pos_integer()) -> lat().
new(Hook, Every) -> new(emqx_rust_hook_nif, Hook, Every).

%% @doc Times one call of `Hook' in `Every' per thread (the first call of each thread
%% always) in the library started in module `Nif'.
-spec new(module(), atom(), pos_integer()) -> lat().
new(Nif, Hook, Every) when is_atom(Nif), is_integer(Every), Every >= 1 ->
    _ = catch Nif:latency_sample(Hook, Every),
    #lat{hook = Hook, every = Every, nif = Nif}.

%% @doc Samples, p50, p99 and max (us) of a hook's calls.
-spec summary(lat() | undefined) ->
          #{samples := non_neg_integer(), p50 := non_neg_integer(), p99 := non_neg_integer(),
            max := non_neg_integer()}.
summary(#lat{hook = Hook, nif = Nif}) ->
    case catch Nif:latency_summary(Hook) of
        {Samples, P50, P99, Max} -> #{samples => Samples, p50 => P50, p99 => P99, max => Max};
        _ -> summary(undefined)
    end;
summary(undefined) ->
    #{samples => 0, p50 => 0, p99 => 0, max => 0}.
